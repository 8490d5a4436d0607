#!/usr/bin/env bash
# The same HTTP queries against tsdb-server and Prometheus 2.42 on copies of one data
# directory, with 1 and 16 clients (wrk), printing latency percentiles and throughput.
#
#   scripts/api-vs-prometheus.sh [-d SECONDS] [-q QUERIES] [-n] DIR
#
# DIR: blocks from `tsdb-bench promql-data DIR --series 10000 --hours 24`. QUERIES: the
# PromQL issue's set, scripts/promql-bench-queries.txt by default (S and E are the data's
# first and last block times), to which /series, /labels and /label/instance/values are
# added unless -n is given; a QUERIES line `api PATH` adds PATH (e.g. `api /api/v1/labels`)
# as it is. A subset: `grep range scripts/promql-bench-queries.txt >/tmp/q`. Each request runs
# SECONDS (default 5) per client count (1 and 16) and server, through HTTP and JSON, as a
# client sees it. Needs `swift build -c release --product tsdb-server`, Debian's
# `prometheus` and `wrk` (apt-get install -y prometheus wrk).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dur=5
queries=scripts/promql-bench-queries.txt
extras=1
while [[ $# -gt 1 ]]; do
  case $1 in
    -d) dur=$2; shift 2 ;;
    -q) queries=$2; shift 2 ;;
    -n) extras=0; shift ;;
    *) break ;;
  esac
