#!/usr/bin/env bash
# Times a fixed query set on our PromQL engine (in process, `tsdb-bench promql`) and on a
# Prometheus 2.42 server (its own stats=all evalTotalTime, so HTTP and JSON are left out),
# each on its own copy of DIR, and prints: query, ours (ms), Prometheus (ms), ratio
# (Prometheus / ours: above 1 means we are faster), and the median ratio.
#
#   scripts/promql-vs-prometheus.sh DIR [--queries FILE] [--rounds N]
#
# DIR: blocks from `tsdb-bench promql-data DIR --series 10000 --hours 24` (or 100000).
# FILE: scripts/promql-bench-queries.txt by default (format: see that file).
# Builds tsdb-bench in release mode unless TSDB_BENCH names a binary. Needs prometheus,
# curl and python3. The server listens on a free port of 127.0.0.1 and is killed on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
dir="${1:?usage: $0 DIR [--queries FILE] [--rounds N]}"
shift
queries="$here/promql-bench-queries.txt"
rounds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --queries) queries="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
prometheus="${PROMETHEUS:-/usr/bin/prometheus}"
if [ -z "${TSDB_BENCH:-}" ]; then
  (cd "$root" && swift build -c release --product tsdb-bench 2>&1 | grep -E "error|Compiling|Build" | tail -3)
  TSDB_BENCH="$root/.build/release/tsdb-bench"
fi

work="$(mktemp -d /tmp/promql-vs-prometheus.XXXXXX)"
prom_pid=""
cleanup() {
  if [ -n "$prom_pid" ]; then kill "$prom_pid" 2>/dev/null || true; wait "$prom_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cp -a "$dir" "$work/ours"
cp -a "$dir" "$work/prometheus"
rm -rf "$work/ours/wal" "$work/prometheus/wal" "$work/ours/chunks_head" "$work/prometheus/chunks_head"

echo ">> ours: $TSDB_BENCH promql (rounds $rounds)" >&2
"$TSDB_BENCH" promql "$work/ours" --queries "$queries" --rounds "$rounds" > "$work/ours.txt"
grep '^>>\|^ >' "$work/ours.txt" >&2
range="$(sed -n 's/.* S=\([0-9-]*\) E=\([0-9-]*\),.*/\1 \2/p' "$work/ours.txt")"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
printf 'global:\n  scrape_interval: 1h\n' > "$work/prometheus.yml"
"$prometheus" --storage.tsdb.path="$work/prometheus" --config.file="$work/prometheus.yml" \
  --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=100y \
  --storage.tsdb.min-block-duration=2h --storage.tsdb.max-block-duration=2h \
  --query.max-samples=500000000 --query.timeout=10m > "$work/prometheus.log" 2>&1 &
prom_pid=$!
for _ in $(seq 1 600); do
  if curl -sf "http://127.0.0.1:$port/-/ready" > /dev/null 2>&1; then break; fi
  if ! kill -0 "$prom_pid" 2>/dev/null; then cat "$work/prometheus.log" >&2; exit 1; fi
  sleep 0.5
done
echo ">> prometheus ready on 127.0.0.1:$port (pid $prom_pid)" >&2

python3 - "$queries" "$port" "$rounds" $range "$work/ours.txt" "$prom_pid" <<'PY'
import json, re, statistics, sys, urllib.error, urllib.parse, urllib.request
qfile, port, rounds, S, E, ours_file, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
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
ours = [l.rstrip('\n').split('\t') for l in open(ours_file) if l.startswith('query\t')]
rows = []
i = 0
for line in open(qfile):
    line = line.strip()
    if not line or line.startswith('#'):
        continue
    kind, rest = line.split(' ', 1)
    if kind == 'instant':
        tt, e = rest.split(' ', 1)
        q = {'query': expand(e), 'time': secs(t(tt)), 'stats': 'all'}
        url = f'http://127.0.0.1:{port}/api/v1/query?' + urllib.parse.urlencode(q)
    else:
        s, en, st, e = rest.split(' ', 3)
        q = {'query': expand(e), 'start': secs(t(s)), 'end': secs(t(en)), 'step': secs(dur(st)), 'stats': 'all'}
        url = f'http://127.0.0.1:{port}/api/v1/query_range?' + urllib.parse.urlencode(q)
    times, err = [], None
    for _ in range(rounds):
        try:
            d = json.load(urllib.request.urlopen(url, timeout=900))
        except urllib.error.HTTPError as x:
            d = json.load(x)
        if d.get('status') != 'success':
            err = d.get('error', '?')
            break
        times.append(d['data']['stats']['timings']['evalTotalTime'] * 1000)
    mine = ours[i] if i < len(ours) else ['query', 'nan', 'nan', '?', e]
    i += 1
    ours_ms = float(mine[1])
    prom_ms = statistics.median(times) if times else float('nan')
    ratio = prom_ms / ours_ms if ours_ms > 0 and times and not mine[3].startswith('error') else float('nan')
    rows.append((kind + ' ' + e, ours_ms, float(mine[2]), prom_ms, ratio, mine[3], err))
w = max(len(r[0]) for r in rows)
w = min(w, 100)
print(f"{'query':<{w}}  {'ours ms':>10}  {'prom ms':>10}  {'ratio':>7}  {'ours peak MiB':>13}  result")
for name, o, peak, p, r, size, err in rows:
    note = size if not err else f'{size}; prometheus error: {err[:80]}'
    print(f"{name[:w]:<{w}}  {o:>10.3f}  {p:>10.3f}  {r:>7.2f}  {peak:>13.1f}  {note}")
ratios = [r[4] for r in rows if r[4] == r[4]]
print(f"median ratio (Prometheus evalTotalTime / ours): {statistics.median(ratios):.2f} over {len(ratios)} queries" if ratios else "median ratio: n/a (no query succeeded on both sides)")
print(f"queries where ours is slower: {sum(1 for r in ratios if r < 1)}")
try:
    hwm = [l for l in open(f'/proc/{pid}/status') if l.startswith('VmHWM')][0].split()[1]
    print(f"prometheus peak RSS: {int(hwm) / 1024:.1f} MiB")
except (OSError, IndexError):
    pass
PY
grep '^ > peak RSS' "$work/ours.txt" | sed 's/^ > /ours (tsdb-bench promql) /'
