/// The payloads of WAL records, bit-exact with Prometheus's `tsdb/record` (FORMAT.md §7).
/// The first byte of a record is its type; records of other types (exemplars, metadata,
/// histograms written by newer Prometheus versions) are skipped on replay.
package enum RecordType: UInt8, Sendable {
    case series = 1
    case samples = 2
    case tombstones = 3
    /// The write-behind log's m-map markers (FORMAT.md §7.4).
    case mmapMarkers = 5
}

/// A series record entry: the ref the head gave the series, and its labels.
package struct RefSeries: Sendable, Equatable {
    package var ref: UInt64
    package var labels: Labels
}

/// A samples record entry.
package struct RefSample: Sendable, Equatable {
    package var ref: UInt64
    package var timestamp: Int64
    package var value: Double

    package static func == (a: RefSample, b: RefSample) -> Bool {
        a.ref == b.ref && a.timestamp == b.timestamp && a.value.bitPattern == b.value.bitPattern
    }
}

/// A tombstones record entry: samples of `ref` in `[minTime, maxTime]` are deleted.
package struct RefTombstone: Sendable, Equatable {
    package var ref: UInt64
    package var minTime: Int64
    package var maxTime: Int64
}

/// An m-map marker entry: every out-of-order sample of series `ref` logged before the
/// marker is in the `chunks_head/` chunk `chunkRef` (0: none was written).
package struct RefMmapMarker: Sendable, Equatable {
    package var ref: UInt64
    package var chunkRef: UInt64

    package init(ref: UInt64, chunkRef: UInt64) {
        self.ref = ref
        self.chunkRef = chunkRef
    }
}

package enum RecordEncoder {
    /// `01 │ { ref <8 BE> │ n <uvarint> │ { len <uvarint> name │ len <uvarint> value }×n }*`
    package static func series(_ series: some Sequence<RefSeries>, into out: inout ByteWriter) {
        out.writeByte(RecordType.series.rawValue)
        for s in series {
            out.writeBigEndian(s.ref)
            out.writeUvarint(UInt64(s.labels.count))
            for label in s.labels {
                out.writeLengthPrefixedString(label.name)
                out.writeLengthPrefixedString(label.value)
            }
        }
    }

    /// `02 │ ref₀ <8 BE> │ t₀ <8 BE> │ { ref−ref₀ <varint> │ t−t₀ <varint> │ value <8 BE> }*`;
    /// just `02` when there are no samples.
    package static func samples(_ samples: some Collection<RefSample>, into out: inout ByteWriter) {
        guard let first = samples.first else {
            out.writeByte(RecordType.samples.rawValue)
            return
        }
        // The hot path of every commit: written through a pointer into space reserved for
        // the worst case (two 10-byte varints and 8 bytes a sample), then trimmed.
        let worst = 17 + samples.count * 28
        let start = out.bytes.count
        out.bytes.append(contentsOf: repeatElement(0, count: worst))
        let used = out.bytes.withUnsafeMutableBufferPointer { buffer -> Int in
            let base = buffer.baseAddress! + start
            var p = base
            p.pointee = RecordType.samples.rawValue
            p += 1
            storeBigEndian(first.ref, at: &p)
            storeBigEndian(UInt64(bitPattern: first.timestamp), at: &p)
            for s in samples {
                storeUvarint(Varint.zigzag(Int64(bitPattern: s.ref &- first.ref)), at: &p)
                storeUvarint(Varint.zigzag(s.timestamp &- first.timestamp), at: &p)
                storeBigEndian(s.value.bitPattern, at: &p)
            }
            return p - base
        }
        out.bytes.removeLast(worst - used)
    }

    @inline(__always)
    private static func storeBigEndian(_ v: UInt64, at p: inout UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v.bigEndian, as: UInt64.self)
        p += 8
    }

    @inline(__always)
    private static func storeUvarint(_ value: UInt64, at p: inout UnsafeMutablePointer<UInt8>) {
        var v = value
        while v >= 0x80 {
            p.pointee = UInt8(truncatingIfNeeded: v) | 0x80
            p += 1
            v >>= 7
        }
        p.pointee = UInt8(truncatingIfNeeded: v)
        p += 1
    }

    /// `03 │ { ref <8 BE> │ minTime <varint> │ maxTime <varint> }*`
    package static func tombstones(_ stones: some Sequence<RefTombstone>, into out: inout ByteWriter) {
        out.writeByte(RecordType.tombstones.rawValue)
        for t in stones {
            out.writeBigEndian(t.ref)
            out.writeVarint(t.minTime)
            out.writeVarint(t.maxTime)
        }
    }
}

extension RecordEncoder {
    /// `05 │ { ref <8 BE> │ chunkRef <8 BE> }*`, as Prometheus's `Encoder.MmapMarkers`.
    package static func mmapMarkers(_ markers: some Sequence<RefMmapMarker>, into out: inout ByteWriter) {
        out.writeByte(RecordType.mmapMarkers.rawValue)
        for m in markers {
            out.writeBigEndian(m.ref)
            out.writeBigEndian(m.chunkRef)
        }
    }
}