done
[[ $# -eq 1 && -d $1 ]] || { echo "usage: $0 [-d SECONDS] [-q QUERIES] [-n] DATA_DIR" >&2; exit 2; }
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
  --web.listen-address="127.0.0.1:$theirs_port" --storage.tsdb.retention.time=100y \
  --storage.tsdb.min-block-duration=2h --storage.tsdb.max-block-duration=2h >"$work/theirs.log" 2>&1 &
pids+=($!)
ours="http://127.0.0.1:$ours_port" theirs="http://127.0.0.1:$theirs_port"
for url in "$ours" "$theirs"; do
  for _ in $(seq 1 1200); do curl -sf "$url/-/ready" >/dev/null && break; sleep 0.1; done
  curl -sf "$url/-/ready" >/dev/null || { echo "$url did not become ready"; tail -n 20 "$work"/*.log; exit 1; }
done

# The query set: scripts/promql-bench-queries.txt (the PromQL issue's, S and E being the
# data's first and last block times) plus /series and /labels, as URL paths.
mapfile -t lines < <(python3 - "$dir" "$queries" "$extras" <<'EOF'
import glob, json, os, re, sys, urllib.parse
lo, hi = None, None
for m in glob.glob(os.path.join(sys.argv[1], "*", "meta.json")):
    j = json.load(open(m))
    lo = j["minTime"] if lo is None else min(lo, j["minTime"])
    hi = j["maxTime"] if hi is None else max(hi, j["maxTime"])
if hi is None:
    sys.exit("no blocks in " + sys.argv[1])
S, E = lo, hi - 1
UNIT = {'ms': 1, 's': 1000, 'm': 60000, 'h': 3600000, 'd': 86400000, 'w': 604800000, 'y': 31536000000}
def dur(s):
    return sum(int(n) * UNIT[u] for n, u in re.findall(r'(\d+)(ms|y|w|d|h|m|s)', s))
def t(s):
    b = S if s[0] == 'S' else E
    return b if len(s) == 1 else (b + dur(s[2:]) if s[1] == '+' else b - dur(s[2:]))
def secs(ms):
    return repr(ms / 1000)
def expand(e):
    return re.sub(r'\{\{([^}]*)\}\}', lambda m: secs(t(m.group(1))), e)
for line in open(sys.argv[2]):
    line = line.strip()
    if not line or line.startswith('#'):
        continue
    kind, rest = line.split(' ', 1)
    if kind == 'api':
        print(f"{rest}\t{rest}")
    elif kind == 'instant':
        tt, e = rest.split(' ', 1)
        q = {'query': expand(e), 'time': secs(t(tt))}
        print(f"instant {e}\t/api/v1/query?" + urllib.parse.urlencode(q))
    else:
        s, en, st, e = rest.split(' ', 3)
        q = {'query': expand(e), 'start': secs(t(s)), 'end': secs(t(en)), 'step': secs(dur(st))}
        print(f"range {st} {e}\t/api/v1/query_range?" + urllib.parse.urlencode(q))
if sys.argv[3] == '1':
    print("series up 1h\t/api/v1/series?" + urllib.parse.urlencode({'match[]': 'up', 'start': secs(E - 3600000), 'end': secs(E)}))
    print("labels\t/api/v1/labels")
    print("label instance values\t/api/v1/label/instance/values")
EOF
)
names=() paths=()
for l in "${lines[@]}"; do names+=("${l%%$'\t'*}"); paths+=("${l#*$'\t'}"); done
echo "data: $dir, ${#paths[@]} requests, $dur s per run"
ok=()
for i in "${!paths[@]}"; do
  a=$(curl -s -o /dev/null -w '%{http_code}' "$ours${paths[$i]}")
  b=$(curl -s -o /dev/null -w '%{http_code}' "$theirs${paths[$i]}")
  if [[ $a == 200 && $b == 200 ]]; then ok+=("$i"); else echo "skipped (ours $a, prometheus $b): ${names[$i]}"; fi
done

# wrk's latency units to milliseconds.
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 } else if (v ~ /m$/) { sub(/m$/, "", v); print v * 60000 } else { sub(/s$/, "", v); print v * 1000 } }'; }
run() { # url clients -> "p50 p99 rps"
  local threads=$(($2 < 2 ? 1 : 2)) out
  out=$(wrk -t"$threads" -c"$2" -d"${dur}s" --latency --timeout 120s "$1")
  echo "$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")") $(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")") $(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
}
printf '%-60.60s %3s | %10s %10s %7s | %10s %10s %7s | %6s %6s\n' query c "ours p50" "p99 ms" "req/s" "prom p50" "p99 ms" "req/s" "p50 x" "rps x"
ratios50=() ratiosrps=() q50=() qrps=()
for i in "${ok[@]}"; do
  for c in 1 16; do
    read -r o50 o99 orps < <(run "$ours${paths[$i]}" "$c")
    read -r t50 t99 trps < <(run "$theirs${paths[$i]}" "$c")
    r50=$(awk -v o="$o50" -v t="$t50" 'BEGIN { printf "%.2f", (o > 0 ? t / o : 0) }')
    # Prometheus finishing nothing in the run while we do is "inf" (counted as 999 in medians).
    rr=$(awk -v o="$orps" -v t="$trps" 'BEGIN { if (t > 0) printf "%.2f", o / t; else if (o > 0) print "inf"; else print "0.00" }')
    r50m=$r50 rrm=$rr
    [[ $r50 == 0.00 && $t50 == 0 && $o50 != 0 ]] && r50m=999
    [[ $rr == inf ]] && rrm=999
    ((c == 1)) && ratios50+=("$r50m")
    ((c == 16)) && ratiosrps+=("$rrm")
    if [[ ${names[$i]} == instant* || ${names[$i]} == range* ]]; then
      ((c == 1)) && q50+=("$r50m")
      ((c == 16)) && qrps+=("$rrm")
    fi
    printf '%-60.60s %3d | %10.2f %10.2f %7.0f | %10.2f %10.2f %7.0f | %6s %6s\n' "${names[$i]}" "$c" "$o50" "$o99" "$orps" "$t50" "$t99" "$trps" "$r50" "$rr"
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }'; }
if ((${#q50[@]} > 0)); then
  echo "PromQL queries (${#q50[@]}): median of Prometheus p50 / ours p50 (1 client): $(median "${q50[@]}")x"
  echo "PromQL queries (${#qrps[@]}): median of ours req/s / Prometheus req/s (16 clients): $(median "${qrps[@]}")x"
fi
echo "all requests: median of Prometheus p50 / ours p50 (1 client): $(median "${ratios50[@]}")x"
echo "all requests: median of ours req/s / Prometheus req/s (16 clients): $(median "${ratiosrps[@]}")x"
