#!/usr/bin/env python3
"""Fails when a folder of Sources/TSDB uses a type (or a member added by an extension)
defined in a folder above it in the engine's layer order. See README, "Layout".

    scripts/check-layers.py            print the folder graph and any upward edge
    scripts/check-layers.py --quiet    print only problems

A top-level type belongs to the folder whose file declares it (`struct`, `enum`, `class`, `actor`,
`protocol`, `typealias`); a member added by `extension X { func name… }` belongs to the
folder of that extension. A folder may use its own level and those below; uses within
one level must not form a cycle.
"""
import os, re, sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "TSDB")
# Lowest first; folders on one line share a level.
LEVELS = [
    ["Errors", "Encoding"],
    ["Sync", "FileUtil", "Chunkenc", "Labels"],
    ["Chunks", "Index", "Record", "Tombstones"],
    ["WAL", "Series"],
    ["HeadChunks", "Block"],
    ["Head"],
    ["Query"],
    ["Compact"],
    ["DB"],
]
LEVEL = {f: i for i, names in enumerate(LEVELS) for f in names}

DECL = re.compile(r"^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private|final|indirect|nonisolated|@usableFromInline|@frozen)\s+)*"
                  r"(?:struct|enum|class|actor|protocol|typealias)\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)
EXT = re.compile(r"^\s*(?:(?:public|package|internal|fileprivate|private)\s+)?extension\s+([A-Za-z_][A-Za-z0-9_.]*)[^{]*\{", re.M)
MEMBER = re.compile(r"^    (?:@\w+\s+)*(?:(?:public|package|internal|static|mutating|nonmutating|final|override|@inlinable|@inline\(__always\))\s+)*"
                    r"(?:func|var|let)\s+([a-z_][A-Za-z0-9_]*)", re.M)
ANYMEMBER = re.compile(r"\b(?:func|var|let|case)\s+([a-z_][A-Za-z0-9_]*)")
TOKEN = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
DOTUSE = re.compile(r"\.([a-z_][A-Za-z0-9_]*)\b")


def strip(text):
    """Removes comments and string literals, keeping line structure."""
    text = re.sub(r'"""[\s\S]*?"""', '""', text)
    text = re.sub(r"/\*[\s\S]*?\*/", "", text)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    return text


def extension_bodies(text):
    """(extended type, body) for each top-level extension."""
    out = []
    for m in EXT.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        out.append((m.group(1), text[m.end():i]))
    return out


def main():
    quiet = "--quiet" in sys.argv
    files = defaultdict(list)
    for folder in sorted(os.listdir(ROOT)):
        path = os.path.join(ROOT, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if name.endswith(".swift"):
                with open(os.path.join(path, name)) as f:
                    files[folder].append((name, strip(f.read())))
    problems = []
    for folder in files:
        if folder not in LEVEL:
            problems.append(f"{folder}: not in the layer order of scripts/check-layers.py")
    types, members = {}, defaultdict(set)
    for folder, entries in files.items():
        for _, text in entries:
            for m in DECL.finditer(text):
                types.setdefault(m.group(1), folder)
            for _, body in extension_bodies(text):
                for m in MEMBER.finditer(body):
                    members[m.group(1)].add(folder)
    # A member name counts only when one folder defines it and no type declares it in-line
    # elsewhere (a crude guard against common names such as `count`).
    declared_anywhere = defaultdict(set)
    for folder, entries in files.items():
        for _, text in entries:
            for m in ANYMEMBER.finditer(text):
                declared_anywhere[m.group(1)].add(folder)
    edges = defaultdict(lambda: defaultdict(set))  # user -> used -> reasons
    for folder, entries in files.items():
        for name, text in entries:
            for tok in set(TOKEN.findall(text)):
                owner = types.get(tok)
                if owner and owner != folder:
                    edges[folder][owner].add(f"{name}: {tok}")
            for tok in set(DOTUSE.findall(text)):
                owners = members.get(tok)
                if owners and len(owners) == 1 and len(declared_anywhere[tok]) == 1:
                    (owner,) = owners
                    if owner != folder:
                        edges[folder][owner].add(f"{name}: .{tok}")
    for user, used in sorted(edges.items()):
        for target, reasons in sorted(used.items()):
            if user in LEVEL and target in LEVEL and LEVEL[target] > LEVEL[user]:
                problems.append(f"upward edge {user} -> {target}: " + ", ".join(sorted(reasons)[:6]))
    # Cycles within a level.
    for level in LEVELS:
        for a in level:
            for b in level:
                if a < b and b in edges.get(a, {}) and a in edges.get(b, {}):
                    problems.append(f"cycle {a} <-> {b}: " + ", ".join(sorted(edges[a][b])[:3]) +
                                    " / " + ", ".join(sorted(edges[b][a])[:3]))
    if not quiet:
        for user in sorted(edges, key=lambda f: (LEVEL.get(f, 99), f)):
            print(f"{user} -> " + ", ".join(sorted(edges[user], key=lambda f: (LEVEL.get(f, 99), f))))
    for p in problems:
        print("error: " + p)
    if problems:
        sys.exit(1)
    if not quiet:
        print(f"ok: {len(files)} folders, no upward edge")


main()
