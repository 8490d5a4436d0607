#!/usr/bin/env python3
"""Turn promtool-made blocks into XOR chunk test vectors.

usage: extract.py BLOCKDIR DUMPFILE > xor-vectors.json

BLOCKDIR is either one block directory (it holds meta.json) or a data
directory holding several blocks. DUMPFILE is the output of
`promtool tsdb dump` over the same blocks.

For each block, the chunk segment files chunks/000001, ... are parsed:

    magic 0x85BD40DD <4 bytes BE> | version 1 <1 byte> | padding <3 bytes>
    then per chunk:
    len <uvarint> | encoding <1 byte> | data <len bytes> | CRC32C(encoding+data) <4 bytes BE>

The compactor writes chunks series by series in index order (label sets
sorted byte-wise) and each series' chunks in time order. The first two bytes
of an XOR chunk are its big-endian sample count, so walking the dump's series
(restricted to the block's [minTime, maxTime) range) in the same order
assigns every chunk its series and samples. The assignment is then proven by
decoding each chunk with an independent Gorilla decoder and comparing every
timestamp and value bit-exactly with the dump (NaN only as NaN, because the
dump prints every NaN as "NaN").

Only the Python standard library is used.
"""

import json
import math
import os
import struct
import subprocess
import sys

SEGMENT_MAGIC = 0x85BD40DD
ENCODING_XOR = 1


def fail(msg):
    sys.stderr.write("extract.py: %s\n" % msg)
    sys.exit(1)


# --- CRC32C (Castagnoli), reflected polynomial 0x82F63B78 ------------------

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value


# --- varints ---------------------------------------------------------------

def read_uvarint(buf, pos):
    x, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated uvarint")
        b = buf[pos]
        pos += 1
        x |= (b & 0x7F) << shift
        if b < 0x80:
            return x, pos
        shift += 7
        if shift > 63:
            raise ValueError("uvarint overflow")


# --- chunk segment files ---------------------------------------------------

