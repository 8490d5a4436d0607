#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a block's `index` file, format v2, byte for byte as Prometheus 2.42's `index.Writer`
/// does (FORMAT.md, "Block index").
///
/// Call ``addSymbols(_:)`` with every label name and value in byte-wise order, then
/// ``addSeries(_:chunks:)`` for each series in ``Labels/compare(_:_:)`` order, then
/// ``close()``. One owner, one thread. The file is written at `path` in place and fsynced by
/// `close()`; the block directory makes it visible with its own rename.
///
/// Cost: the symbol table, one postings entry (4 bytes plus dictionary overhead) per label of
/// every series, and the postings offset table are held in memory until `close()`; series
/// entries are streamed to the file through a 1 MiB buffer.
final class IndexWriter {
    private enum Stage { case symbols, series, done }

    let path: String
    private let file: OpenFile
    private var stage = Stage.symbols
    private var toc = IndexTOC()

    /// Bytes not yet written to the file, and how many were.
    private var out = ByteWriter(capacity: 1 << 20)
    private var flushed = 0
    private var position: Int { flushed + out.count }

    // Symbol table, kept in memory until the first series (its length comes first).
    private var symbolEntries = ByteWriter()
    private var symbolStrings: [String] = []
    /// Symbol → reference, built on the first ``addSeries(_:chunks:)`` by labels; callers
    /// passing references (``addSeries(references:chunks:)``) never pay for it.
    private var symbolIndex: [ByteString: UInt32]?

    // Series and postings.
    /// The previous series' symbol references (name, value, …), for the order check.
    private var lastReferences: [UInt32] = []
    private var hasSeries = false
    private var referenceScratch: [UInt32] = []
    private var seriesScratch = ByteWriter(capacity: 256)
    /// Every series reference (offset / 16), in order.
    private var allPostings: [UInt32] = []
    /// (name symbol << 32 | value symbol) → series references, ascending.
    private var postings: [UInt64: [UInt32]] = [:]

