#!/usr/bin/env bash
# WAL replay of this project against Prometheus's, on fresh copies of the same data
# directory, in one run.
#
#   scripts/replay-vs-prometheus.sh [-n ROUNDS] [--wal-only] DIR
#
# DIR is a data directory, e.g. the one `tsdb-bench write --out /tmp/bench` leaves in
# /tmp/bench/storage (30 M samples with the defaults). Each round copies DIR twice, runs
# `tsdb-bench replay` on one copy (its ` > replay seconds:` line) and a Prometheus server on
# the other (its logged `total_replay_duration`, which like ours includes loading
# chunks_head/), then stops the server. --wal-only removes chunks_head/ from both copies.
# Needs the release build of tsdb-bench and Debian's `prometheus` package.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=3 walonly=0
while [[ $# -gt 1 ]]; do
  case $1 in
    -n) rounds=$2; shift 2 ;;
    --wal-only) walonly=1; shift ;;
    *) break ;;
  esac
done
[[ $# -eq 1 && -d $1/wal ]] || { echo "usage: $0 [-n ROUNDS] [--wal-only] DATA_DIR (a directory holding wal/)" >&2; exit 2; }
dir=$1
bench=.build/release/tsdb-bench
[[ -x $bench ]] || { echo "build first: swift build -c release --product tsdb-bench" >&2; exit 2; }
command -v prometheus >/dev/null || { echo "prometheus not found: apt-get install -y prometheus" >&2; exit 2; }
work=$(mktemp -d)
server=""
trap '[[ -n $server ]] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
echo 'global: {}' >"$work/empty.yml"

fresh() {
  rm -rf "$work/copy" && cp -r "$dir" "$work/copy"
  if ((walonly)); then rm -rf "$work/copy/chunks_head"; fi
}

ratios=()
for ((i = 1; i <= rounds; i++)); do
  fresh
  ours=$("$bench" replay "$work/copy" | sed -n 's/^ *> replay seconds: *//p')
  fresh
  prometheus --storage.tsdb.path="$work/copy" --config.file="$work/empty.yml" \
    --web.listen-address=127.0.0.1:0 >"$work/prom.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do grep -q "WAL replay completed" "$work/prom.log" && break; sleep 0.1; done
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  duration=$(grep -o 'total_replay_duration=[^ ]*' "$work/prom.log" | head -n 1 | cut -d= -f2)
  [[ -n $duration ]] || { echo "Prometheus logged no replay duration:"; tail -n 20 "$work/prom.log"; exit 1; }
  # Go prints durations as 912.3ms, 1.5s or 850µs.
  theirs=$(awk -v d="$duration" 'BEGIN {
    if (d ~ /ms$/) { sub(/ms$/, "", d); print d / 1000 }
    else if (d ~ /µs$/) { sub(/µs$/, "", d); print d / 1e6 }
    else { sub(/s$/, "", d); print d + 0 } }')
  ratio=$(awk -v o="$ours" -v p="$theirs" 'BEGIN { printf "%.2f", p / o }')
  ratios+=("$ratio")
  printf 'round %d: prometheus %.3f s, ours %.3f s, ratio %s\n' "$i" "$theirs" "$ours" "$ratio"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ r[NR] = $1 } END { printf "ratio prometheus/ours (median): %s\n", r[int((NR + 1) / 2)] }'