def read_segment(path):
    """Yield (offset, encoding, data) for each chunk in one segment file."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        fail("%s: short segment header" % path)
    magic, version = struct.unpack(">IB", buf[:5])
    if magic != SEGMENT_MAGIC:
        fail("%s: bad magic %08x" % (path, magic))
    if version != 1:
        fail("%s: unsupported segment version %d" % (path, version))
    pos = 8
    while pos < len(buf):
        start = pos
        length, pos = read_uvarint(buf, pos)
        if pos + 1 + length + 4 > len(buf):
            fail("%s@%d: chunk runs past end of file" % (path, start))
        encoding = buf[pos]
        data = buf[pos + 1:pos + 1 + length]
        (crc,) = struct.unpack(">I", buf[pos + 1 + length:pos + 5 + length])
        got = crc32c(buf[pos:pos + 1 + length])
        if got != crc:
            fail("%s@%d: CRC32C mismatch: stored %08x, computed %08x" % (path, start, crc, got))
        yield start, encoding, bytes(data)
        pos += 1 + length + 4


# --- XOR (Gorilla) decoder, semantics of tsdb/chunkenc/xor.go --------------

class BitReader:
    def __init__(self, data):
        self.data = data
        self.pos = 0                    # in bits

    def bit(self):
        byte = self.pos >> 3
        if byte >= len(self.data):
            raise ValueError("read past end of chunk")
        b = (self.data[byte] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return b

    def bits(self, n):
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v

    def uvarint(self):
        x, shift = 0, 0
        while True:
            b = self.bits(8)
            x |= (b & 0x7F) << shift
            if b < 0x80:
                return x
            shift += 7

    def varint(self):
        ux = self.uvarint()
        x = ux >> 1
        return ~x if ux & 1 else x


def to_signed64(x):
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >> 63 else x


def decode_xor(data):
    """Return [(t_ms, value_bits)] for one XOR chunk."""
    if len(data) < 2:
        raise ValueError("chunk shorter than its header")
    count = struct.unpack(">H", data[:2])[0]
    r = BitReader(data[2:])
    out = []
    t = tdelta = 0
    vbits = 0
    leading = trailing = 0
    for i in range(count):
        if i == 0:
            t = r.varint()
            vbits = r.bits(64)
        else:
            if i == 1:
                tdelta = r.uvarint()
            else:
                prefix = 0
                for _ in range(4):      # 0, 10, 110, 1110, 1111
                    prefix <<= 1
                    if r.bit() == 0:
                        break
                    prefix |= 1
                size = {0b0: 0, 0b10: 14, 0b110: 17, 0b1110: 20, 0b1111: 64}[prefix]
                dod = 0
                if size:
                    dod = r.bits(size)
                    if size != 64 and dod > (1 << (size - 1)):
                        dod -= 1 << size
                    dod = to_signed64(dod)
                tdelta = to_signed64(tdelta + dod)
            t = to_signed64(t + tdelta)
            # value
            if r.bit() == 1:
                if r.bit() == 1:
                    leading = r.bits(5)
                    sigbits = r.bits(6)
                    if sigbits == 0:
                        sigbits = 64
                    trailing = 64 - leading - sigbits
                sigbits = 64 - leading - trailing
                vbits ^= r.bits(sigbits) << trailing
        out.append((t, vbits))
    # Past the last sample there may only be zero padding: the rest of the
    # last byte, plus (see BitWriter) one whole empty byte when the stream
    # ended byte-aligned after a whole-byte write.
    used = (r.pos + 7) // 8
    rest = data[2 + used:]
    if len(rest) > 1 or any(rest):
        raise ValueError("chunk has %d unexpected trailing bytes" % len(rest))
    return out


# --- XOR encoder, to prove the bytes are reproducible from the samples -------

class BitWriter:
    """A bit stream with the exact byte layout of Go's chunkenc bstream.

    `free` is how many low bits of the last byte are still unwritten. Whole
    bytes (writes of 8+ bits) always append a fresh byte after the one they
    complete, so a stream that ends byte-aligned after such a write carries
    one trailing 0x00 byte with all 8 bits free; single-bit writes only add a
    byte when the last one is full.
    """

    def __init__(self):
        self.buf = bytearray(2)          # room for the sample count
        self.free = 0

    def bit(self, b):
        if self.free == 0:
            self.buf.append(0)
            self.free = 8
        if b:
            self.buf[-1] |= 1 << (self.free - 1)
        self.free -= 1

    def byte(self, x):
        if self.free == 0:
            self.buf.append(0)
            self.free = 8
        self.buf[-1] |= x >> (8 - self.free)
        self.buf.append((x << self.free) & 0xFF)

    def bits(self, x, n):
        x &= (1 << n) - 1
        while n >= 8:
            n -= 8
            self.byte((x >> n) & 0xFF)
        for i in range(n - 1, -1, -1):
            self.bit((x >> i) & 1)


def put_uvarint(w, x):
    while x >= 0x80:
        w.byte((x & 0x7F) | 0x80)
        x >>= 7
    w.byte(x)


def encode_xor(samples):
    """Encode [(t_ms, value_bits)] the way xorAppender.Append does."""
    w = BitWriter()
    t_prev = v_prev = tdelta = 0
    leading, trailing = None, 0          # None: no window yet (Go uses 0xff)
    for i, (t, v) in enumerate(samples):
        if i == 0:
            put_uvarint(w, ((t << 1) ^ (t >> 63)) & ((1 << 64) - 1))
            w.bits(v, 64)
        else:
            if i == 1:
                tdelta = (t - t_prev) & ((1 << 64) - 1)
                put_uvarint(w, tdelta)
            else:
                new_delta = (t - t_prev) & ((1 << 64) - 1)
                dod = to_signed64(new_delta - tdelta)
                tdelta = new_delta
                if dod == 0:
                    w.bit(0)
                else:
                    for prefix, plen, size in ((0b10, 2, 14), (0b110, 3, 17),
                                               (0b1110, 4, 20), (0b1111, 4, 64)):
                        lim = 1 << (size - 1)
                        if size == 64 or -(lim - 1) <= dod <= lim:
                            w.bits(prefix, plen)
                            w.bits(dod, size)
                            break
            x = v ^ v_prev
            if x == 0:
                w.bit(0)
            else:
                w.bit(1)
                lz = 64 - x.bit_length()
                tz = (x & -x).bit_length() - 1
                lz = min(lz, 31)
                if leading is not None and lz >= leading and tz >= trailing:
                    w.bit(0)
                    w.bits(x >> trailing, 64 - leading - trailing)
                else:
                    leading, trailing = lz, tz
                    w.bit(1)
                    w.bits(lz, 5)
                    sig = 64 - lz - tz
                    w.bits(sig & 63, 6)
                    w.bits(x >> tz, sig)
        t_prev, v_prev = t, v
    struct.pack_into(">H", w.buf, 0, len(samples))
    return bytes(w.buf)


# --- promtool tsdb dump parser ---------------------------------------------

def parse_go_quoted(s, i):
    """Parse a Go strconv.Quote string starting at s[i] == '"'; return (str, next index)."""
    assert s[i] == '"'
    i += 1
    out = bytearray()
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11,
              "\\": 92, "'": 39, '"': 34}
    while True:
        c = s[i]
        if c == '"':
            return out.decode("utf-8"), i + 1
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        e = s[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        elif e in "uU":
            n = 4 if e == "u" else 8
            out += chr(int(s[i + 2:i + 2 + n], 16)).encode("utf-8")
            i += 2 + n
        elif e in "01234567":
            out.append(int(s[i + 1:i + 4], 8))
            i += 4
        else:
            raise ValueError("bad escape \\%s" % e)


def parse_labels(line):
    """Parse `{a="b", c="d"}` at the start of line; return (pairs, rest)."""
    if not line.startswith("{"):
        raise ValueError("dump line does not start with '{': %r" % line)
    i, pairs = 1, []
    while True:
        if line[i] == "}":
            return pairs, line[i + 1:]
        j = line.index("=", i)
        name = line[i:j]
        value, i = parse_go_quoted(line, j + 1)
        pairs.append((name, value))
        if line.startswith(", ", i):
            i += 2


def label_key(pairs):
    # labels.Compare: pairwise name then value, byte-wise; a prefix sorts first
    return tuple((n.encode("utf-8"), v.encode("utf-8")) for n, v in pairs)


def parse_dump(path):
    series = {}                         # label_key -> (pairs, [(t, float)])
    order = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            pairs, rest = parse_labels(line)
            value, ts = rest.split()
            key = label_key(pairs)
            if key not in series:
                series[key] = (pairs, [])
                order.append(key)
            samples = series[key][1]
            t = int(ts)
            if samples and samples[-1][0] >= t:
                fail("dump: samples of %r not in time order" % (pairs,))
            samples.append((t, float(value)))
    if order != sorted(order):
        fail("dump: series are not in sorted label order")
    return series, order


# --- main ------------------------------------------------------------------

def f64_bits(x):
    return struct.unpack(">Q", struct.pack(">d", x))[0]


def same_value(bits, dumped):
    if math.isnan(dumped):
        return (bits >> 52) & 0x7FF == 0x7FF and bits & ((1 << 52) - 1) != 0
    return bits == f64_bits(dumped)


def find_blocks(root):
    if os.path.exists(os.path.join(root, "meta.json")):
        dirs = [root]
    else:
        dirs = [os.path.join(root, d) for d in os.listdir(root)
                if os.path.exists(os.path.join(root, d, "meta.json"))]
    blocks = []
    for d in dirs:
        with open(os.path.join(d, "meta.json")) as f:
            meta = json.load(f)
        blocks.append((meta["minTime"], meta["maxTime"], d, meta))
    blocks.sort()
    if not blocks:
        fail("no blocks under %s" % root)
    return blocks


def promtool_version():
    v = os.environ.get("PROMTOOL_VERSION")
    if v:
        return v
    try:
        out = subprocess.run(["promtool", "--version"], capture_output=True, text=True).stdout
        return out.splitlines()[0].strip()
    except (OSError, IndexError):
        return "unknown"


def main():
    if len(sys.argv) != 3:
        fail("usage: extract.py BLOCKDIR DUMPFILE")
    series, order = parse_dump(sys.argv[2])
    blocks = find_blocks(sys.argv[1])
    chunks_out = []
    assigned = {key: 0 for key in order}

    for min_t, max_t, bdir, meta in blocks:
        # series present in this block, in index order, with their samples
        todo = []
        for key in order:
            pairs, samples = series[key]
            s = [x for x in samples if min_t <= x[0] < max_t]
            if s:
                todo.append((pairs, s))
        chunk_dir = os.path.join(bdir, "chunks")
        segs = sorted(os.listdir(chunk_dir))
        si, used = 0, 0                 # series index, samples used in it
        nchunks = 0
        for seg in segs:
            for off, enc, data in read_segment(os.path.join(chunk_dir, seg)):
                where = "%s/%s@%d" % (os.path.basename(bdir), seg, off)
                if enc != ENCODING_XOR:
                    fail("%s: unexpected encoding %d" % (where, enc))
                nchunks += 1
                count = struct.unpack(">H", data[:2])[0]
                if si >= len(todo):
                    fail("%s: more chunks than series samples" % where)
                pairs, samples = todo[si]
                want = samples[used:used + count]
                if len(want) != count:
                    fail("%s: chunk holds %d samples, series has %d left" % (where, count, len(want)))
                decoded = decode_xor(data)
                if encode_xor(decoded) != data:
                    fail("%s: re-encoding the decoded samples gives different bytes" % where)
                for (t, bits), (wt, wv) in zip(decoded, want):
                    if t != wt or not same_value(bits, wv):
                        fail("%s: decoded (%d, %016x) but dump says (%d, %r)" % (where, t, bits, wt, wv))
                chunks_out.append({
                    "labels": {n: v for n, v in pairs},
                    "encoding": enc,
                    "hex": data.hex(),
                    "minTime": decoded[0][0],
                    "maxTime": decoded[-1][0],
                    "samples": [[t, "%016x" % bits] for t, bits in decoded],
                })
                assigned[label_key(pairs)] += count
                used += count
                if used == len(samples):
                    si, used = si + 1, 0
        if si != len(todo) or used != 0:
            fail("%s: chunks end before the dump's samples do" % bdir)
        if nchunks != meta["stats"]["numChunks"]:
            fail("%s: %d chunks, meta.json says %d" % (bdir, nchunks, meta["stats"]["numChunks"]))

    for key in order:
        if assigned[key] != len(series[key][1]):
            fail("series %r: %d samples in chunks, %d in dump" % (series[key][0], assigned[key], len(series[key][1])))

    doc = {
        "promtool": promtool_version(),
        "recipe": "Fixtures/chunks/make.sh",
        "chunks": chunks_out,
    }
    # one chunk per line keeps diffs readable and the file compact
    sys.stdout.write('{"promtool": %s,\n "recipe": %s,\n "chunks": [\n' % (
        json.dumps(doc["promtool"]), json.dumps(doc["recipe"])))
    for i, c in enumerate(chunks_out):
        sys.stdout.write("  " + json.dumps(c, ensure_ascii=False, separators=(", ", ": ")))
        sys.stdout.write(",\n" if i + 1 < len(chunks_out) else "\n")
    sys.stdout.write(" ]}\n")
    sys.stderr.write("extract.py: %d blocks, %d series, %d chunks, %d samples verified\n" % (
        len(blocks), len(order), len(chunks_out), sum(assigned.values())))


if __name__ == "__main__":
    main()
