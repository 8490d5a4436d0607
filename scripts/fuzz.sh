#!/bin/sh
# Builds and runs the libFuzzer harnesses of tsdb-fuzz (Sources/tsdb-fuzz, one binary,
# the target chosen by TSDB_FUZZ_TARGET). See Fixtures/fuzz/README.md.
#
#   scripts/fuzz.sh build                      the fuzzing build, in .build-fuzz/
#   scripts/fuzz.sh seeds                      seed inputs in .build-fuzz/seeds/<target>/
#   scripts/fuzz.sh run <target|all> [secs]    fuzz one target (or each in turn; default 600 s)
#   scripts/fuzz.sh merge <target|all>         minimise the grown corpus into Fixtures/fuzz/<target>/
#                                              (MERGE_MAX_LEN=N truncates inputs to N bytes first)
#   scripts/fuzz.sh replay <target|all>        run Fixtures/fuzz/<target>/ through the normal build
#
# Fuzzing runs one target at a time, under `nice -n 10`, with libFuzzer's
# -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10. Crashing inputs land in
# .build-fuzz/artifacts/<target>/, the log of each run in .build-fuzz/logs/<target>.log
# (its last line holds the executions and cov:/ft: figures).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SCRATCH=$ROOT/.build-fuzz
FUZZER=$SCRATCH/release/tsdb-fuzz
TARGETS="index chunks xor meta tombstones wal records checkpoint replay head-chunks selector text openmetrics remote-write"

build() {
    swift build -c release --sanitize=fuzzer -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
        --scratch-path "$SCRATCH" --product tsdb-fuzz
}

# Seeds: a data directory the engine writes (tsdb-fuzz seeds), plus the fixtures.
seeds() {
    swift build --product tsdb-fuzz
    out=$SCRATCH/seeds
    rm -rf "$out"
    "$ROOT/.build/debug/tsdb-fuzz" seeds "$out" 2>/dev/null
    if command -v promtool >/dev/null 2>&1; then
        tmp=$(mktemp -d)
        promtool tsdb create-blocks-from openmetrics --quiet Fixtures/chunks/input.om "$tmp" >/dev/null
        n=0
        for block in "$tmp"/*/; do
            n=$((n + 1))
            cp "$block/index" "$out/index/promtool-$n"
            cp "$block/meta.json" "$out/meta/promtool-$n.json"
            cp "$block/chunks/000001" "$out/chunks/promtool-$n"
        done
        rm -rf "$tmp"
    fi
    python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
vectors = json.load(open("Fixtures/chunks/xor-vectors.json"))["chunks"]
for i, c in enumerate(vectors):
    open(f"{out}/xor/vector-{i}", "wb").write(bytes.fromhex(c["hex"]))
# Text and OpenMetrics: slices of the fixtures at line boundaries, about 4 KiB each.
def slices(path, target, count, eof):
    lines = open(path, "rb").read().split(b"\n")
    step = max(1, len(lines) // count)
    for k in range(count):
        chunk, size = [], 0
        for line in lines[k * step:]:
            if size > 4096 or line.startswith(b"# EOF"):
                break
            chunk.append(line)
            size += len(line) + 1
        body = b"\n".join(chunk) + b"\n" + (b"# EOF\n" if eof else b"")
        open(f"{out}/{target}/{path.split('/')[-1]}-{k}", "wb").write(body)
slices("Fixtures/node-exporter/scrape.prom", "text", 12, False)
slices("Fixtures/chunks/input.om", "openmetrics", 8, True)
slices("Fixtures/inspect/varied.om", "openmetrics", 12, True)
EOF
    for t in $TARGETS; do printf '%s: %s files\n' "$t" "$(ls "$out/$t" | wc -l)"; done
}

run() {
    target=$1
    seconds=${2:-600}
    corpus=$SCRATCH/corpus/$target
    mkdir -p "$corpus" "$SCRATCH/artifacts/$target" "$SCRATCH/logs"
    [ -d "$SCRATCH/seeds/$target" ] && cp -n "$SCRATCH/seeds/$target"/* "$corpus"/ 2>/dev/null || true
    [ -d "Fixtures/fuzz/$target" ] && find "Fixtures/fuzz/$target" -type f ! -name 'README*' -exec cp -n {} "$corpus"/ \; || true
    echo "fuzzing $target for $seconds s: log $SCRATCH/logs/$target.log"
    # SWIFT_BACKTRACE=enable=no: else Swift's backtracer takes the trap's signal and exits
    # before libFuzzer's handler writes the crashing input.
    SWIFT_BACKTRACE=enable=no TSDB_FUZZ_TARGET=$target nice -n 10 "$FUZZER" -max_total_time="$seconds" \
        -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -max_len=131072 -print_final_stats=1 \
        -artifact_prefix="$SCRATCH/artifacts/$target/" "$corpus" > "$SCRATCH/logs/$target.log" 2>&1 || true
    grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$SCRATCH/logs/$target.log" | tail -1
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$SCRATCH/logs/$target.log" || true
    ls "$SCRATCH/artifacts/$target"
}

merge() {
    target=$1
    fresh=$SCRATCH/merged/$target
    rm -rf "$fresh"
    mkdir -p "$fresh"
    SWIFT_BACKTRACE=enable=no TSDB_FUZZ_TARGET=$target nice -n 10 "$FUZZER" -merge=1 -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
        -max_len="${MERGE_MAX_LEN:-131072}" "$fresh" "$SCRATCH/corpus/$target" > "$SCRATCH/logs/$target.merge.log" 2>&1
    mkdir -p "Fixtures/fuzz/$target"
    find "Fixtures/fuzz/$target" -type f ! -name 'README*' ! -name 'crash-*' -delete
    cp "$fresh"/* "Fixtures/fuzz/$target"/
    printf '%s: %s files, %s bytes\n' "$target" "$(ls "$fresh" | wc -l)" "$(cat "$fresh"/* | wc -c)"
}

replay() {
    swift build --product tsdb-fuzz
    "$ROOT/.build/debug/tsdb-fuzz" replay "$1" "Fixtures/fuzz/$1"
}

each() {
    command=$1
    shift
    if [ "$1" = all ]; then
        shift
        for t in $TARGETS; do "$command" "$t" "$@"; done
    else
        "$command" "$@"
    fi
}

case "${1:-}" in
build) build ;;
seeds) seeds ;;
run) shift; each run "$@" ;;
merge) shift; each merge "$@" ;;
replay) shift; each replay "$@" ;;
*) sed -n '2,15p' "$0"; exit 2 ;;
esac
