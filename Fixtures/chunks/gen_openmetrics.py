#!/usr/bin/env python3
"""Write a deterministic OpenMetrics text file to stdout.

The file feeds `promtool tsdb create-blocks-from openmetrics`, and the blocks it
makes are the source of the XOR chunk test vectors (see make.sh, extract.py).

The series are chosen to exercise every branch of Prometheus's XOR chunk
encoding (tsdb/chunkenc/xor.go):

* timestamps: delta-of-delta 0, and each of the 14/17/20/64-bit buckets
  including the exact edges of each bucket, both signs; ms jitter; gaps of
  hours (which cross 2h block boundaries and therefore cut chunks);
* values: XOR zero (repeats), reuse of the leading/trailing window, new
  window, the leading-zero clamp at 31, 64 significant bits (written as 0),
  NaN, +Inf, -Inf, -0.0, subnormals, the largest finite double, integers;
* chunk shapes: 1, 2 and 3 sample series and long series cut into several
  chunks (the head cuts at ~120 samples and at 2h block boundaries).

Timestamps are written in seconds with exactly 3 decimals, as OpenMetrics
requires. Only the Python standard library is used; the output depends only on
SEED.
"""

import math
import random
import struct
import sys

SEED = 20240601
BLOCK_MS = 2 * 60 * 60 * 1000           # promtool's default block duration
T0 = 1700006400000                      # 2023-11-15T00:00:00Z, a 2h boundary
assert T0 % BLOCK_MS == 0

rnd = random.Random(SEED)


def fmt_value(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)                      # shortest string that round-trips


