#!/usr/bin/env python3
"""Checks the expected results of these test files against Prometheus 2.42 itself.

Each eval becomes one `promtool test rules` group holding the series loaded before it
(since the last `clear`), re-expressed at the greatest common interval, and one
promql_expr_test with no expected samples, so promtool prints what Prometheus returns.
Those results are compared with the file's expectations using test.go's almostEqual.
promtool's unit tests sort samples, so the order of eval_ordered is not checked here.

Usage: verify-with-promtool.py FILE.test...   (promtool on PATH; prints mismatches)
"""
import json, math, re, subprocess, sys, tempfile, os

UNITS = {"y": 365 * 86400000, "w": 7 * 86400000, "d": 86400000, "h": 3600000, "m": 60000, "s": 1000, "ms": 1}


def duration(s):
    if s == "0":
        return 0
    total = 0
    for n, u in re.findall(r"(\d+)(ms|y|w|d|h|m|s)", s):
        total += int(n) * UNITS[u]
    if not re.fullmatch(r"(\d+(ms|y|w|d|h|m|s))+", s):
        raise ValueError("bad duration " + s)
    return total


def fmt_duration(ms):
    if ms == 0:
        return "0s"
    if ms % 1000:
        return "%dms" % ms
    return "%ds" % (ms // 1000)


def split_metric(line):
    """(metric text, values text) of a series line."""
    depth, q, i = 0, None, 0
    if "{" not in line.split(" ")[0]:
        parts = line.split(None, 1)
        return parts[0], parts[1] if len(parts) > 1 else ""
    while i < len(line):
        c = line[i]
        if q:
            if c == "\\":
                i += 1
            elif c == q:
                q = None
        elif c in "\"'`":
            q = c
        elif c == "}":
            return line[: i + 1], line[i + 1 :].strip()
        i += 1
    raise ValueError("no closing brace: " + line)


def gonum(s):
    low = s.lower()
    if low in ("inf", "+inf"):
        return math.inf
    if low == "-inf":
        return -math.inf
    if low == "nan":
        return math.nan
    return float(s)


STALE = "stale"


def expand(values):
    out = []
    for item in values.split():
        m = re.fullmatch(r"_x(\d+)", item)
        if item == "_":
            out.append(None)
            continue
        if m:
            out += [None] * int(m.group(1))
            continue
        m = re.fullmatch(r"([-+]?(?:[0-9.]+(?:e[-+]?\d+)?|Inf|NaN|stale))(?:([-+][0-9.]+(?:e[-+]?\d+)?)?x(\d+))?", item)
        if not m:
            raise ValueError("cannot expand " + item)
        v = STALE if m.group(1) == "stale" else gonum(m.group(1))
        if m.group(3) is None:
            out.append(v)
        elif m.group(2) is None:
            out += [v] * (int(m.group(3)) + 1)
        else:
            d = float(m.group(2))
            for _ in range(int(m.group(3)) + 1):
                out.append(v)
                v += d
    return out


def parse(path):
    lines = [l.strip() for l in open(path).read().split("\n")]
    lines = ["" if l.startswith("#") else l for l in lines]
    segments, series, evals = [], {}, []
    i = 0
    while i < len(lines):
        l = lines[i]
        word = l.split(" ")[0].lower() if l else ""
        if not l:
            i += 1
        elif word == "clear":
            series = {}
            i += 1
        elif word == "load":
            gap = duration(l.split(None, 1)[1])
            i += 1
            while i < len(lines) and lines[i]:
                metric, vals = split_metric(lines[i])
                pts = {}
                for k, v in enumerate(expand(vals)):
                    if v is not None:
                        pts[k * gap] = v
                series[metric] = pts
                i += 1
        elif word.startswith("eval"):
            m = re.match(r"^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$", l)
            ev = {"line": i + 1, "mode": m.group(1), "time": duration(m.group(2)), "expr": m.group(3),
                  "series": dict(series), "samples": {}, "scalar": None}
            i += 1
            while i < len(lines) and lines[i]:
                try:
                    ev["scalar"] = gonum(lines[i])
                    i += 1
                    break
                except ValueError:
                    pass
                metric, vals = split_metric(lines[i])
                ev["samples"][canon(metric)] = gonum(vals)
                i += 1
            evals.append(ev)
        else:
            raise ValueError("%s:%d: bad line %r" % (path, i + 1, l))
    return evals


def canon(metric):
    """A label set written as promtool prints it: {__name__="x", a="b"}, sorted."""
    m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)?(\{.*\})?$", metric)
    name, body = m.group(1), m.group(2) or "{}"
    pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"', body)
    if name:
        pairs.append(("__name__", name))
    pairs = [(k, v) for k, v in pairs if v != ""]
    pairs.sort()
    return "{" + ", ".join('%s="%s"' % kv for kv in pairs) + "}"


