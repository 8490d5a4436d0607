#!/usr/bin/env python3
"""Write N label sets derived from a node_exporter scrape, one JSON object per line.

usage: make-dataset.py SCRAPE N > series.jsonl

Each sample line of SCRAPE (Prometheus text exposition format) gives a base
label set: `__name__` plus the sample's labels (empty values dropped, since an
empty label value means "no label" in Prometheus). The base sets are then
replicated across fake hosts, host after host, until N unique sets exist. Each
host adds the labels a Prometheus scrape config and relabelling would:

    instance  host-00000:9100, host-00001:9100, ...
    job       node
    dc        one of four data centres (round-robin by host)
    zone      dc plus a/b/c
    env       prod, staging or dev (16:3:1)

A scraped label that collides with one of these is renamed exported_<name>,
as Prometheus does with honor_labels: false. node_uname_info's `nodename` is
set to the fake host's name.

Output is what `promtool tsdb bench write` reads: one flat JSON object per
line, keys sorted, no spaces. Note that promtool does not parse that JSON; it
deletes every `"`, `{` and `}`, splits on `,` and then on `:` and keeps only
the first two pieces. So a value containing `,` `"` `{` `}` or `\\` would be
misread (a `,` crashes it), and promtool keeps a value only up to its first
`:` (it sees instance="host-00000", not "host-00000:9100"). Base sets whose
values promtool cannot read are skipped with a warning; the `:` truncation is
reported on stderr but kept, so a real JSON reader sees the full values.

The output depends only on SCRAPE and N. Standard library only.
"""

import json
import sys

DCS = ["fra1", "ams3", "iad2", "sjc1"]
ENVS = ["prod"] * 16 + ["staging"] * 3 + ["dev"]
BREAKS_PROMTOOL = set(',"{}\\') | {chr(c) for c in range(0x20)}


def die(msg):
    sys.stderr.write("make-dataset.py: %s\n" % msg)
    sys.exit(1)


def is_name_char(c, first):
    return c == "_" or c == ":" or c.isascii() and (c.isalpha() or (not first and c.isdigit()))


def parse_sample_line(line, lineno):
    """Return (metric name, [(label, value)]) for one exposition-format sample line."""
    i, n = 0, len(line)
    while i < n and is_name_char(line[i], i == 0):
        i += 1
    name = line[:i]
    if not name:
        die("line %d: no metric name: %r" % (lineno, line))
    labels = []
    if i < n and line[i] == "{":
        i += 1
        while True:
            while i < n and line[i] in " \t":
                i += 1
            if i < n and line[i] == "}":
                i += 1
                break
            j = i
            while i < n and is_name_char(line[i], i == j) and line[i] != ":":
                i += 1
            lname = line[j:i]
            while i < n and line[i] in " \t":
                i += 1
            if not lname or i >= n or line[i] != "=":
                die("line %d: bad label name at column %d: %r" % (lineno, j, line))
            i += 1
            while i < n and line[i] in " \t":
                i += 1
            if i >= n or line[i] != '"':
                die("line %d: label value not quoted: %r" % (lineno, line))
            i += 1
            value = []
            while True:
                if i >= n:
                    die("line %d: unterminated label value: %r" % (lineno, line))
                c = line[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    if i + 1 >= n:
                        die("line %d: dangling backslash: %r" % (lineno, line))
                    e = line[i + 1]
                    value.append({"n": "\n", "\\": "\\", '"': '"'}.get(e, "\\" + e))
                    i += 2
                else:
                    value.append(c)
                    i += 1
            labels.append((lname, "".join(value)))
            while i < n and line[i] in " \t":
                i += 1
            if i < n and line[i] == ",":
                i += 1
            elif i < n and line[i] == "}":
                i += 1
                break
            else:
                die("line %d: expected ',' or '}' at column %d: %r" % (lineno, i, line))
    rest = line[i:].split()
    if len(rest) not in (1, 2):
        die("line %d: expected value [timestamp]: %r" % (lineno, line))
    return name, labels


def read_base_sets(path):
    bases, seen, skipped = [], set(), 0
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, labels = parse_sample_line(line, lineno)
            lset = {"__name__": name}
            for k, v in labels:
                if k in lset:
                    die("line %d: duplicate label %s" % (lineno, k))
                if v != "":
                    lset[k] = v
            if any(BREAKS_PROMTOOL & set(v) for v in lset.values()):
                sys.stderr.write("make-dataset.py: line %d: skipped, promtool cannot read its values\n" % lineno)
                skipped += 1
                continue
            key = tuple(sorted(lset.items()))
            if key in seen:
                die("line %d: duplicate series %r" % (lineno, key))
            seen.add(key)
            bases.append(lset)
    if not bases:
        die("no samples in %s" % path)
    return bases, skipped


def host_labels(h):
    dc = DCS[h % len(DCS)]
    return {
        "instance": "host-%05d:9100" % h,
        "job": "node",
        "dc": dc,
        "zone": "%s-%s" % (dc, "abc"[(h // len(DCS)) % 3]),
        "env": ENVS[h % len(ENVS)],
    }


def promtool_view(line):
    """What promtool's readPrometheusLabels makes of one line."""
    s = line.replace('"', "").replace("{", "").replace("}", "")
    return tuple(sorted(tuple(chunk.split(":")[:2]) for chunk in s.split(",")))


def main():
    if len(sys.argv) != 3:
        die("usage: make-dataset.py SCRAPE N")
    bases, skipped = read_base_sets(sys.argv[1])
    try:
        n = int(sys.argv[2])
    except ValueError:
        die("N must be an integer")
    if n < 0:
        die("N must be >= 0")

    out = sys.stdout
    written, h = 0, 0
    seen, promtool_seen, truncated = set(), set(), 0
    while written < n:
        extra = host_labels(h)
        for base in bases:
            if written == n:
                break
            lset = {}
            for k, v in base.items():
                lset[("exported_" + k) if k in extra else k] = v
            lset.update(extra)
            if lset["__name__"] == "node_uname_info" and "nodename" in lset:
                lset["nodename"] = "host-%05d" % h
            line = json.dumps(lset, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            key = tuple(sorted(lset.items()))
            if key in seen:
                die("internal error: duplicate label set %s" % line)
            seen.add(key)
            view = promtool_view(line)
            promtool_seen.add(view)
            if any(len(kv) != 2 for kv in view):
                die("promtool could not read: %s" % line)
            if view != key:
                truncated += 1
            out.write(line + "\n")
            written += 1
        h += 1

    sys.stderr.write(
        "make-dataset.py: %d base series from the scrape (%d skipped), %d hosts, %d label sets\n"
        % (len(bases), skipped, h, written))
    sys.stderr.write(
        "make-dataset.py: promtool reads %d of them with values cut at ':' "
        "(%d distinct sets as promtool sees them)\n" % (truncated, len(promtool_seen)))


if __name__ == "__main__":
    main()
