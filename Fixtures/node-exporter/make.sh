#!/usr/bin/env bash
# Regenerate scrape.prom and series-10k.jsonl.
#
#   bash Fixtures/node-exporter/make.sh              # fresh scrape + dataset
#   SKIP_SCRAPE=1 bash Fixtures/node-exporter/make.sh  # dataset from the committed scrape.prom
#
# The scrape step needs Debian's node exporter (apt-get install
# prometheus-node-exporter). It runs it on loopback only, port 19100 (override
# with NODE_EXPORTER_PORT), fetches /metrics once and stops it again.
# A fresh scrape reflects the machine it runs on, so series-10k.jsonl will
# change with it; update README.md (exporter version, date) when you do this.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
N=10000

if [[ "${SKIP_SCRAPE:-0}" != "1" ]]; then
  exporter="$(command -v prometheus-node-exporter || command -v node_exporter || true)"
  [[ -n "$exporter" ]] || { echo "make.sh: node exporter not found (apt-get install prometheus-node-exporter), or set SKIP_SCRAPE=1" >&2; exit 1; }
  port="${NODE_EXPORTER_PORT:-19100}"
  log="$(mktemp)"
  "$exporter" --web.listen-address="127.0.0.1:$port" >"$log" 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
  python3 - "$port" > scrape.prom.tmp <<'PY'
import sys, time, urllib.request
url = "http://127.0.0.1:%s/metrics" % sys.argv[1]
for attempt in range(50):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            sys.stdout.write(r.read().decode("utf-8"))
            break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("make.sh: no answer from " + url)
PY
  mv scrape.prom.tmp scrape.prom
  echo "make.sh: scraped $("$exporter" --version 2>&1 | head -n 1) at $(date -u +%Y-%m-%dT%H:%M:%SZ)" >&2
fi

python3 make-dataset.py scrape.prom "$N" > series-10k.jsonl.tmp
mv series-10k.jsonl.tmp series-10k.jsonl
echo "make.sh: wrote $here/series-10k.jsonl ($N label sets)" >&2
