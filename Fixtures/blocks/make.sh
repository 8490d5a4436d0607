#!/bin/sh
# Makes the meta.json and tombstones fixtures of Tests/TSDBTests/{Block,Tombstones}/ with
# Debian 12's prometheus/promtool 2.42.0+ds-5+deb12u1. Usage: Fixtures/blocks/make.sh OUTDIR
set -eu
OUT=$1
REPO=$(cd "$(dirname "$0")/../.." && pwd)
INPUT=${INPUT:-$REPO/Fixtures/chunks/input.om}
rm -rf "$OUT"; mkdir -p "$OUT"
printf 'global:\n  scrape_interval: 1h\n' > "$OUT/prom.yml"
promtool tsdb create-blocks-from openmetrics --quiet "$INPUT" "$OUT/blocks"
cp -r "$OUT/blocks" "$OUT/deleted"; cp -r "$OUT/blocks" "$OUT/compacted"

serve() {  # serve DATA PORT EXTRA-FLAGS...; waits until ready
  dir=$1; port=$2; shift 2
  prometheus --config.file="$OUT/prom.yml" --storage.tsdb.path="$dir" --web.listen-address=127.0.0.1:$port \
    --storage.tsdb.retention.time=100y "$@" > "$dir.log" 2>&1 &
  echo $! > "$dir.pid"
  until curl -sf http://127.0.0.1:$port/-/ready >/dev/null; do sleep 0.2; done
}
delete() {  # delete MATCHER START END (seconds)
  curl -sf -XPOST http://127.0.0.1:19190/api/v1/admin/tsdb/delete_series --data-urlencode "match[]=$1" \
    --data-urlencode "start=$2" --data-urlencode "end=$3"
}

# 1. Tombstones: 2h blocks only, so nothing compacts them away.
serve "$OUT/deleted" 19190 --web.enable-admin-api --storage.tsdb.min-block-duration=2h --storage.tsdb.max-block-duration=2h
delete 'fx_http_requests_total{code="200"}' 1700006500 1700007000
delete 'fx_http_requests_total{code="200"}' 1700008000.5 1700009000
delete 'fx_http_requests_total{code="200"}' 1700007000.001 1700007500   # touches the first: merged
delete '{__name__=~".+"}' 1700064000 1700069200                          # 6 series of one block
kill "$(cat "$OUT/deleted.pid")"; wait 2>/dev/null || true

# 2. Compaction: default ranges; the first compaction runs a minute after start.
serve "$OUT/compacted" 19191
until grep -qs '"level": 3' "$OUT"/compacted/*/meta.json; do sleep 2; done
sleep 2; kill "$(cat "$OUT/compacted.pid")"; wait 2>/dev/null || true
for d in "$OUT"/deleted/*/ "$OUT"/compacted/*/; do
  [ -f "$d/meta.json" ] || continue
  echo "== $d"; cat "$d/meta.json"; echo; xxd -p "$d/tombstones" | tr -d '\n'; echo
done
