#!/usr/bin/env bash
# The same HTTP queries against tsdb-server and Prometheus 2.42 on copies of one data
# directory, with 1 and 16 clients (wrk), printing latency percentiles and throughput.
#
#   scripts/api-vs-prometheus.sh [-d SECONDS] DIR
#
# DIR is a data directory (blocks and/or a WAL), e.g. the one `tsdb-bench write --out X`
# leaves in X/storage. The query set is built from the data: the metric with the most
# series (METRIC) and its most common label (LABEL) fill in a raw selector, rate() over the
# whole span at 60 s steps, sum by (LABEL), topk, a regex matcher, a subquery, /series and
# /labels. Set METRIC and LABEL to choose. Each query runs SECONDS (default 10) per client
# count and server. Needs `swift build -c release --product tsdb-server`, Debian's
# `prometheus` and `wrk` (apt-get install -y prometheus wrk).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dur=10
while [[ $# -gt 1 ]]; do
  case $1 in
    -d) dur=$2; shift 2 ;;
    *) break ;;
  esac
done
[[ $# -eq 1 && -d $1 ]] || { echo "usage: $0 [-d SECONDS] DATA_DIR" >&2; exit 2; }
dir=$1
bin=.build/release/tsdb-server
[[ -x $bin ]] || { echo "build first: swift build -c release --product tsdb-server" >&2; exit 2; }
command -v prometheus >/dev/null || { echo "prometheus not found: apt-get install -y prometheus" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cp -r "$dir" "$work/ours"
cp -r "$dir" "$work/theirs"
rm -f "$work"/ours/lock "$work"/theirs/lock
echo 'global: {}' >"$work/empty.yml"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ours_port=$(free_port)
"$bin" --storage.tsdb.path="$work/ours" --web.listen-address="127.0.0.1:$ours_port" \
  --storage.tsdb.retention.time=100y --log.level=warn >"$work/ours.log" 2>&1 &
pids+=($!)
theirs_port=$(free_port)
prometheus --storage.tsdb.path="$work/theirs" --config.file="$work/empty.yml" \
  --web.listen-address="127.0.0.1:$theirs_port" --storage.tsdb.retention.time=100y >"$work/theirs.log" 2>&1 &
pids+=($!)
ours="http://127.0.0.1:$ours_port" theirs="http://127.0.0.1:$theirs_port"
for url in "$ours" "$theirs"; do
  for _ in $(seq 1 1200); do curl -sf "$url/-/ready" >/dev/null && break; sleep 0.1; done
  curl -sf "$url/-/ready" >/dev/null || { echo "$url did not become ready"; tail -n 20 "$work"/*.log; exit 1; }
done

# The time span and the query set, from the data (through our server).
read -r start end < <(python3 - "$dir" <<'EOF'
import glob, json, os, sys, time
lo, hi = None, None
for m in glob.glob(os.path.join(sys.argv[1], "*", "meta.json")):
    j = json.load(open(m))
    lo = j["minTime"] if lo is None else min(lo, j["minTime"])
    hi = j["maxTime"] if hi is None else max(hi, j["maxTime"])
if hi is None:
    hi = int(time.time() * 1000); lo = hi - 3600_000
print(lo // 1000, (hi - 1) // 1000)
EOF
)
if [[ -z ${METRIC:-} || -z ${LABEL:-} ]]; then
  read -r METRIC LABEL < <(python3 - "$ours" "$end" <<'EOF'
import json, sys, urllib.parse, urllib.request
base, end = sys.argv[1], sys.argv[2]
def get(path):
    return json.load(urllib.request.urlopen(base + path))["data"]
q = urllib.parse.quote('topk(1, count by (__name__) ({__name__=~".+"}))')
top = get(f"/api/v1/query?query={q}&time={end}")
metric = top[0]["metric"]["__name__"] if top else "up"
series = get("/api/v1/series?match[]=" + urllib.parse.quote(metric))
counts = {}
for s in series:
    for k in s:
        if k != "__name__": counts[k] = counts.get(k, 0) + 1
print(metric, max(counts, key=counts.get) if counts else "job")
EOF
)
fi
span=$((end - start))
range=$((span < 86400 ? span : 86400))
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
names=("raw selector 1h" "rate 5m, range at 60s" "sum by ($LABEL) (rate)" "topk(10)" "regex matcher" "subquery" "series" "labels")
paths=(
  "/api/v1/query?query=$(enc "$METRIC[1h]")&time=$end"
  "/api/v1/query_range?query=$(enc "rate($METRIC[5m])")&start=$((end - range))&end=$end&step=60"
  "/api/v1/query?query=$(enc "sum by ($LABEL) (rate($METRIC[5m]))")&time=$end"
  "/api/v1/query?query=$(enc "topk(10, $METRIC)")&time=$end"
  "/api/v1/query?query=$(enc "count($METRIC{$LABEL=~\".*[0-4].*\"})")&time=$end"
  "/api/v1/query?query=$(enc "max_over_time(rate($METRIC[5m])[1h:1m])")&time=$end"
  "/api/v1/series?match[]=$(enc "$METRIC")&start=$((end - 3600))&end=$end"
  "/api/v1/labels"
)
echo "data: $dir, span $start..$end s, METRIC=$METRIC LABEL=$LABEL, $dur s per run"
for p in "${paths[@]}"; do
  for url in "$ours" "$theirs"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url$p")
    [[ $code == 200 ]] || { echo "$url$p answered $code"; exit 1; }
  done
done

# wrk's latency units to milliseconds.
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 } else if (v ~ /m$/) { sub(/m$/, "", v); print v * 60000 } else { sub(/s$/, "", v); print v * 1000 } }'; }
run() { # url clients -> "p50 p99 rps"
  local threads=$(($2 < 2 ? 1 : 2)) out
  out=$(wrk -t"$threads" -c"$2" -d"${dur}s" --latency --timeout 120s "$1")
  echo "$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")") $(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")") $(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
}
printf '%-26s %3s | %10s %10s %7s | %10s %10s %7s | %6s %6s\n' query c "ours p50" "p99 ms" "req/s" "prom p50" "p99 ms" "req/s" "p50 x" "rps x"
ratios50=() ratiosrps=()
for i in "${!paths[@]}"; do
  for c in 1 16; do
    read -r o50 o99 orps < <(run "$ours${paths[$i]}" "$c")
    read -r t50 t99 trps < <(run "$theirs${paths[$i]}" "$c")
    r50=$(awk -v o="$o50" -v t="$t50" 'BEGIN { printf "%.2f", (o > 0 ? t / o : 0) }')
    rr=$(awk -v o="$orps" -v t="$trps" 'BEGIN { printf "%.2f", (t > 0 ? o / t : 0) }')
    ((c == 1)) && ratios50+=("$r50")
    ((c == 16)) && ratiosrps+=("$rr")
    printf '%-26s %3d | %10.2f %10.2f %7.0f | %10.2f %10.2f %7.0f | %6s %6s\n' "${names[$i]}" "$c" "$o50" "$o99" "$orps" "$t50" "$t99" "$trps" "$r50" "$rr"
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }'; }
echo "median of Prometheus p50 / ours p50 (1 client): $(median "${ratios50[@]}")x"
echo "median of ours req/s / Prometheus req/s (16 clients): $(median "${ratiosrps[@]}")x"
