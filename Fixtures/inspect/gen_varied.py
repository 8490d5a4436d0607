#!/usr/bin/env python3
"""Writes varied.om: an OpenMetrics file exercising what tsdb-inspect import and dump must
carry exactly. Deterministic (fixed seed); see README.md."""
import math, random, sys

rng = random.Random(6)
T0 = 1_700_000_000  # seconds; 2023-11-14T22:13:20Z
out = []
w = out.append

def ts(ms):
    # Seconds with milliseconds, as OpenMetrics writes them.
    return "%d.%03d" % (ms // 1000, ms % 1000)

def fmt(v):
    if math.isnan(v): return "NaN"
    if math.isinf(v): return "+Inf" if v > 0 else "-Inf"
    return repr(v)

# Counters scraped every 15 s over 7 hours (four 2 h blocks), with a restart.
w("# HELP inspect_requests Requests served.")
w("# TYPE inspect_requests counter")
for code in ["200", "404", "500"]:
    v = 0.0
    for i in range(0, 7 * 3600 // 15):
        if i == 700: v = 0.0
        v += rng.randint(0, 50)
        w('inspect_requests_total{code="%s",job="api"} %s %s' % (code, fmt(v), ts((T0 + 15 * i) * 1000)))
w('inspect_requests_created{code="200",job="api"} %s %s' % (fmt(float(T0)), ts(T0 * 1000)))

# A gauge with a unit and label values that need escaping.
w("# HELP inspect_temperature_celsius A gauge with awkward labels.")
w("# TYPE inspect_temperature_celsius gauge")
w("# UNIT inspect_temperature_celsius celsius")
labelsets = [
    r'path="C:\\temp\\x"',
    r'quote="say \"hi\""',
    r'multi="line1\nline2"',
    'city="Zürich ☃"',
    r'mixed="a\\\"b\n"',
]
for j, ls in enumerate(labelsets):
    for i in range(0, 400):
        ms = (T0 + 61 * i) * 1000 + rng.randint(0, 999)
        w("inspect_temperature_celsius{%s} %s %s" % (ls, fmt(rng.uniform(-40, 60)), ts(ms)))

# Special values, and values Go prints in exponent form.
w("# TYPE inspect_special gauge")
specials = [0.0, -0.0, 1.0, -1.0, 0.1, 1e-7, 1.5e-07, 1e6, 123456.0, 1234567.0, 1e21, 1e+300,
            5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, float("nan"),
            float("inf"), float("-inf"), 3.141592653589793, 100000.0, 0.0001, 0.00001, -2.5e-5]
for i, v in enumerate(specials):
    w('inspect_special{kind="fixed"} %s %s' % (fmt(v), ts((T0 + 30 * i) * 1000)))
for i in range(300):
    bits = rng.getrandbits(64)
    import struct
    v = struct.unpack("<d", struct.pack("<Q", bits))[0]
    if math.isnan(v): v = float("nan")
    w('inspect_special{kind="random_bits"} %s %s' % (fmt(v), ts((T0 + 30 * i) * 1000)))

# Timestamps whose three-decimal form is awkward in binary floating point.
w("# TYPE inspect_millis gauge")
for i in range(200):
    ms = T0 * 1000 + i * 1001 + 1
    w('inspect_millis %d %s' % (i, ts(ms)))

# A histogram with an exemplar, and a summary.
w("# TYPE inspect_latency_seconds histogram")
for i in range(0, 240):
    t = ts((T0 + 60 * i) * 1000)
    c = 0
    for le in ["0.1", "0.5", "1", "+Inf"]:
        c += rng.randint(0, 5) + i
        ex = ' # {trace_id="abc%d"} 0.42 %s' % (i, t) if le == "0.5" and i % 50 == 0 else ""
        w('inspect_latency_seconds_bucket{le="%s"} %d %s%s' % (le, c, t, ex))
    w('inspect_latency_seconds_sum %s %s' % (fmt(c * 0.25), t))
    w('inspect_latency_seconds_count %d %s' % (c, t))
w("# TYPE inspect_rpc_seconds summary")
for i in range(0, 120):
    t = ts((T0 + 3600 * 5 + 60 * i) * 1000)
    for q in ["0.5", "0.9", "0.99"]:
        w('inspect_rpc_seconds{quantile="%s"} %s %s' % (q, fmt(rng.random()), t))

# Many short series (churn) in one hour.
w("# TYPE inspect_pod_up gauge")
for p in range(60):
    for i in range(10):
        w('inspect_pod_up{pod="pod-%02d",namespace="ns%d"} 1 %s' % (p, p % 3, ts((T0 + 7200 + 60 * p + 30 * i) * 1000)))

w("# EOF")
sys.stdout.write("\n".join(out) + "\n")
