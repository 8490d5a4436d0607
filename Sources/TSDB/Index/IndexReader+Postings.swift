/// Label names, label values and postings from the postings offset table, which is sorted by
/// (name, value) byte-wise. Its entries are `n = 2 <uvarint> │ name <uvarint-prefixed> │
/// value <uvarint-prefixed> │ postings offset <uvarint64>`.
extension IndexReader {
    /// One decoded entry of the postings offset table; `name` and `value` are ranges of `bytes`.
    struct PostingsTableEntry {
        var name: Range<Int>
        var value: Range<Int>
        var postings: UInt64
    }

    /// Reads entries from `start` to the end of the table.
    struct PostingsTableCursor {
        var reader: ByteReader<ArraySlice<UInt8>>

        init(_ bytes: [UInt8], from start: Int, to end: Int, file: String?) {
            reader = ByteReader(bytes[start..<end], file: file, baseOffset: start)
        }

        var isAtEnd: Bool { reader.isAtEnd }
        /// Absolute offset of the next entry.
        var position: Int { reader.baseOffset + reader.offset }

        mutating func next() throws(TSDBError) -> PostingsTableEntry {
            let at = reader.offset
            let keys = try reader.readUvarint()
            guard keys == 2 else {
                throw reader.error("postings offset table entry with \(keys) keys, expected 2", at: at)
            }
            let name = try IndexFormat.readStringRange(&reader)
            let value = try IndexFormat.readStringRange(&reader)
            let postings = try reader.readUvarint()
            return PostingsTableEntry(name: name, value: value, postings: postings)
        }
    }

    /// Walks the whole table once (at open): checks the entry count and the (name, value) order,
    /// and keeps every 32nd entry of each name plus its last (Prometheus `newReader`).
    static func samplePostingsTable(_ bytes: [UInt8], _ table: Range<Int>, file: String?)
        throws(TSDBError) -> ([ByteString: [PostingsSample]], [String])
    {
        var countReader = ByteReader(bytes[table], file: file, baseOffset: table.lowerBound)
        let count = try countReader.readBigEndian(UInt32.self)
        var cursor = PostingsTableCursor(bytes, from: table.lowerBound + 4, to: table.upperBound, file: file)
        var samples: [ByteString: [PostingsSample]] = [:]
        var names: [String] = []

        var currentName: Range<Int>? = nil
        var currentKey = ByteString("")
        var current: [PostingsSample] = []
        var previousValue: Range<Int>? = nil
        /// The name's latest entry that was not sampled: its value and its offset.
        var pendingLast: (value: Range<Int>, entry: Int)? = nil
        var valueCount = 0

        func closeName() throws(TSDBError) {
            guard currentName != nil else { return }
            if let pendingLast {
                current.append(PostingsSample(value: try string(bytes, pendingLast.value, file: file), entry: pendingLast.entry))
            }
            samples[currentKey] = current
        }
        for i in 0..<count {
            guard !cursor.isAtEnd else {
                throw .corruption("postings offset table ends after \(i) of \(count) entries", file: file,
                                  offset: table.lowerBound - 4)
            }
            let at = cursor.position
            let entry = try cursor.next()
            let nameOrder = currentName.map { IndexFormat.compare(bytes, $0, entry.name) } ?? -1
            if nameOrder > 0 || (nameOrder == 0 && previousValue.map({ IndexFormat.compare(bytes, $0, entry.value) >= 0 }) ?? false) {
                throw .corruption("postings offset table entries out of order", file: file, offset: at)
            }
            if nameOrder != 0 {
                try closeName()
                let name = try string(bytes, entry.name, file: file)
                currentName = entry.name
                currentKey = ByteString(name)
                if !name.isEmpty { names.append(name) }
                current = []
                pendingLast = nil
                valueCount = 0
            }
            if valueCount % IndexFormat.sampling == 0 {
                current.append(PostingsSample(value: try string(bytes, entry.value, file: file), entry: at))
                pendingLast = nil
            } else {
                pendingLast = (entry.value, at)
            }
            previousValue = entry.value
            valueCount += 1
        }
        try closeName()
        guard cursor.isAtEnd else {
            throw .corruption("postings offset table has bytes after its \(count) entries", file: file, offset: cursor.position)
        }
        return (samples, names)
    }

