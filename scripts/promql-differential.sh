#!/usr/bin/env bash
# Builds and runs only the PromQL differential tests: our engine against /usr/bin/prometheus
# (2.42) over Tests/PromQLTests/Differential/Fixtures/corpus.txt. Prints how many queries
# agree; the full report (every disagreement, every differing error text) is written to
# $TMPDIR/promql-differential-report.txt (/tmp by default).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests 2>&1 | grep -E "error|warning: .*Differential" || true
swift test --skip-build --filter "PromQLTests.DifferentialTests" 2>&1 | grep -E "^differential|^DISAGREE|^    |✘|✔|skipped"
