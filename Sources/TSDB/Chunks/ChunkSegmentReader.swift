/// Reads the chunk segment files of a block through read-only mappings, as Prometheus's
/// `chunks.NewDirReader` does (FORMAT.md, "Block chunk segments"). Implements the reading
/// half of that section; ``ChunkSegmentWriter`` is the other.
///
/// Opening maps every segment and checks its magic number and version. Every later read is
/// bounds-checked and CRC-checked: no bytes on disk make it trap; damage is a `.corruption`
/// error naming the segment file and the byte offset of the chunk.
///
/// Thread-safe: any number of threads may read at once. The mappings live as long as the
/// reader; no bytes handed to a closure outlive that closure.
package final class ChunkSegmentReader: Sendable {
    package let directory: String
    private let segments: [MappedFile]

    /// Maps every segment file of `directory`: names that are decimal numbers, in byte-wise
    /// name order, the first being segment 0. An empty directory is a reader without
    /// segments. Throws `.notFound` if the directory does not exist, `.io` if a file cannot
    /// be mapped and `.corruption` if a file is shorter than the header or has the wrong
    /// magic number (offset 0) or version (offset 4). The header's padding is not checked,
    /// as in Prometheus.
    package init(directory: String, sys: Syscalls, mapping: MappingCalls = .system) throws(TSDBError) {
        var segments: [MappedFile] = []
        for name in try ChunkSegmentFormat.segmentNames(in: directory, sys: sys) {
            let file = try MappedFile.open(directory + "/" + name, sys: sys, mapping: mapping)
            try file.withUnsafeBytes { bytes throws(TSDBError) in try Self.checkHeader(bytes, file: file.path) }
            segments.append(file)
        }
        self.directory = directory
        self.segments = segments
    }

    package var segmentCount: Int { segments.count }

    /// Path of segment `index`, which must be below ``segmentCount``.
    package func segmentPath(_ index: Int) -> String { segments[index].path }

    /// Size in bytes of segment `index`, which must be below ``segmentCount``.
    package func segmentSize(_ index: Int) -> Int { segments[index].count }

    /// Calls `body` with the encoding and the data of the chunk at `ref`, after checking its
    /// bounds and CRC. Zero-copy: `data` points into the mapping and is valid only inside
    /// `body`. The encoding byte is passed as stored, even if this engine cannot decode it.
    func withChunk<R>(_ ref: ChunkRef, _ body: (ChunkEncoding, UnsafeRawBufferPointer) throws(TSDBError) -> R) throws(TSDBError) -> R {
        guard ref.segment < segments.count else {
            throw .corruption(
                "chunk reference \(ref): no segment \(ref.segment), the block has \(segments.count)",
                file: directory + "/" + ChunkSegmentFormat.segmentName(ref.segment), offset: ref.offset)
        }
        let file = segments[ref.segment]
        return try file.withUnsafeBytes { bytes throws(TSDBError) in
            let chunk = try Self.parseChunk(bytes, at: ref.offset, file: file.path, fromReference: true)
            return try body(chunk.encoding, UnsafeRawBufferPointer(rebasing: bytes[chunk.data]))
        }
    }

    /// The encoding and a copy of the data of the chunk at `ref`; see ``withChunk(_:_:)``.
    package func chunk(_ ref: ChunkRef) throws(TSDBError) -> (encoding: ChunkEncoding, data: [UInt8]) {
        try withChunk(ref) { encoding, data in (encoding, Array(data)) }
    }

    /// Calls `body` with every chunk of segment `index`, in file order, each checked as
    /// ``withChunk(_:_:)`` checks it. For verification tools: a segment must hold nothing but
    /// chunks, so bytes after the last chunk that do not form one are corruption at their
    /// offset. `data` is valid only inside `body`.
    package func forEachChunk(
        inSegment index: Int, _ body: (ChunkRef, ChunkEncoding, UnsafeRawBufferPointer) throws(TSDBError) -> Void
    ) throws(TSDBError) {
        guard index >= 0, index < segments.count else {
            throw TSDBError(.invalidArgument, "no segment \(index) in \(directory), it has \(segments.count)")
        }
        let file = segments[index]
        try file.withUnsafeBytes { bytes throws(TSDBError) in
            var offset = ChunkSegmentFormat.headerSize
            while offset < bytes.count {
                guard offset <= Int(UInt32.max) else {
                    throw .corruption("chunk starts past the 4 GiB a reference can address", file: file.path, offset: offset)
                }
                let chunk = try Self.parseChunk(bytes, at: offset, file: file.path, fromReference: false)
                try body(ChunkRef(segment: index, offset: offset), chunk.encoding, UnsafeRawBufferPointer(rebasing: bytes[chunk.data]))
                offset = chunk.end
            }
        }
    }

    /// Checks the 8-byte segment header: magic, version; padding is ignored.
    static func checkHeader(_ bytes: UnsafeRawBufferPointer, file: String) throws(TSDBError) {
        guard bytes.count >= ChunkSegmentFormat.headerSize else {
            throw .corruption(
                "chunk segment header needs \(ChunkSegmentFormat.headerSize) bytes, the file has \(bytes.count)",
                file: file, offset: 0)
        }
        var reader = ByteReader(bytes, file: file)
        let magic: UInt32 = try reader.readBigEndian()
        guard magic == ChunkSegmentFormat.magic else {
            throw .corruption("chunk segment magic number 0x\(Hex.string(magic, width: 8)), expected 0x\(Hex.string(ChunkSegmentFormat.magic, width: 8))", file: file, offset: 0)
        }
        let version = try reader.readByte()
        guard version == ChunkSegmentFormat.version else {
            throw .corruption("chunk segment format version \(version), expected \(ChunkSegmentFormat.version)", file: file, offset: 4)
        }
    }

    /// Parses and CRC-checks the chunk whose length field starts at `offset`. Never traps.
    /// Errors name `file` and `offset` (the chunk's start; the message says where inside).
    static func parseChunk(
        _ bytes: UnsafeRawBufferPointer, at offset: Int, file: String, fromReference: Bool
    ) throws(TSDBError) -> (encoding: ChunkEncoding, data: Range<Int>, end: Int) {
        let what = fromReference ? "chunk reference offset" : "chunk offset"
        guard offset >= ChunkSegmentFormat.headerSize else {
            throw .corruption("\(what) \(offset) is inside the segment header", file: file, offset: offset)
        }
        guard offset < bytes.count else {
            throw .corruption("\(what) \(offset) is at or past the end of the segment (\(bytes.count) bytes)", file: file, offset: offset)
        }
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[offset...]), file: file, baseOffset: offset)
        let length: UInt64
        do throws(TSDBError) {
            length = try reader.readUvarint()
        } catch {
            throw .corruption("chunk length is not a valid uvarint: \(error.message)", file: file, offset: offset)
        }
        guard reader.offset <= ChunkSegmentFormat.maxLengthFieldSize else {
            throw .corruption(
                "chunk length field is \(reader.offset) bytes, at most \(ChunkSegmentFormat.maxLengthFieldSize) allowed",
                file: file, offset: offset)
        }
        let encodingOffset = offset + reader.offset
        // The encoding byte and the CRC follow the length field.
        guard reader.remaining >= 1 + ChunkSegmentFormat.crcSize,
              length <= UInt64(reader.remaining - 1 - ChunkSegmentFormat.crcSize)
        else {
            throw .corruption(
                "chunk of \(length) data bytes runs past the end of the segment (\(bytes.count) bytes)",
                file: file, offset: offset)
        }
        let dataEnd = encodingOffset + 1 + Int(length)
        let covered = UnsafeRawBufferPointer(rebasing: bytes[encodingOffset..<dataEnd])
        let computed = CRC32C.checksum(covered)
        var stored: UInt32 = 0
        for i in 0..<ChunkSegmentFormat.crcSize { stored = stored << 8 | UInt32(bytes[dataEnd + i]) }
        guard stored == computed else {
            throw .corruption(
                "chunk CRC32C mismatch: stored 0x\(Hex.string(stored, width: 8)) at offset \(dataEnd), computed 0x\(Hex.string(computed, width: 8))",
                file: file, offset: offset)
        }
        return (ChunkEncoding(rawValue: bytes[encodingOffset]), (encodingOffset + 1)..<dataEnd, dataEnd + ChunkSegmentFormat.crcSize)
    }
}
