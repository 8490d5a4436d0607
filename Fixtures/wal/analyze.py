#!/usr/bin/env python3
"""Independent reader for a Prometheus write-ahead log (WAL) directory.

Standard library only. Written from the format description in Prometheus's
tsdb/docs/format/wal.md and the facts in tsdb/wlog/{wlog,reader}.go and
tsdb/record/record.go (v2.42.0); no Prometheus code is reused.

Usage:
  analyze.py WALDIR                      summary
  analyze.py WALDIR --dump               also print every sample: ref labels t value
  analyze.py WALDIR --check-bench N S [--input FILE]
                                         verify the `promtool tsdb bench write
                                         --metrics=N --scrapes=S` workload
  analyze.py WALDIR --require-fragments full,first,middle,last
                                         fail unless these fragment types occur

Layout facts used:
  * Segments are files named by 8 decimal digits (00000000, 00000001, ...),
    numbered without gaps. A checkpoint is a directory checkpoint.NNNNNNNN that
    holds segments of its own; it is read first, then the segments with a
    number greater than NNNNNNNN.
  * A segment is a sequence of 32 KiB pages. A closed segment is a whole number
    of pages; the last page of a segment still being written may be short.
  * A fragment is a 7-byte header and its data:
        type   1 byte   low 3 bits: 0 padding (rest of page is zero),
                        1 full, 2 first, 3 middle, 4 last;
                        0x08 = record is snappy-compressed, 0x10 = zstd
        length 2 bytes  big-endian, length of the data
        crc    4 bytes  big-endian CRC-32C (Castagnoli) of the data
    If fewer than 7 bytes remain in a page, they are zero padding.
    A record never crosses a segment boundary.
  * Compression applies to the whole record; the fragments carry pieces of
    the compressed bytes.
  * Record payloads (first byte = record type):
        1 series:     repeated { ref u64 BE; uvarint n; n x (uvarint len, name;
                                  uvarint len, value) }
        2 samples:    empty after the type byte, or base ref u64 BE,
                      base t i64 BE, then repeated { varint (zigzag) ref - base
                      ref; varint t - base t; value float64 bits BE }.
                      Both deltas are to the FIRST sample of the record.
        3 tombstones: repeated { ref u64 BE; varint mint; varint maxt }
        4 exemplars, 5 mmap markers, 6 metadata, 7 histogram samples,
        8 float histogram samples: counted and skipped here.
"""

import argparse
import os
import re
import struct
import sys
from collections import Counter, OrderedDict

PAGE_SIZE = 32 * 1024
HEADER_SIZE = 7

FRAG_PADDING, FRAG_FULL, FRAG_FIRST, FRAG_MIDDLE, FRAG_LAST = 0, 1, 2, 3, 4
FRAG_NAMES = {0: "padding", 1: "full", 2: "first", 3: "middle", 4: "last"}
FLAG_SNAPPY = 0x08
FLAG_ZSTD = 0x10

REC_NAMES = {
    1: "series",
    2: "samples",
    3: "tombstones",
    4: "exemplars",
    5: "mmap_markers",
    6: "metadata",
    7: "histogram_samples",
    8: "float_histogram_samples",
}


class WALError(Exception):
    pass


# ---------------------------------------------------------------- CRC-32C ---

def _make_crc32c_table():
    poly = 0x82F63B78  # Castagnoli polynomial 0x1EDC6F41, bit-reversed
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _make_crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    t = _CRC32C_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------- varints ---