def fmt_ts(ms):
    s = "%d.%03d" % (ms // 1000, ms % 1000)
    # promtool parses the seconds as a float64 and truncates ts*1000 to int64;
    # make sure every timestamp we write survives that exactly.
    assert int(float(s) * 1000) == ms, (s, ms)
    return s


def fmt_labels(labels):
    if not labels:
        return ""
    parts = []
    for k, v in labels:
        v = v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
        parts.append('%s="%s"' % (k, v))
    return "{" + ",".join(parts) + "}"


def f64(bits):
    return struct.unpack(">d", struct.pack(">Q", bits))[0]


# families: list of (family name, type, help, [(sample name, labels, [(ms, value)])])
families = []


def family(name, typ, help_text, *series):
    families.append((name, typ, help_text, list(series)))


def regular(start, step, n):
    return [start + i * step for i in range(n)]


# 1. Counter, 15s scrapes, 500 samples starting mid-block: crosses a block
#    boundary, several chunks, monotonically increasing floats.
ts = regular(T0 + 37_000, 15_000, 500)
v, vals = 0.0, []
for _ in ts:
    r = rnd.random()
    if r < 0.1:
        pass                            # no increase: XOR zero
    elif r < 0.6:
        v += rnd.randint(1, 40)         # integer increase
    else:
        v += rnd.randint(1, 4000) / 8.0 + rnd.random() * 0.001
    vals.append(v)
reqs_a = list(zip(ts, vals))
ts = regular(T0 + 5_000, 30_000, 240)
v, vals = 1e6, []
for _ in ts:
    v += rnd.expovariate(1 / 250.0)
    vals.append(v)
reqs_b = list(zip(ts, vals))
family("fx_http_requests", "counter", "Monotonic counters scraped every 15s and 30s.",
       ("fx_http_requests_total", [("code", "200"), ("job", "api")], reqs_a),
       ("fx_http_requests_total", [("code", "500"), ("job", "api")], reqs_b))

# 2. Gauge with 2-decimal realistic values, 30s scrapes, 300 samples.
ts = regular(T0 + 2 * BLOCK_MS + 12_000, 30_000, 300)
v, vals = 45.0, []
for _ in ts:
    v = min(95.0, max(20.0, v + rnd.gauss(0, 1.5)))
    vals.append(round(v, 2))
family("fx_temperature_celsius", "gauge", "Random-walk gauge rounded to 0.01.",
       ("fx_temperature_celsius", [("sensor", "cpu0")], list(zip(ts, vals))))

# 3. Gauge with full-precision random floats (wide XOR windows).
ts = regular(T0 + 15_000, 15_000, 150)
vals = [rnd.uniform(-1e6, 1e6) for _ in ts]
family("fx_random_gauge", "gauge", "Uniform random doubles, all 53 mantissa bits used.",
       ("fx_random_gauge", [("dist", "uniform")], list(zip(ts, vals))))

# 4. 15s scrapes with a few ms of jitter: small non-zero delta-of-delta.
ts, t = [], T0 + BLOCK_MS + 1_000
for _ in range(260):
    ts.append(t + rnd.randint(-5, 5))
    t += 15_000
vals = [round(rnd.random(), 3) for _ in ts]
family("fx_scrape_jitter", "gauge", "15s nominal interval with +-5ms jitter.",
       ("fx_scrape_jitter", [("instance", "jittery:9100")], list(zip(ts, vals))))

# 5. Hand-made deltas hitting every delta-of-delta bucket and its edges.
#    The writer's ranges are: 14 bits [-8191, 8192], 17 bits [-65535, 65536],
#    20 bits [-524287, 524288], otherwise 64 bits.
dods = [
    0,                      # 1 bit
    8192, -8191,            # 14-bit edges
    8193, -8192,            # just outside 14 bits -> 17
    65536, -65535,          # 17-bit edges
    65537, -65536,          # just outside 17 bits -> 20
    524288, -524287,        # 20-bit edges
    524289, -524288,        # just outside 20 bits -> 64
    3_000_000, -3_000_000,  # 50 minutes: clearly 64 bits
    0, 0, 1, -1, 0,
]
ts = [T0 + 4 * BLOCK_MS + 250, T0 + 4 * BLOCK_MS + 250 + 1_000]
delta = 1_000
for d in dods:
    delta += d
    assert delta > 0
    ts.append(ts[-1] + delta)
assert ts[-1] < T0 + 5 * BLOCK_MS       # all in one block, so one chunk
# then gaps of hours: each sample lands in a later block
for gap_h in (3, 5, 2.5):
    ts.append(ts[-1] + int(gap_h * 3_600_000) + 7)
ts += [ts[-1] + 15_000, ts[-1] + 30_000, ts[-1] + 45_001]
vals = [float(i) for i in range(len(ts))]
family("fx_dod_buckets", "gauge", "Timestamps whose delta-of-delta hits each bucket edge.",
       ("fx_dod_buckets", [], list(zip(ts, vals))))

# 6. IEEE special values.
specials = [
    0.0, -0.0, 0.0, -0.0, -0.0,
    float("nan"), float("nan"), 1.0, float("nan"),
    float("inf"), float("inf"), float("-inf"), float("inf"),
    5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308,
    1.7976931348623157e308, -1.7976931348623157e308, 5e-324,
    1.0, -1.0, 0.1, 0.2, 0.30000000000000004, 1e-300, 1e300,
    float("nan"), -0.0, float("-inf"), 42.0,
]
ts = regular(T0 + 3 * BLOCK_MS + 45_000, 15_000, len(specials))
family("fx_special_values", "gauge", "NaN, infinities, signed zero, subnormals, extremes.",
       ("fx_special_values", [("case", "ieee754")], list(zip(ts, specials))))

# 7. Constant: every sample after the first is one bit for t and one for v.
ts = regular(T0 + 5 * BLOCK_MS + 60_000, 15_000, 250)
family("fx_constant", "gauge", "Constant value at a constant interval.",
       ("fx_constant", [("value", "42")], [(t, 42.0) for t in ts]))

# 8. Wildly alternating values: the leading/trailing window changes often.
patterns = [
    1.0, -2.0, 1e-300, 1e300, 3.5, 123456789.123, 0.1, 2.0 ** 53,
    -7.25, 1.5, 1.25, 1.125, 1.0625, 1.5, 65536.0, 65537.0, 3.0,
]
vals = []
for i in range(200):
    if i % 3 == 0:
        vals.append(patterns[i % len(patterns)])
    elif i % 3 == 1:
        vals.append(rnd.choice(patterns) * rnd.choice([1.0, -1.0, 1024.0, 1 / 1024.0]))
    else:
        vals.append(rnd.uniform(-1, 1) * 10.0 ** rnd.randint(-20, 20))
# explicit bit patterns: XOR with 64 significant bits (encoded as sigbits 0),
# and XOR with more than 31 leading zeros (leading is clamped to 31)
vals += [
    f64(0x3FF0000000000000), f64(0xBFF0000000000001),   # delta 0x8000000000000001
    f64(0x3FF0000000000000), f64(0x3FF0000000000001),   # 63 leading zeros
    f64(0x3FF0000000000003), f64(0x3FF00000FFFFFFFF),   # 32 leading zeros
    f64(0x3FF0000100000000), f64(0x7FEFFFFFFFFFFFFF),
    f64(0x0000000000000001), f64(0x8000000000000000),
]
ts = regular(T0 + 6 * BLOCK_MS + 10_000, 10_000, len(vals))
family("fx_alternating", "gauge", "Values chosen to move the XOR leading/trailing window.",
       ("fx_alternating", [], list(zip(ts, vals))))

# 9. Integers, 60s scrapes.
ints = [0, 1, 2, 3, 5, 8, 100, 99, 1000, 1_000_000, 2 ** 31, 2 ** 32 - 1,
        2 ** 53 - 1, 2 ** 53, -1, -2 ** 31]
vals = [float(x) for x in ints] + [float(rnd.randint(0, 10_000)) for _ in range(84)]
ts = regular(T0 + 7 * BLOCK_MS, 60_000, len(vals))
family("fx_integer_gauge", "gauge", "Integer-valued floats.",
       ("fx_integer_gauge", [("unit", "bytes")], list(zip(ts, vals))))

# 10. Tiny series: 1, 2 and 3 samples.
family("fx_one_sample", "gauge", "A series with a single sample.",
       ("fx_one_sample", [], [(T0 + 8 * BLOCK_MS + 123, 3.14159)]))
family("fx_two_samples", "gauge", "A series with two samples.",
       ("fx_two_samples", [], [(T0 + 8 * BLOCK_MS + 1, -1.5),
                               (T0 + 8 * BLOCK_MS + 1 + 59_999, 7.0)]))
family("fx_three_samples", "gauge", "A series with three samples.",
       ("fx_three_samples", [], [(T0 + 8 * BLOCK_MS, 1.0),
                                 (T0 + 8 * BLOCK_MS + 1, 1.0),
                                 (T0 + 8 * BLOCK_MS + 3_600_000, 2.0)]))

# 10b. A chunk whose bit stream ends byte-aligned after a whole-byte write.
#     Go's bstream then carries one extra 0x00 byte at the end of the chunk
#     (as every 1-sample chunk does). Sample 1 opens an 8-bit XOR window
#     (13 bits of header + 8), sample 2 has dod 0 (1 bit) and reuses the
#     window (2 bits + 8): 13+8+1+2 = 24, so its 8-bit payload starts aligned.
family("fx_aligned_end", "gauge", "Three samples whose encoding ends on a byte boundary.",
       ("fx_aligned_end", [], [(T0 + 8 * BLOCK_MS + 600_000, f64(0x3FF0000000000000)),
                               (T0 + 8 * BLOCK_MS + 615_000, f64(0x3FF0FF0000000000)),
                               (T0 + 8 * BLOCK_MS + 630_000, f64(0x3FF0FE0000000000))]))

# 11. Unicode and escapes in label values.
ts = regular(T0 + 9 * BLOCK_MS + 500, 20_000, 20)
vals = [round(rnd.uniform(0, 100), 1) for _ in ts]
family("fx_unicode_labels", "gauge", "Label values with non-ASCII text and escapes.",
       ("fx_unicode_labels",
        [("city", "Zürich"), ("note", "日本語 ✓ \"quoted\" back\\slash"), ("zz", "ω")],
        list(zip(ts, vals))))

# 12. Sparse: one or two samples per block over a day, gaps of hours.
ts, t = [], T0 + 11
for i in range(14):
    ts.append(t)
    t += rnd.choice([45 * 60_000, 100 * 60_000, 3 * 3_600_000, 4 * 3_600_000 + 1])
vals = [rnd.uniform(0, 1) for _ in ts]
family("fx_sparse", "gauge", "Samples hours apart; most chunks hold one or two samples.",
       ("fx_sparse", [], list(zip(ts, vals))))

out = sys.stdout
for name, typ, help_text, series in families:
    out.write("# TYPE %s %s\n" % (name, typ))
    out.write("# HELP %s %s\n" % (name, help_text))
    for sample_name, labels, samples in series:
        prev = None
        lbl = fmt_labels(labels)
        for t, v in samples:
            assert prev is None or t > prev
            prev = t
            out.write("%s%s %s %s\n" % (sample_name, lbl, fmt_value(v), fmt_ts(t)))
out.write("# EOF\n")
