#!/usr/bin/env bash
# Regenerate Fixtures/wal/promtool-bench/: a WAL written by Prometheus's own
# TSDB code, through `promtool tsdb bench write`.
#
#   bash Fixtures/wal/make.sh
#
# Needs promtool (Debian: apt-get install prometheus) and python3.
# BENCH_METRICS / BENCH_SCRAPES override N and S (defaults 600 and 100);
# REQUIRE_FRAGMENTS (default full,first,middle,last) lists the fragment types
# the result must contain; set it to "" when trying other N and S.
#
# Notes on the workload (cmd/promtool/tsdb.go, v2.42.0):
#   * promtool reads the first N distinct label sets of the input file.
#   * Scrapes run in blocks of 100: S is rounded up to a multiple of 100
#     (S=1 and S=100 both give 100 scrapes per series).
#   * --out is wiped (os.RemoveAll) by promtool, so the input must live
#     outside it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
N="${BENCH_METRICS:-600}"
S="${BENCH_SCRAPES:-100}"
REQUIRE="${REQUIRE_FRAGMENTS-full,first,middle,last}"
input="$here/../node-exporter/series-10k.jsonl"
dest="$here/promtool-bench"

command -v promtool >/dev/null || { echo "make.sh: promtool not found (apt-get install prometheus)" >&2; exit 1; }
[[ -f "$input" ]] || { echo "make.sh: missing $input" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

head -n "$N" "$input" > "$tmp/input.jsonl"
echo "make.sh: $(promtool --version 2>&1 | sed -n 1p)" >&2
echo "make.sh: promtool tsdb bench write --out=\$TMP --metrics=$N --scrapes=$S <first $N lines of series-10k.jsonl>" >&2
if ! promtool tsdb bench write --out="$tmp/out" --metrics="$N" --scrapes="$S" "$tmp/input.jsonl" >"$tmp/bench.log" 2>&1; then
  cat "$tmp/bench.log" >&2
  exit 1
fi

echo "make.sh: contents of \$TMP/storage after promtool exited:" >&2
(cd "$tmp/out/storage" && find . -mindepth 1 -printf '  %p  %s bytes\n' | sort) >&2

# The segment files and any checkpoint.NNNNNNNN directory.
mkdir "$tmp/wal"
cp -R "$tmp/out/storage/wal/." "$tmp/wal/"

python3 "$here/analyze.py" "$tmp/wal" --check-bench "$N" "$S" --input "$tmp/input.jsonl" \
  --require-fragments "$REQUIRE"

rm -rf "$dest"
mkdir -p "$dest"
cp -R "$tmp/wal/." "$dest/"
echo "make.sh: wrote $dest:" >&2
(cd "$dest" && find . -mindepth 1 -printf '  %p  %s bytes\n' | sort) >&2