def read_uvarint(buf, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise WALError("truncated uvarint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WALError("uvarint overflows 64 bits")


def read_varint(buf, pos):
    u, pos = read_uvarint(buf, pos)
    x = u >> 1
    if u & 1:
        x = ~x
    return x, pos


def read_be64(buf, pos):
    if pos + 8 > len(buf):
        raise WALError("truncated 8-byte field")
    return struct.unpack_from(">Q", buf, pos)[0], pos + 8


# ----------------------------------------------------------------- snappy ---

def snappy_decompress(src):
    """Decode one snappy block (the format of Go's snappy.Encode)."""
    n, pos = read_uvarint(src, 0)
    out = bytearray()
    while pos < len(src):
        tag = src[pos]
        pos += 1
        kind = tag & 0x03
        if kind == 0:  # literal
            ln = tag >> 2
            if ln >= 60:
                nb = ln - 59  # 1..4 little-endian length bytes follow
                if pos + nb > len(src):
                    raise WALError("snappy: truncated literal length")
                ln = int.from_bytes(src[pos:pos + nb], "little")
                pos += nb
            ln += 1
            if pos + ln > len(src):
                raise WALError("snappy: truncated literal")
            out += src[pos:pos + ln]
            pos += ln
            continue
        if kind == 1:  # copy, 1-byte offset
            if pos + 1 > len(src):
                raise WALError("snappy: truncated copy1")
            ln = 4 + ((tag >> 2) & 0x07)
            off = ((tag >> 5) << 8) | src[pos]
            pos += 1
        elif kind == 2:  # copy, 2-byte offset
            if pos + 2 > len(src):
                raise WALError("snappy: truncated copy2")
            ln = 1 + (tag >> 2)
            off = int.from_bytes(src[pos:pos + 2], "little")
            pos += 2
        else:  # copy, 4-byte offset
            if pos + 4 > len(src):
                raise WALError("snappy: truncated copy4")
            ln = 1 + (tag >> 2)
            off = int.from_bytes(src[pos:pos + 4], "little")
            pos += 4
        if off == 0 or off > len(out):
            raise WALError("snappy: bad copy offset %d" % off)
        start = len(out) - off
        if off >= ln:
            out += out[start:start + ln]
        else:  # overlapping copy: repeat the last `off` bytes
            for i in range(ln):
                out.append(out[start + i])
    if len(out) != n:
        raise WALError("snappy: decoded %d bytes, header says %d" % (len(out), n))
    return bytes(out)


# ------------------------------------------------------- segments, pages ---

SEGMENT_RE = re.compile(r"^[0-9]{8}$")
CHECKPOINT_RE = re.compile(r"^checkpoint\.([0-9]+)$")


def list_segments(d):
    segs = sorted((int(f), os.path.join(d, f)) for f in os.listdir(d)
                  if SEGMENT_RE.match(f) and os.path.isfile(os.path.join(d, f)))
    for a, b in zip(segs, segs[1:]):
        if b[0] != a[0] + 1:
            raise WALError("segments in %s are not sequential: %d then %d" % (d, a[0], b[0]))
    return segs


def wal_sources(waldir):
    """(label, path) of every segment in reading order: newest checkpoint first."""
    out = []
    cps = []
    for f in os.listdir(waldir):
        m = CHECKPOINT_RE.match(f)
        if m and os.path.isdir(os.path.join(waldir, f)):
            cps.append((int(m.group(1)), f))
    after = -1
    if cps:
        idx, name = max(cps)
        after = idx
        for _, p in list_segments(os.path.join(waldir, name)):
            out.append((os.path.join(name, os.path.basename(p)), p))
    for i, p in list_segments(waldir):
        if i > after:
            out.append((os.path.basename(p), p))
    return out


class Stats:
    def __init__(self):
        self.segments = []          # (label, size)
        self.pages = 0
        self.partial_pages = 0
        self.frag_types = Counter()  # by FRAG_NAMES
        self.flags = Counter()       # "none" / "snappy" / "zstd" per fragment
        self.padding_bytes = 0
        self.records = 0
        self.rec_types = Counter()
        self.rec_compression = Counter()
        self.multi_fragment_records = 0
        self.max_fragments = 0
        self.max_record_len = 0      # as stored (possibly compressed)
        self.max_record_raw_len = 0  # after decompression
        self.crc_checked = 0
        self.header_bytes = Counter()  # raw fragment type bytes, padding included
        self.multi_by_type = Counter()


def read_records(waldir, stats):
    """Yield (segment label, fragment count, raw record bytes) for every record."""
    for label, path in wal_sources(waldir):
        with open(path, "rb") as f:
            data = f.read()
        stats.segments.append((label, len(data)))
        npages = (len(data) + PAGE_SIZE - 1) // PAGE_SIZE
        stats.pages += npages
        if len(data) % PAGE_SIZE:
            stats.partial_pages += 1
        pending = None   # list of fragment data of the record being assembled
        pending_flags = None
        for pg in range(npages):
            page = data[pg * PAGE_SIZE:(pg + 1) * PAGE_SIZE]
            pos = 0
            while pos < len(page):
                where = "%s page %d offset %d" % (label, pg, pos)
                if len(page) - pos < HEADER_SIZE:
                    # Too short for a header: must be zero padding.
                    if any(page[pos:]):
                        raise WALError("%s: non-zero bytes in page tail" % where)
                    stats.padding_bytes += len(page) - pos
                    break
                hdr = page[pos]
                stats.header_bytes[hdr] += 1
                ftype = hdr & 0x07
                if ftype == FRAG_PADDING:
                    if any(page[pos:]):
                        raise WALError("%s: padding fragment but non-zero bytes follow" % where)
                    stats.frag_types["padding"] += 1
                    stats.padding_bytes += len(page) - pos
                    break
                if ftype > FRAG_LAST:
                    raise WALError("%s: unknown fragment type %d" % (where, ftype))
                if hdr & ~0x1F:
                    raise WALError("%s: unknown header bits 0x%02x" % (where, hdr))
                flags = hdr & (FLAG_SNAPPY | FLAG_ZSTD)
                length = struct.unpack_from(">H", page, pos + 1)[0]
                crc = struct.unpack_from(">I", page, pos + 3)[0]
                start = pos + HEADER_SIZE
                if start + length > len(page):
                    raise WALError("%s: fragment of %d bytes overruns the page" % (where, length))
                frag = page[start:start + length]
                got = crc32c(frag)
                if got != crc:
                    raise WALError("%s: CRC mismatch: header %08x, data %08x" % (where, crc, got))
                stats.crc_checked += 1
                stats.frag_types[FRAG_NAMES[ftype]] += 1
                stats.flags[{0: "none", FLAG_SNAPPY: "snappy", FLAG_ZSTD: "zstd"}.get(flags, "snappy+zstd")] += 1
                pos = start + length

                if ftype in (FRAG_FULL, FRAG_FIRST):
                    if pending is not None:
                        raise WALError("%s: %s fragment while a record is open" % (where, FRAG_NAMES[ftype]))
                    pending, pending_flags = [frag], flags
                else:
                    if pending is None:
                        raise WALError("%s: %s fragment without a first fragment" % (where, FRAG_NAMES[ftype]))
                    if flags != pending_flags:
                        raise WALError("%s: compression flags change inside a record" % where)
                    pending.append(frag)
                if ftype in (FRAG_FULL, FRAG_LAST):
                    yield label, len(pending), pending_flags, b"".join(pending)
                    pending = None
        if pending is not None:
            raise WALError("%s: segment ends inside a record (torn record)" % label)


def decode_record(raw, flags, stats):
    stats.records += 1
    stats.max_record_len = max(stats.max_record_len, len(raw))
    if flags & FLAG_ZSTD:
        stats.rec_compression["zstd"] += 1
        return None  # no zstd decoder in the standard library
    if flags & FLAG_SNAPPY:
        stats.rec_compression["snappy"] += 1
        raw = snappy_decompress(raw)
    else:
        stats.rec_compression["none"] += 1
    stats.max_record_raw_len = max(stats.max_record_raw_len, len(raw))
    return raw


def parse_series(rec):
    out = []
    pos = 1
    while pos < len(rec):
        ref, pos = read_be64(rec, pos)
        n, pos = read_uvarint(rec, pos)
        lbls = []
        for _ in range(2 * n):
            ln, pos = read_uvarint(rec, pos)
            if pos + ln > len(rec):
                raise WALError("series record: truncated string")
            try:
                lbls.append(rec[pos:pos + ln].decode("utf-8"))
            except UnicodeDecodeError:
                raise WALError("series record: label string is not UTF-8")
            pos += ln
        out.append((ref, tuple(zip(lbls[0::2], lbls[1::2]))))
    return out


def parse_samples(rec):
    out = []
    if len(rec) == 1:
        return out
    base_ref, pos = read_be64(rec, 1)
    base_t, pos = read_be64(rec, pos)
    if base_t >= 1 << 63:
        base_t -= 1 << 64
    while pos < len(rec):
        dref, pos = read_varint(rec, pos)
        dt, pos = read_varint(rec, pos)
        bits, pos = read_be64(rec, pos)
        v = struct.unpack(">d", struct.pack(">Q", bits))[0]
        out.append((base_ref + dref, base_t + dt, v))
    return out


def parse_tombstones(rec):
    out = []
    pos = 1
    while pos < len(rec):
        ref, pos = read_be64(rec, pos)
        mint, pos = read_varint(rec, pos)
        maxt, pos = read_varint(rec, pos)
        out.append((ref, mint, maxt))
    return out


def fmt_labels(lbls):
    return "{" + ",".join('%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
                           for k, v in lbls) + "}"


# ------------------------------------------------------------ bench check ---

def promtool_labels(path, n):
    """The first n distinct label sets as promtool's readPrometheusLabels parses
    them (v2.42.0): remove every '"', '{' and '}', split on ',', split each
    piece on ':' and keep parts [0] and [1], sort by name, skip duplicates."""
    out, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if len(out) >= n:
                break
            s = line.rstrip("\n").replace('"', "").replace("{", "").replace("}", "")
            lbls = []
            for chunk in s.split(","):
                parts = chunk.split(":")
                lbls.append((parts[0], parts[1]))
            key = tuple(sorted(lbls))
            if key in seen:
                continue
            seen.add(key)
            out.append(key)
    return out


def check_bench(n, s, series, samples_by_ref, sample_records, input_path):
    """Returns a list of problems (empty if the data matches)."""
    problems = []
    blocks = len(range(0, s, 100))      # for i := 0; i < s; i += 100
    per_series = blocks * 100           # each block is always 100 scrapes
    expected = [(30000 * (k + 1), float(123456789 + 1000 * (k % 100 + 1)))
                for k in range(per_series)]
    if len(series) != n:
        problems.append("expected %d series, WAL has %d" % (n, len(series)))
    if len(set(series.values())) != len(series):
        problems.append("two refs carry the same label set")
    for ref in sorted(samples_by_ref):
        if ref not in series:
            problems.append("samples for ref %d, which has no series record" % ref)
    bad = 0
    for ref in sorted(series):
        got = [(t, v) for t, v in samples_by_ref.get(ref, [])]
        if got != expected:
            bad += 1
            if bad <= 5:
                problems.append("ref %d %s: %d samples, first mismatch at %s" % (
                    ref, fmt_labels(series[ref]), len(got),
                    next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b),
                         min(len(got), len(expected)))))
    if bad > 5:
        problems.append("... %d series in all do not match" % bad)
    # Each samples record is one Commit of one shard: one scrape of <= 1000 series.
    shard_sizes = sorted({min(1000, n - i) for i in range(0, n, 1000)})
    for idx, recs in enumerate(sample_records):
        ts = {t for _, t, _ in recs}
        if len(ts) != 1 or len(recs) not in shard_sizes:
            problems.append("samples record #%d: %d samples, %d distinct timestamps" % (idx, len(recs), len(ts)))
            break
    if len(sample_records) != blocks * 100 * len(range(0, n, 1000)):
        problems.append("expected %d samples records, found %d" % (blocks * 100 * len(range(0, n, 1000)), len(sample_records)))
    if input_path:
        want = promtool_labels(input_path, n)
        got = set(series.values())
        if got != set(want):
            problems.append("series label sets differ from promtool's parse of the first %d sets of %s" % (n, input_path))
        elif n <= 1000 and [series[r] for r in sorted(series)] != want:
            problems.append("single shard: refs are not assigned in input order")
    return problems, blocks, per_series


