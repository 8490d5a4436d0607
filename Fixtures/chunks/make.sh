#!/usr/bin/env bash
# Regenerate input.om and xor-vectors.json from scratch.
#
#   bash Fixtures/chunks/make.sh
#
# Needs promtool (Debian: apt-get install prometheus) and python3 (standard
# library only). The blocks promtool writes live in a temporary directory that
# is removed on exit; only input.om and xor-vectors.json are kept.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

command -v promtool >/dev/null || { echo "make.sh: promtool not found (apt-get install prometheus)" >&2; exit 1; }
PROMTOOL_VERSION="$(promtool --version 2>&1 | head -n 1)"
export PROMTOOL_VERSION
echo "make.sh: using $PROMTOOL_VERSION" >&2

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 1. Deterministic OpenMetrics input (seeded, standard library only).
python3 gen_openmetrics.py > input.om

# 2. Backfill: one block per 2h range that holds samples.
promtool tsdb create-blocks-from openmetrics --quiet input.om "$tmp/data"

# 3. Dump every sample. promtool 2.42 opens the data directory as a read-only
#    DB and fails with "open .../wal: no such file or directory" unless a WAL
#    directory exists, so give it an empty one. The explicit time range is the
#    default of recent versions; older ones need it spelled out.
mkdir -p "$tmp/data/wal"
promtool tsdb dump \
  --min-time=-9223372036854775808 --max-time=9223372036854775807 \
  "$tmp/data" > "$tmp/dump.txt"

# 4. Parse the chunk files, verify CRCs, assign samples, decode and re-encode.
python3 extract.py "$tmp/data" "$tmp/dump.txt" > "$tmp/xor-vectors.json"
mv "$tmp/xor-vectors.json" xor-vectors.json

echo "make.sh: wrote $here/input.om and $here/xor-vectors.json" >&2
