#!/usr/bin/env python3
"""CI's allocation guard: compares the malloc counts of a benchmark run with the checked-in
ones in Benchmarks/Thresholds/ (one `<target>.<name>.p90.json` per benchmark).

package-benchmark 1.38.1 writes those files under shell-safe names but looks them up under
the raw benchmark names, so its own `thresholds check` finds none of ours (names with spaces);
this script does the comparison instead.

usage: check-malloc-thresholds.py THRESHOLDS_DIR CURRENT_DIR
  CURRENT_DIR: `TSDB_BENCH_MALLOC_GUARD=1 swift package --allow-writing-to-directory DIR
  benchmark thresholds update --path DIR` (see .ci/run).
A count above its threshold by more than 5 % + 1 fails; one that dropped is reported, so the
threshold can be lowered (`thresholds update` with the same environment, in Benchmarks/).
"""
import json, os, sys

def load(d):
    out = {}
    for name in os.listdir(d):
        if name.endswith(".p90.json"):
            with open(os.path.join(d, name)) as f:
                out[name] = json.load(f)
    return out

want, got = load(sys.argv[1]), load(sys.argv[2])
if not want:
    sys.exit(f"no thresholds in {sys.argv[1]}")
failed = False
for name in sorted(want):
    if name not in got:
        print(f"MISSING  {name}: the benchmark did not run")
        failed = True
        continue
    for metric, limit in sorted(want[name].items()):
        if "malloc" not in metric:
            continue
        value = got[name].get(metric)
        if value is None:
            print(f"MISSING  {name} {metric}")
            failed = True
        elif value > limit * 1.05 + 1:
            print(f"WORSE    {name} {metric}: {value} (threshold {limit})")
            failed = True
        elif value < limit * 0.95 - 1:
            print(f"BETTER   {name} {metric}: {value} (threshold {limit}; lower it)")
        else:
            print(f"ok       {name} {metric}: {value} (threshold {limit})")
for name in sorted(set(got) - set(want)):
    print(f"NEW      {name}: no threshold checked in yet")
sys.exit(1 if failed else 0)
