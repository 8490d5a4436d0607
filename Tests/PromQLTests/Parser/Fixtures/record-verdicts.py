#!/usr/bin/env python3
"""Records promtool's verdict on every line of queries.txt into promtool-verdicts.tsv.

Recipe: promtool 2.42.0 (Debian 2.42.0+ds-5+deb12u1); run `python3 record-verdicts.py`
in this folder. Each query becomes one recording rule (its expr as a YAML double-quoted
string) of one rules file; `promtool check rules` reports every rule that fails to parse.
Output: query <TAB> OK, or query <TAB> the error after "could not parse expression: ".
"""
import json, re, subprocess, tempfile

queries = [l.rstrip("\n") for l in open("queries.txt", encoding="utf-8")]
rules = "groups:\n- name: g\n  rules:\n" + "".join(
    "  - record: q%d\n    expr: %s\n" % (i, json.dumps(q)) for i, q in enumerate(queries))
with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
    f.write(rules)
out = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
errors = {}
for line in (out.stdout + out.stderr).splitlines():
    m = re.search(r'rule (\d+), "q\d+": could not parse expression: (.*)$', line)
    if m:
        errors[int(m.group(1)) - 1] = m.group(2)
with open("promtool-verdicts.tsv", "w", encoding="utf-8") as f:
    for i, q in enumerate(queries):
        f.write("%s\t%s\n" % (q, errors.get(i, "OK")))
