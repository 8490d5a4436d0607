#!/bin/sh
# Regenerates the inspect fixtures. Needs python3; the promtool-made blocks need Debian 12's
# promtool 2.42 (apt-get install -y prometheus).
#   Fixtures/inspect/make.sh            writes varied.om next to this script
#   Fixtures/inspect/make.sh OUTDIR     also writes promtool's blocks of it into OUTDIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python3 "$here/gen_varied.py" > "$here/varied.om"
if [ $# -ge 1 ]; then
    rm -rf "$1"
    promtool tsdb create-blocks-from openmetrics "$here/varied.om" "$1"
    mkdir -p "$1/wal"   # promtool tsdb dump needs a wal directory, even an empty one
fi
