#!/usr/bin/env bash
# The main job on a fresh Debian machine with Swift: install the system packages that are
# missing, build in release mode, ingest the bundled node_exporter dataset the way
# `promtool tsdb bench write` does, then run a small demo query.
#
#   scripts/run.sh                 # 10k series x 3000 scrapes (30 M samples)
#   scripts/run.sh --scrapes 300   # any other `tsdb-bench write` options
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(libsnappy-dev liblz4-dev libpcre2-dev pkg-config prometheus)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  echo ">> installing ${missing[*]}"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}"
fi

swift build -c release --product tsdb-bench
exec .build/release/tsdb-bench write --metrics 10000 --scrapes 3000 "$@" \
  --query 'node_cpu_seconds_total{mode="idle", env="prod"}' \
  Fixtures/node-exporter/series-10k.jsonl