    static func string(_ bytes: [UInt8], _ range: Range<Int>, file: String?) throws(TSDBError) -> String {
        guard let s = String(validating: bytes[range], as: UTF8.self) else {
            throw .corruption("string is not valid UTF-8", file: file, offset: range.lowerBound)
        }
        return s
    }

    /// All label names in byte-wise order. Free: kept since open.
    package func labelNames() -> [String] { sortedLabelNames }

    /// The values of label `name`, in byte-wise order; empty if no series has the label.
    /// The first call for a name scans its entries in the postings offset table; later
    /// ones are answered from memory.
    package func labelValues(_ name: String) throws(TSDBError) -> [String] {
        let key = ByteString(name)
        if let cached = labelValuesCache.withLock({ $0[key] }) { return cached }
        guard let samples = postingsSamples[key], let first = samples.first else { return [] }
        var cursor = PostingsTableCursor(bytes, from: first.entry, to: postingsTableEntries.upperBound, file: file)
        var values: [String] = []
        while !cursor.isAtEnd {
            let entry = try cursor.next()
            guard IndexFormat.compare(bytes, entry.name, to: name) == 0 else { break }
            values.append(try Self.string(bytes, entry.value, file: file))
        }
        labelValuesCache.withLock { $0[key] = values }
        return values
    }

    /// References of the series that have label `name` = `value`, ascending; empty if none.
    /// Costs a binary search over the name's samples, a scan of at most 32 table entries, and
    /// decoding the postings list (its CRC checked).
    package func postings(_ name: String, _ value: String) throws(TSDBError) -> [UInt64] {
        guard let offset = try postingsOffset(name, value) else { return [] }
        return try postingsList(at: offset)
    }

    /// References of the series that have label `name` with any of `values`, ascending.
    func postings(_ name: String, values: [String]) throws(TSDBError) -> [UInt64] {
        var lists: [[UInt64]] = []
        for value in values { lists.append(try postings(name, value)) }
        return Postings.merge(lists)
    }

    /// Every series in the index, ascending: the postings list of the empty label ("", "").
    package func allPostings() throws(TSDBError) -> [UInt64] {
        try postings("", "")
    }

    /// The offset of the postings list for (`name`, `value`), or nil if there is none.
    private func postingsOffset(_ name: String, _ value: String) throws(TSDBError) -> Int? {
        guard let samples = postingsSamples[ByteString(name)], !samples.isEmpty else { return nil }
        // The last sample whose value is ≤ `value`.
        var lo = 0
        var hi = samples.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if compareUTF8(samples[mid].value, value) <= 0 { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        var cursor = PostingsTableCursor(bytes, from: samples[lo - 1].entry, to: postingsTableEntries.upperBound, file: file)
        while !cursor.isAtEnd {
            let at = cursor.position
            let entry = try cursor.next()
            guard IndexFormat.compare(bytes, entry.name, to: name) == 0 else { return nil }
            let order = IndexFormat.compare(bytes, entry.value, to: value)
            if order > 0 { return nil }
            if order == 0 {
                guard entry.postings < UInt64(bytes.count) else {
                    throw .corruption("postings offset \(entry.postings) lies outside the \(bytes.count)-byte file",
                                      file: file, offset: at)
                }
                return Int(entry.postings)
            }
        }
        return nil
    }

    /// Decodes the postings list at `offset`: `len <4b> │ #entries <4b> │ ref <4b BE>… │ CRC32C`.
    func postingsList(at offset: Int) throws(TSDBError) -> [UInt64] {
        let content = try IndexFormat.section(in: bytes, at: offset, "postings list", file: file)
        var r = ByteReader(bytes[content], file: file, baseOffset: content.lowerBound)
        let count = Int(try r.readBigEndian(UInt32.self))
        guard r.remaining == 4 * count else {
            throw .corruption("postings list of \(count) entries has \(r.remaining) bytes, expected \(4 * count)",
                              file: file, offset: offset)
        }
        var refs: [UInt64] = []
        refs.reserveCapacity(count)
        for _ in 0..<count {
            let at = r.offset
            let ref = UInt64(try r.readBigEndian(UInt32.self))
            if let last = refs.last, ref <= last {
                throw r.error("postings list not ascending: \(ref) after \(last)", at: at)
            }
            refs.append(ref)
        }
        return refs
    }
}