    /// Creates (or truncates) the file at `path` and writes the header.
    init(path: String, sys: Syscalls) throws(TSDBError) {
        self.path = path
        file = try OpenFile.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, sys: sys)
        out.writeBigEndian(IndexFormat.magic)
        out.writeByte(IndexFormat.version)
        toc.symbols = UInt64(position)
    }

    /// The symbols Prometheus's head adds when it writes a block: every label name and value
    /// of `series`, plus the empty string (the all-postings key's name and value), sorted
    /// byte-wise and deduplicated.
    static func symbols(of series: some Sequence<Labels>) -> [String] {
        var set: Set<ByteString> = [ByteString("")]
        for labels in series {
            for label in labels {
                set.insert(ByteString(label.name))
                set.insert(ByteString(label.value))
            }
        }
        return set.sorted().map(\.string)
    }

    /// Appends symbols to the symbol table.
    /// - Throws: ``TSDBError/Code/invalidArgument`` if a symbol is not byte-wise greater than
    ///   the one before it, or if a series was already added.
    func addSymbols(_ sorted: some Sequence<String>) throws(TSDBError) {
        for symbol in sorted { try addSymbol(symbol) }
    }

    func addSymbol(_ symbol: String) throws(TSDBError) {
        guard stage == .symbols else {
            throw TSDBError(.invalidArgument, "\(path): symbol \(goQuote(symbol)) added after the first series")
        }
        if let last = symbolStrings.last, compareUTF8(symbol, last) <= 0 {
            throw TSDBError(.invalidArgument, "\(path): symbol \(goQuote(symbol)) out of order after \(goQuote(last))")
        }
        guard symbolStrings.count < Int(UInt32.max) else {
            throw TSDBError(.invalidArgument, "\(path): more than 2^32-1 symbols")
        }
        symbolStrings.append(symbol)
        symbolEntries.writeLengthPrefixedString(symbol)
    }

    /// Appends one series and its chunks.
    /// - Parameters:
    ///   - labels: must sort after the previous series' labels, and every name and value must
    ///     have been added as a symbol.
    ///   - chunks: in time order; each chunk's `maxTime ≥ minTime`, and its `minTime` greater
    ///     than the previous chunk's `maxTime`.
    /// - Throws: ``TSDBError/Code/invalidArgument`` when a rule above is broken (nothing is
    ///   written then), ``TSDBError/Code/io`` when writing fails.
    func addSeries(_ labels: Labels, chunks: [IndexChunkMeta]) throws(TSDBError) {
        switch stage {
        case .symbols: try finishSymbols()
        case .series: break
        case .done: throw TSDBError(.invalidArgument, "\(path): series added after close")
        }
        var references: [UInt32] = []
        swap(&references, &referenceScratch)  // reuse the buffer without a copy
        references.removeAll(keepingCapacity: true)
        for label in labels {
            references.append(try symbol(label.name, of: labels))
            references.append(try symbol(label.value, of: labels))
        }
        defer { referenceScratch = references }
        try addSeries(references: references[...], chunks: chunks)
    }

    /// Appends one series given as symbol references, `name₀ value₀ name₁ value₁ …` (see
    /// ``SeriesSymbols``), and its chunks: the same entry as ``addSeries(_:chunks:)`` for
    /// the labels those symbols spell, without looking any string up.
    /// - Parameters:
    ///   - references: an even, non-zero count of references to added symbols, names
    ///     strictly ascending; the list must sort after the previous series' (pairwise,
    ///     then shorter first, which is label order because symbols are sorted).
    ///   - chunks: as for ``addSeries(_:chunks:)``.
    /// - Throws: as ``addSeries(_:chunks:)``.
    func addSeries(references: ArraySlice<UInt32>, chunks: [IndexChunkMeta]) throws(TSDBError) {
        switch stage {
        case .symbols: try finishSymbols()
        case .series: break
        case .done: throw TSDBError(.invalidArgument, "\(path): series added after close")
        }
        guard !references.isEmpty, references.count % 2 == 0,
              references.allSatisfy({ Int($0) < symbolStrings.count }) else {
            throw TSDBError(.invalidArgument, "\(path): series symbol references \(Array(references)) are not name/value pairs of \(symbolStrings.count) symbols")
        }
        if hasSeries, SeriesSymbols.compare(references, lastReferences[...]) <= 0 {
            throw TSDBError(.invalidArgument, "\(path): out-of-order series \(describe(references)) after \(describe(lastReferences[...]))")
        }
        for (i, c) in chunks.enumerated() {
            guard c.maxTime >= c.minTime else {
                throw TSDBError(.invalidArgument, "\(path): chunk \(i) of \(describe(references)) has maxTime \(c.maxTime) < minTime \(c.minTime)")
            }
            if i > 0, c.minTime <= chunks[i - 1].maxTime {
                throw TSDBError(.invalidArgument,
                                "\(path): chunk \(i) of \(describe(references)) starts at \(c.minTime), not after the previous chunk's maxTime \(chunks[i - 1].maxTime)")
            }
        }
        seriesScratch.bytes.removeAll(keepingCapacity: true)
        seriesScratch.writeUvarint(UInt64(references.count / 2))
        for r in references { seriesScratch.writeUvarint(UInt64(r)) }
        Self.encodeChunks(chunks, into: &seriesScratch)

        let padding = (IndexFormat.seriesAlignment - position % IndexFormat.seriesAlignment) % IndexFormat.seriesAlignment
        let offset = position + padding
        guard offset / IndexFormat.seriesAlignment <= Int(UInt32.max) else {
            throw TSDBError(.invalidArgument, "\(path): series section exceeds 64 GiB, references no longer fit 4 bytes")
        }
        let ref = UInt32(offset / IndexFormat.seriesAlignment)
        writePadding(to: IndexFormat.seriesAlignment)
        out.writeUvarint(UInt64(seriesScratch.count))
        out.writeBytes(seriesScratch.bytes)
        out.writeBigEndian(CRC32C.checksum(seriesScratch.bytes))

        allPostings.append(ref)
        var i = references.startIndex
        while i < references.endIndex {
            postings[UInt64(references[i]) << 32 | UInt64(references[i + 1]), default: []].append(ref)
            i += 2
        }
        lastReferences.removeAll(keepingCapacity: true)
        lastReferences.append(contentsOf: references)
        hasSeries = true
        try flushIfFull()
    }

    /// `{name="value", …}` of a reference list, for error messages.
    private func describe(_ references: ArraySlice<UInt32>) -> String {
        var pairs: [String] = []
        var i = references.startIndex
        while i + 1 < references.endIndex {
            let name = symbolStrings.indices.contains(Int(references[i])) ? symbolStrings[Int(references[i])] : "?"
            let value = symbolStrings.indices.contains(Int(references[i + 1])) ? symbolStrings[Int(references[i + 1])] : "?"
            pairs.append(name + "=" + goQuote(value))
            i += 2
        }
        return "{" + pairs.joined(separator: ", ") + "}"
    }

    /// `c₀.minTime <varint> │ c₀.maxTime − c₀.minTime <uvarint> │ c₀.ref <uvarint>`, then for
    /// each later chunk `minTime − prev maxTime <uvarint> │ maxTime − minTime <uvarint> │
    /// ref − prev ref <varint>`, all with wrapping arithmetic as Go's int64/uint64.
    static func encodeChunks(_ chunks: [IndexChunkMeta], into w: inout ByteWriter) {
        w.writeUvarint(UInt64(chunks.count))
        guard let first = chunks.first else { return }
        w.writeVarint(first.minTime)
        w.writeUvarint(UInt64(bitPattern: first.maxTime &- first.minTime))
        w.writeUvarint(first.ref)
        var t0 = first.maxTime
        var ref0 = Int64(bitPattern: first.ref)
        for c in chunks.dropFirst() {
            w.writeUvarint(UInt64(bitPattern: c.minTime &- t0))
            w.writeUvarint(UInt64(bitPattern: c.maxTime &- c.minTime))
            t0 = c.maxTime
            w.writeVarint(Int64(bitPattern: c.ref) &- ref0)
            ref0 = Int64(bitPattern: c.ref)
        }
    }

    /// Writes the postings, label indices, offset tables and TOC, then fsyncs and closes the
    /// file. Calling it again does nothing; after a failure the file is incomplete and the
    /// caller removes it.
    func close() throws(TSDBError) {
        switch stage {
        case .done: return
        case .symbols: try finishSymbols()
        case .series: break
        }
        stage = .done
        try writeTrailer()
        try file.writeAll(out.bytes)
        flushed += out.count
        out = ByteWriter()
        try file.sync()
        try file.close()
    }

    // MARK: - Sections

    private func symbol(_ s: String, of labels: Labels) throws(TSDBError) -> UInt32 {
        if symbolIndex == nil {
            var index: [ByteString: UInt32] = [:]
            index.reserveCapacity(symbolStrings.count)
            for (i, symbol) in symbolStrings.enumerated() { index[ByteString(symbol)] = UInt32(i) }
            symbolIndex = index
        }
        guard let i = symbolIndex?[ByteString(s)] else {
            throw TSDBError(.invalidArgument, "\(path): \(goQuote(s)) of series \(labels) is not in the symbol table")
        }
        return i
    }

    /// `len <4b> │ #symbols <4b> │ entries │ CRC32C <4b>`, with `len` and the CRC covering the
    /// count and the entries.
    private func finishSymbols() throws(TSDBError) {
        let length = 4 + symbolEntries.count
        guard length <= Int(UInt32.max) else {
            throw TSDBError(.invalidArgument, "\(path): symbol table of \(length) bytes exceeds 4 GiB")
        }
        var head = ByteWriter(capacity: 8)
        head.writeBigEndian(UInt32(length))
        head.writeBigEndian(UInt32(symbolStrings.count))
        let crc = head.bytes[4...].withUnsafeBytes { countBytes in
            symbolEntries.bytes.withUnsafeBytes { CRC32C.update(CRC32C.checksum(countBytes), $0) }
        }
        out.writeBytes(head.bytes)
        out.writeBytes(symbolEntries.bytes)
        out.writeBigEndian(crc)
        symbolEntries = ByteWriter()
        toc.series = UInt64(position)
        stage = .series
        try flushIfFull()
    }

    private func writeTrailer() throws(TSDBError) {
        // Postings keys in (name, value) order: symbols are sorted, so symbol order is byte order.
        let keys = postings.keys.sorted()

        toc.labelIndices = UInt64(position)
        let labelIndexOffsets = try writeLabelIndices(keys)

        toc.postings = UInt64(position)
        writePadding(to: IndexFormat.sectionAlignment)
        var table = ByteWriter()
        var entries: UInt32 = 0
        func addEntry(_ name: String, _ value: String, _ offset: Int) {
            table.writeUvarint(2)
            table.writeLengthPrefixedString(name)
            table.writeLengthPrefixedString(value)
            table.writeUvarint(UInt64(offset))
            entries += 1
        }
        addEntry("", "", try writePostingsList(allPostings))
        for key in keys {
            guard let list = postings[key] else { continue }
            let offset = try writePostingsList(list)
            addEntry(symbolStrings[Int(key >> 32)], symbolStrings[Int(key & 0xffff_ffff)], offset)
        }

        toc.labelIndicesTable = UInt64(position)
        var labelTable = ByteWriter()
        for (name, offset) in labelIndexOffsets {
            labelTable.writeUvarint(1)
            labelTable.writeLengthPrefixedString(name)
            labelTable.writeUvarint(UInt64(offset))
        }
        try writeTable(count: UInt32(labelIndexOffsets.count), entries: labelTable.bytes, "label index offset table")

        toc.postingsTable = UInt64(position)
        try writeTable(count: entries, entries: table.bytes, "postings offset table")

        out.writeBytes(toc.encoded)
    }

    /// One label index per label name (except the empty name): `len <4b> │ #names = 1 <4b> │
    /// #entries <4b> │ value symbol <4b>… │ CRC32C`, each starting 4-byte aligned.
    private func writeLabelIndices(_ keys: [UInt64]) throws(TSDBError) -> [(String, Int)] {
        var result: [(String, Int)] = []
        var i = 0
        while i < keys.count {
            let nameSymbol = keys[i] >> 32
            var j = i
            while j < keys.count && keys[j] >> 32 == nameSymbol { j += 1 }
            let values = keys[i..<j]
            i = j
            let name = symbolStrings[Int(nameSymbol)]
            if name.isEmpty { continue }  // Prometheus skips the all-postings name here
            writePadding(to: IndexFormat.sectionAlignment)
            result.append((name, position))
            var body = ByteWriter(capacity: 8 + 4 * values.count)
            body.writeBigEndian(UInt32(1))
            body.writeBigEndian(UInt32(values.count))
            for key in values { body.writeBigEndian(UInt32(truncatingIfNeeded: key)) }
            try writeSection(body.bytes, "label index of \(goQuote(name))")
            try flushIfFull()
        }
        return result
    }

    /// `len <4b> │ #entries <4b> │ series ref <4b>… │ CRC32C`, starting 4-byte aligned.
    /// Returns the list's offset.
    private func writePostingsList(_ refs: [UInt32]) throws(TSDBError) -> Int {
        writePadding(to: IndexFormat.sectionAlignment)
        let offset = position
        var body = ByteWriter(capacity: 4 + 4 * refs.count)
        body.writeBigEndian(UInt32(refs.count))
        for ref in refs { body.writeBigEndian(ref) }
        try writeSection(body.bytes, "postings list")
        try flushIfFull()
        return offset
    }

    /// `len <4b> │ #entries <4b> │ entries │ CRC32C`, the CRC over count and entries.
    private func writeTable(count: UInt32, entries: [UInt8], _ what: String) throws(TSDBError) {
        var body = ByteWriter(capacity: 4 + entries.count)
        body.writeBigEndian(count)
        body.writeBytes(entries)
        try writeSection(body.bytes, what)
        try flushIfFull()
    }

    /// `len <4b> │ body │ CRC32C(body) <4b>`.
    private func writeSection(_ body: [UInt8], _ what: String) throws(TSDBError) {
        guard body.count <= Int(UInt32.max) else {
            throw TSDBError(.invalidArgument, "\(path): \(what) of \(body.count) bytes exceeds 4 GiB")
        }
        out.writeBigEndian(UInt32(body.count))
        out.writeBytes(body)
        out.writeBigEndian(CRC32C.checksum(body))
    }

    /// Zero bytes up to the next multiple of `alignment` (Prometheus `AddPadding`).
    private func writePadding(to alignment: Int) {
        let r = position % alignment
        if r != 0 { out.writeBytes(repeatElement(0 as UInt8, count: alignment - r)) }
    }

    private func flushIfFull() throws(TSDBError) {
        guard out.count >= 1 << 20 else { return }
        try file.writeAll(out.bytes)
        flushed += out.count
        out.bytes.removeAll(keepingCapacity: true)
    }
}