def almost_equal(a, b):
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    diff = abs(a - b)
    min_normal = 2.2250738585072014e-308
    if a == 0 or b == 0 or diff < min_normal:
        return diff < 1e-6 * min_normal
    return diff / (abs(a) + abs(b)) < 1e-6


def yaml_group(ev, tag):
    ts = [t for pts in ev["series"].values() for t in pts]
    gap = 0
    for t in ts:
        gap = math.gcd(gap, t)
    gap = gap or 60000
    last = max(ts) if ts else 0
    out = ["  - interval: %s" % fmt_duration(gap), "    input_series:"]
    for metric, pts in ev["series"].items():
        n = max(pts) // gap + 1 if pts else 0
        vals = []
        for k in range(n):
            v = pts.get(k * gap)
            vals.append("_" if v is None else ("stale" if v == STALE else repr(v).replace("inf", "Inf").replace("nan", "NaN")))
        out.append("      - series: %s" % json.dumps(metric))
        out.append("        values: %s" % json.dumps(" ".join(vals)))
    out.append("    promql_expr_test:")
    out.append("      - expr: %s" % json.dumps("%s # %s" % (ev["expr"], tag)))
    out.append("        eval_time: %s" % fmt_duration(ev["time"]))
    done = (last // 60000 + 2) * 60000
    out.append("      - expr: vector(0)")
    out.append("        eval_time: %s" % fmt_duration(max(done, ev["time"])))
    out.append("        exp_samples: [{labels: '{}', value: 0}]")
    return out


def main():
    evals = []
    for path in sys.argv[1:]:
        for ev in parse(path):
            ev["tag"] = "%s:%d" % (os.path.basename(path), ev["line"])
            evals.append(ev)
    yaml = ["rule_files: []", "evaluation_interval: 1m", "tests:"]
    for ev in evals:
        yaml += yaml_group(ev, ev["tag"])
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(yaml) + "\n")
        name = f.name
    res = subprocess.run(["promtool", "test", "rules", name], capture_output=True, text=True)
    os.environ.get("KEEP") or os.unlink(name)
    text = res.stdout + res.stderr
    got = {}
    for m in re.finditer(r'expr: "((?:[^"\\]|\\.)*)", time: [^,]*,(?: err: (.*)|[ \t]*\n\s+exp: .*\n\s+got: (.*))', text):
        tag = json.loads('"' + m.group(1) + '"').rsplit(" # ", 1)[1]
        if m.group(2) is not None:
            got[tag] = ("error", m.group(2))
        else:
            samples = {}
            if m.group(3) != "nil":
                for lm in re.finditer(r'(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\}) (\S+?)(?:,|$)', m.group(3)):
                    samples[lm.group(1)] = float(lm.group(2).replace("+Inf", "inf").replace("-Inf", "-inf"))
            got[tag] = ("samples", samples)
    bad = 0
    for ev in evals:
        kind, val = got.get(ev["tag"], ("samples", {}))
        problem = None
        if ev["mode"] == "fail":
            if kind != "error":
                problem = "expected an error, Prometheus returned %s" % val
            elif "parse error" in val:
                problem = "a parse error stops Prometheus's test runner: " + val
        elif kind == "error":
            problem = "Prometheus failed: " + val
        elif ev["scalar"] is not None:
            if len(val) != 1 or "{}" not in val or not almost_equal(val["{}"], ev["scalar"]):
                problem = "expected scalar %r, Prometheus returned %s" % (ev["scalar"], val)
        else:
            if set(val) != set(ev["samples"]) or any(not almost_equal(val[k], ev["samples"][k]) for k in val):
                problem = "expected %s\n    Prometheus returned %s" % (ev["samples"], val)
        if problem:
            bad += 1
            print("%s: %s\n    %s" % (ev["tag"], ev["expr"], problem))
    if "SUCCESS" not in text and not got:
        print(text[:3000])
    print("%d evals, %d differ from Prometheus" % (len(evals), bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