# ------------------------------------------------------------------- main ---

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("waldir")
    ap.add_argument("--dump", action="store_true", help="print every sample as: ref labels t value")
    ap.add_argument("--check-bench", nargs=2, type=int, metavar=("N", "S"),
                    help="verify the promtool tsdb bench write --metrics=N --scrapes=S workload")
    ap.add_argument("--input", help="with --check-bench: the input file given to promtool; "
                                    "also compare the series label sets")
    ap.add_argument("--require-fragments", metavar="TYPES", default="",
                    help="comma-separated fragment types (full,first,middle,last) that must occur; "
                         "exit 1 otherwise")
    args = ap.parse_args()

    stats = Stats()
    series = OrderedDict()
    samples_by_ref = {}
    sample_records = []
    n_samples = 0
    n_tombstones = 0
    dup_series = 0
    mint = maxt = None
    dump = []

    try:
        for label, nfrag, flags, raw in read_records(args.waldir, stats):
            if nfrag > 1:
                stats.multi_fragment_records += 1
            stats.max_fragments = max(stats.max_fragments, nfrag)
            rec = decode_record(raw, flags, stats)
            if rec is None:
                stats.rec_types["undecoded (zstd)"] += 1
                continue
            if not rec:
                stats.rec_types["empty"] += 1
                continue
            rt = rec[0]
            stats.rec_types[REC_NAMES.get(rt, "unknown(%d)" % rt)] += 1
            if nfrag > 1:
                stats.multi_by_type[REC_NAMES.get(rt, "unknown(%d)" % rt)] += 1
            if rt == 1:
                for ref, lbls in parse_series(rec):
                    if ref in series:
                        dup_series += 1
                    series[ref] = lbls
            elif rt == 2:
                recs = parse_samples(rec)
                sample_records.append(recs)
                for ref, t, v in recs:
                    n_samples += 1
                    samples_by_ref.setdefault(ref, []).append((t, v))
                    mint = t if mint is None else min(mint, t)
                    maxt = t if maxt is None else max(maxt, t)
                    if args.dump:
                        dump.append((ref, t, v))
            elif rt == 3:
                n_tombstones += len(parse_tombstones(rec))
    except WALError as e:
        print("analyze.py: %s" % e, file=sys.stderr)
        return 1

    # With --dump, stdout carries only the sample lines; the summary goes to stderr.
    out = sys.stderr if args.dump else sys.stdout

    def say(*a):
        print(*a, file=out)

    say("WAL directory:     %s" % args.waldir)
    say("segments:          %d (%s)" % (len(stats.segments),
                                          ", ".join("%s: %d bytes" % s for s in stats.segments)))
    say("pages:             %d of %d bytes (%d partial)" % (stats.pages, PAGE_SIZE, stats.partial_pages))
    say("fragments:         %s" % ", ".join("%s=%d" % (k, stats.frag_types.get(k, 0))
                                              for k in ("full", "first", "middle", "last", "padding")))
    say("CRC-32C verified:  %d fragments, all match" % stats.crc_checked)
    say("padding bytes:     %d" % stats.padding_bytes)
    say("header type bytes: %s" % ", ".join("0x%02x=%d" % kv for kv in sorted(stats.header_bytes.items())))
    say("fragment flags:    %s" % ", ".join("%s=%d" % kv for kv in sorted(stats.flags.items())))
    say("records:           %d (%s)" % (stats.records, ", ".join("%s=%d" % kv for kv in sorted(stats.rec_compression.items()))))
    say("record types:      %s" % ", ".join("%s=%d" % kv for kv in sorted(stats.rec_types.items())))
    say("multi-fragment:    %d records span pages (max %d fragments in one record; %s)" % (
        stats.multi_fragment_records, stats.max_fragments,
        ", ".join("%s=%d" % kv for kv in sorted(stats.multi_by_type.items())) or "none"))
    say("largest record:    %d bytes stored, %d bytes decoded" % (stats.max_record_len, stats.max_record_raw_len))
    say("series:            %d (%d duplicate refs)" % (len(series), dup_series))
    if series:
        say("series refs:       %d..%d" % (min(series), max(series)))
    say("samples:           %d in %d samples records" % (n_samples, len(sample_records)))
    say("tombstones:        %d" % n_tombstones)
    if mint is not None:
        say("timestamps:        min %d, max %d" % (mint, maxt))

    rc = 0
    if args.check_bench:
        n, s = args.check_bench
        problems, blocks, per_series = check_bench(n, s, series, samples_by_ref, sample_records, args.input)
        say("check-bench N=%d S=%d: %d block(s) of 100 scrapes -> %d samples per series, "
              "t = 30000*(k+1), v = 123456789 + 1000*(k mod 100 + 1), k = 0..%d" % (
                  n, s, blocks, per_series, per_series - 1))
        if args.input:
            say("check-bench labels: compared with promtool's parse of %s" % args.input)
        if problems:
            for p in problems:
                say("check-bench FAIL: %s" % p)
            rc = 1
        else:
            say("check-bench OK: every series has exactly the expected samples")

    missing = []
    for want in filter(None, args.require_fragments.split(",")):
        if want not in ("full", "first", "middle", "last", "padding"):
            say("require-fragments: unknown type %r" % want)
            missing.append(want)
        elif not stats.frag_types.get(want):
            say("require-fragments FAIL: no %s fragment" % want)
            missing.append(want)
    if missing:
        rc = 1
    elif args.require_fragments:
        say("require-fragments OK: %s all present" % args.require_fragments)

    if args.dump:
        for ref, t, v in dump:
            lbls = series.get(ref)
            print("%d %s %d %s" % (ref, fmt_labels(lbls) if lbls is not None else "{?}", t, repr(v)))
    return rc


if __name__ == "__main__":
    sys.exit(main())
