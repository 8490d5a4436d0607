#!/usr/bin/env bash
# Remote-write ingest of tsdb-server against Prometheus 2.42 (--web.enable-remote-write-receiver)
# and VictoriaMetrics, the same traffic from `tsdb-bench remote-write`, each server in turn
# on a fresh directory, ROUNDS times (ours, Prometheus, VictoriaMetrics, ours, ...).
#
#   scripts/remote-write-vs.sh [-n ROUNDS] [--series N] [--samples-per-request M] [--concurrency C] [--rounds R]
#
# Prints each run's accepted samples/s and the server's peak RSS (VmHWM), then the medians
# and the ratios pair by pair. Needs Debian's prometheus and victoria-metrics packages.
set -euo pipefail
cd "$(dirname "$0")/.."
n=3 series=100000 per=500 conc=8 rounds=30
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) n=$2; shift 2 ;;
    --series) series=$2; shift 2 ;;
    --samples-per-request) per=$2; shift 2 ;;
    --concurrency) conc=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
for bin in prometheus victoria-metrics; do
  command -v $bin >/dev/null || { echo "$bin not found: apt-get install -y prometheus victoria-metrics" >&2; exit 2; }
done
swift build -c release --product tsdb-server >/dev/null
swift build -c release --product tsdb-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {  # url
  for _ in $(seq 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "not ready: $1" >&2; return 1
}

run_one() {  # name → prints "samples/s rss_mb"
  local name=$1 p dir=$work/$1 url
  rm -rf "$dir"; mkdir -p "$dir"
  p=$(port)
  case $name in
    ours)
      "$bin/tsdb-server" --storage.tsdb.path="$dir" --web.listen-address="127.0.0.1:$p" --log.level=warn \
        >"$work/$name.log" 2>&1 & pid=$!
      wait_ready "http://127.0.0.1:$p/-/ready"; url="http://127.0.0.1:$p/api/v1/write" ;;
    prometheus)
      printf 'global: {}\n' >"$dir.yml"
      prometheus --config.file="$dir.yml" --storage.tsdb.path="$dir" --web.listen-address="127.0.0.1:$p" \
        --web.enable-remote-write-receiver --log.level=warn >"$work/$name.log" 2>&1 & pid=$!
      wait_ready "http://127.0.0.1:$p/-/ready"; url="http://127.0.0.1:$p/api/v1/write" ;;
    vm)
      victoria-metrics -storageDataPath="$dir" -httpListenAddr="127.0.0.1:$p" -loggerLevel=WARN \
        >"$work/$name.log" 2>&1 & pid=$!
      wait_ready "http://127.0.0.1:$p/health"; url="http://127.0.0.1:$p/api/v1/write" ;;
  esac
  "$bin/tsdb-bench" remote-write --url "$url" --series "$series" --samples-per-request "$per" \
    --concurrency "$conc" --rounds "$rounds" >"$work/$name.bench" 2>&1 || { cat "$work/$name.bench" >&2; exit 1; }
  local rate rss
  rate=$(sed -n 's/^ *> samples\/sec: *//p' "$work/$name.bench")
  rss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
  grep -q "statuses: 204: " "$work/$name.bench" || { echo "$name: not every request accepted:" >&2; cat "$work/$name.bench" >&2; }
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
  echo "$rate $rss"
}

echo "remote write: $series series x $rounds samples, $per samples per request, $conc connections, $n rounds"
results=()
for ((i = 1; i <= n; i++)); do
  line=""
  for name in ours prometheus vm; do
    r=$(run_one $name)
    line+="$name=$r "
    printf 'round %d %-10s %10.0f samples/s  peak RSS %5s MB\n' "$i" "$name" ${r%% *} ${r##* }
  done
  results+=("$line")
done
python3 - "${results[@]}" <<'EOF'
import statistics, sys
rows = []
for line in sys.argv[1:]:
    d = {}
    toks = line.replace("=", " = ").split()
    i = 0
    while i < len(toks):
        name = toks[i]; rate = float(toks[i + 2]); rss = float(toks[i + 3]); i += 4
        d[name] = (rate, rss)
    rows.append(d)
def med(name, k): return statistics.median(r[name][k] for r in rows)
print(f"{'server':<12} {'samples/s':>12} {'peak RSS MB':>12}")
for name in ["ours", "prometheus", "vm"]:
    print(f"{name:<12} {med(name, 0):>12.0f} {med(name, 1):>12.0f}")
for other in ["prometheus", "vm"]:
    ratio = statistics.median(r["ours"][0] / r[other][0] for r in rows)
    print(f"ours / {other} samples/s (median of pairs): {ratio:.2f}")
EOF
