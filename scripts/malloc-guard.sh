#!/usr/bin/env bash
# The allocation guard (CI runs it after the tests): runs the micro-benchmarks of
# Benchmarks/ with TSDB_BENCH_MALLOC_GUARD=1 (malloc counts only, short runs; timings stay
# out of CI) and compares the counts with Benchmarks/Thresholds/. About 5 minutes on 2 cores,
# most of it the release build. After an intended change:
#   cd Benchmarks && TSDB_BENCH_MALLOC_GUARD=1 swift package --allow-writing-to-package-directory benchmark thresholds update
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd Benchmarks && TSDB_BENCH_MALLOC_GUARD=1 swift package --allow-writing-to-directory "$out" \
  benchmark thresholds update --path "$out" --no-progress >/dev/null)
python3 scripts/check-malloc-thresholds.py Benchmarks/Thresholds "$out"