/// Decoders for record payloads. Damaged input is a corruption error naming `file` and the
/// absolute `offset` of the damage (records are decoded from a known position); never a trap.
package enum RecordDecoder {
    static func type(of record: some Collection<UInt8>) -> UInt8? { record.first }

    package static func series(_ record: [UInt8], file: String? = nil, offset: Int = 0) throws(TSDBError) -> [RefSeries] {
        var r = ByteReader(record, file: file, baseOffset: offset)
        guard try r.readByte() == RecordType.series.rawValue else { throw r.error("series record type 1", at: 0) }
        var out: [RefSeries] = []
        while !r.isAtEnd {
            let ref = try r.readBigEndian(UInt64.self)
            let at = r.offset
            let n = try r.readUvarint()
            guard n <= UInt64(r.remaining / 2) else { throw r.error("\(n) labels do not fit in the record", at: at) }
            var labels: [Label] = []
            labels.reserveCapacity(Int(n))
            for _ in 0..<n {
                let name = try r.readLengthPrefixedString()
                let value = try r.readLengthPrefixedString()
                labels.append(Label(name: name, value: value))
            }
            out.append(RefSeries(ref: ref, labels: try diskLabels(labels, reader: r, at: at)))
        }
        return out
    }

    /// Labels as stored by any Prometheus version: sorted and unique, but names are not held
    /// to the classic character set (Prometheus 3 allows UTF-8 names).
    private static func diskLabels(_ labels: [Label], reader r: ByteReader<[UInt8]>, at: Int) throws(TSDBError) -> Labels {
        var sorted = labels.filter { !$0.value.isEmpty }
        sorted.sort { compareUTF8($0.name, $1.name) < 0 }
        guard !sorted.isEmpty else { throw r.error("a series with at least one non-empty label", at: at) }
        for i in sorted.indices.dropFirst() where equalUTF8(sorted[i - 1].name, sorted[i].name) {
            throw r.error("unique label names, found \(goQuote(sorted[i].name)) twice", at: at)
        }
        guard !sorted[0].name.isEmpty else { throw r.error("non-empty label names", at: at) }
        return Labels(uncheckedSorted: sorted)
    }

    /// Appends the record's samples to `out` (reused across records by callers).
    package static func samples(_ record: [UInt8], into out: inout [RefSample], file: String? = nil, offset: Int = 0) throws(TSDBError) {
        var failure: TSDBError?
        record.withUnsafeBytes { raw in
            do throws(TSDBError) {
                var cursor = try SampleCursor(raw, file: file, offset: offset)
                out.reserveCapacity(out.count + raw.count / 10)
                while let s = try cursor.next() { out.append(s) }
            } catch { failure = error }
        }
        if let failure { throw failure }
    }

    package static func tombstones(_ record: [UInt8], file: String? = nil, offset: Int = 0) throws(TSDBError) -> [RefTombstone] {
        var r = ByteReader(record, file: file, baseOffset: offset)
        guard try r.readByte() == RecordType.tombstones.rawValue else { throw r.error("tombstones record type 3", at: 0) }
        var out: [RefTombstone] = []
        while !r.isAtEnd {
            let ref = try r.readBigEndian(UInt64.self)
            out.append(RefTombstone(ref: ref, minTime: try r.readVarint(), maxTime: try r.readVarint()))
        }
        return out
    }

    /// A record of 16-byte entries; a partial entry at the end is a corruption error.
    package static func mmapMarkers(_ record: [UInt8], file: String? = nil, offset: Int = 0) throws(TSDBError) -> [RefMmapMarker] {
        var r = ByteReader(record, file: file, baseOffset: offset)
        guard try r.readByte() == RecordType.mmapMarkers.rawValue else { throw r.error("m-map markers record type 5", at: 0) }
        guard r.remaining % 16 == 0 else {
            throw r.error("m-map markers of 16 bytes each, \(r.remaining % 16) bytes left over", at: record.count - r.remaining % 16)
        }
        var out: [RefMmapMarker] = []
        out.reserveCapacity(r.remaining / 16)
        while !r.isAtEnd {
            out.append(RefMmapMarker(ref: try r.readBigEndian(UInt64.self), chunkRef: try r.readBigEndian(UInt64.self)))
        }
        return out
    }
}

extension RecordDecoder {
    /// Checks that a samples record is well formed without keeping its samples. What passes
    /// decodes without error, so a replay that applies samples while decoding them
    /// (``SampleCursor``) can check first and refuse a damaged record whole. One pass over
    /// the bytes, no allocation.
    package static func validateSamples(_ record: UnsafeRawBufferPointer, file: String? = nil, offset: Int = 0) throws(TSDBError) {
        var cursor = try SampleCursor(record, file: file, offset: offset)
        while try cursor.next() != nil {}
    }
}
