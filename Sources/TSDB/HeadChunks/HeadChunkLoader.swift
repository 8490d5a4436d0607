import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `chunks_head/` held at open, ready to attach to series as the WAL creates them.
package struct LoadedHeadChunks {
    /// In-order XOR chunks ending at or after the minimum valid time, by series reference,
    /// each series' chunks in time order.
    package var bySeries: [UInt64: [ChunkMeta]] = [:]
    /// The files kept, oldest first, with the newest sample time of any chunk in each.
    var files: [HeadChunkDiskMapper.FileInfo] = []
    var chunks = 0
    /// Chunks of other encodings (histograms, out-of-order) and chunks below the minimum
    /// valid time: read past, not loaded.
    var skipped = 0
    /// Of those, out-of-order chunks (encoding byte with the `0x80` bit, Prometheus 2.39+).
    var outOfOrder = 0
    /// Repairs made, one line each, naming file and offset.
    var notes: [String] = []
}

/// Reads `chunks_head/` at open (FORMAT.md §13.4), checking every chunk's CRC, and repairs
/// it as Prometheus does: a torn or damaged tail of the last file is cut; any other damage
/// (a bad header, a gap in the file numbers, damage in an earlier file, chunks of a series out
/// of time order) deletes every file, and the WAL is then replayed in full. Runs before the
/// head accepts appends; not thread-safe.
package enum HeadChunkLoader {
    package static func load(directory: String, minValidTime: Int64, sys: Syscalls, mapping: MappingCalls = .populated) throws(TSDBError) -> LoadedHeadChunks {
        var result = LoadedHeadChunks()
        var groups = ChunkGroups()
        var seqs = try HeadChunkFormat.fileSequences(in: directory, sys: sys)
        guard let last = seqs.last else { return result }

        // A last file that lost even its header (a crash right after creating it) is
        // deleted, as Prometheus's repairLastChunkFile does.
        let lastPath = directory + "/" + HeadChunkFormat.fileName(last)
        if (FileSystem.size(lastPath, sys: sys) ?? 0) < Int64(HeadChunkFormat.headerSize) {
            try FileSystem.removeAll(lastPath, sys: sys)
            result.notes.append("head chunk file \(lastPath): deleted, it ends inside its header")
            seqs.removeLast()
        }
        if let gap = zip(seqs, seqs.dropFirst()).first(where: { $0.1 != $0.0 + 1 }) {
            return try discardAll(directory, seqs, because: "head chunk files \(HeadChunkFormat.fileName(gap.0)) and \(HeadChunkFormat.fileName(gap.1)) are not consecutive", sys: sys)
        }
        for (i, seq) in seqs.enumerated() {
            let path = directory + "/" + HeadChunkFormat.fileName(seq)
            let file = try MappedFile.open(path, sys: sys, mapping: mapping)
            var maxTime = Int64.min
            var problem: String?
            let end = try file.withUnsafeBytes { bytes throws(TSDBError) -> HeadChunkScanEnd in
                if let p = HeadChunkFormat.headerProblem(bytes) {
                    return .damaged(offset: 0, torn: false, reason: p)
                }
                // Lengths first, then checksums and copies on every core, then the checks
                // in file order: the first bad checksum ends the file as a scan would.
                var found: [ScannedHeadChunk] = []
                var end = try HeadChunkFormat.scan(bytes, file: seq, verify: false) { found.append($0) }
                let (copies, mismatch) = verifyAndCopy(found, in: bytes, minValidTime: minValidTime)
                if let (index, damage) = mismatch {
                    found.removeSubrange(index...)
                    end = damage
                }
                for (i, c) in found.enumerated() {
                    if c.maxTime > maxTime { maxTime = c.maxTime }
                    guard problem == nil else { continue }
                    guard let copy = copies[i] else {
                        result.skipped += 1
                        if c.encoding & 0x80 != 0 { result.outOfOrder += 1 }
                        continue
                    }
                    guard c.data.count >= 2, c.minTime <= c.maxTime else {
                        problem = "the chunk at offset \(c.ref.offset) is not a valid XOR chunk (\(c.data.count) bytes, [\(c.minTime), \(c.maxTime)])"
                        continue
                    }
                    if let previous = groups.last(of: c.seriesRef), previous.maxTime >= c.minTime {
                        problem = "the chunk at offset \(c.ref.offset) of series \(c.seriesRef) starts at \(c.minTime), not after its previous chunk's end \(previous.maxTime)"
                        continue
                    }
                    groups.append(ChunkMeta(chunk: copy, minTime: c.minTime, maxTime: c.maxTime), to: c.seriesRef)
                    result.chunks += 1
                }
                return end
            }
            if let problem {
                return try discardAll(directory, seqs, because: "head chunk file \(path): \(problem)", sys: sys)
            }
            if case .damaged(let offset, let torn, let reason) = end {
                guard i == seqs.count - 1, offset >= HeadChunkFormat.headerSize else {
                    return try discardAll(directory, seqs, because: "head chunk file \(path) is corrupt at offset \(offset): \(reason)", sys: sys)
                }
                // The last file's tail: a write cut short. The chunks before it are good.
                try FileSystem.truncateFile(path, to: offset, sys: sys)
                result.notes.append("head chunk file \(path): cut \(file.count - offset) bytes at offset \(offset) (\(torn ? "torn chunk" : "damaged tail"): \(reason))")
            }
            result.files.append(.init(seq: seq, maxTime: maxTime))
        }
        result.bySeries = groups.dictionary()
        return result
    }

    /// Checks the chunks' CRCs and copies those to load (XOR, not below `minValidTime`, inside ``TimestampDomain``), on
    /// every core. Returns the copies (nil for chunks not loaded) and the first mismatch.
    private static func verifyAndCopy(
        _ found: [ScannedHeadChunk], in bytes: UnsafeRawBufferPointer, minValidTime: Int64
    ) -> (copies: [XORChunk?], mismatch: (index: Int, damage: HeadChunkScanEnd)?) {
        let parts = Swift.max(1, Swift.min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), found.count / 4096))
        let firstBad = Mutex<(index: Int, damage: HeadChunkScanEnd)?>(nil)
        let copies = [XORChunk?](unsafeUninitializedCapacity: found.count) { buffer, count in
            // Each thread reads the shared chunk list and file, and writes its own slots.
            let shared = UncheckedBox((found: found, bytes: bytes, slots: buffer.baseAddress!))
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let (found, bytes, slots) = shared.value
                let range = (found.count * part / parts)..<(found.count * (part + 1) / parts)
                var released = range.first.map { found[$0].ref.offset } ?? 0
                for i in range {
                    let c = found[i]
                    if let damage = HeadChunkFormat.checksumMismatch(c, in: bytes) {
                        firstBad.withLock { if $0 == nil || $0!.index > i { $0 = (i, damage) } }
                        (slots + i).initialize(repeating: nil, count: range.upperBound - i)
                        return
                    }
                    // A range outside TimestampDomain cannot come from an append: skip it.
                    let load = c.encoding == ChunkEncoding.xor.rawValue && c.maxTime >= minValidTime
                        && c.minTime <= c.maxTime && TimestampDomain.contains(c.minTime) && TimestampDomain.contains(c.maxTime)
                    (slots + i).initialize(to: load ? XORChunk(bytes: Array(c.data)) : nil)
                    // The copies replace the mapped pages: give those back as we go, so the
                    // file and its copy are not both resident.
                    if i % 4096 == 4095 {
                        releaseMappedPages(bytes, released..<c.ref.offset)
                        released = c.ref.offset
                    }
                }
                if let last = range.last { releaseMappedPages(bytes, released..<(found[last].ref.offset + HeadChunkFormat.recordSize(dataCount: found[last].data.count))) }
            }
            count = found.count
        }
        return (copies, firstBad.withLock { $0 })
    }

    /// Chunks by series reference, in an array indexed by reference for the dense references
    /// Prometheus and this engine hand out (a hash per chunk costs more than its copy), and
    /// a dictionary above ``denseLimit``.
    private struct ChunkGroups {
        static let denseLimit: UInt64 = 1 << 20
        private var dense: [[ChunkMeta]] = []
        private var sparse: [UInt64: [ChunkMeta]] = [:]

        func last(of ref: UInt64) -> ChunkMeta? {
            ref < UInt64(dense.count) ? dense[Int(ref)].last : sparse[ref]?.last
        }

        mutating func append(_ chunk: ChunkMeta, to ref: UInt64) {
            guard ref < Self.denseLimit else {
                sparse[ref, default: []].append(chunk)
                return
            }
            if ref >= UInt64(dense.count) {
                dense.append(contentsOf: repeatElement([], count: Swift.max(Int(ref) + 1, dense.count * 2) - dense.count))
            }
            if dense[Int(ref)].isEmpty { dense[Int(ref)].reserveCapacity(32) }
            dense[Int(ref)].append(chunk)
        }

        mutating func dictionary() -> [UInt64: [ChunkMeta]] {
            var out = sparse
            sparse = [:]
            for ref in dense.indices where !dense[ref].isEmpty {
                out[UInt64(ref)] = dense[ref]
                dense[ref] = []
            }
            return out
        }
    }

    /// Deletes every head chunk file, as Prometheus does when it cannot use them; the WAL
    /// then supplies every sample.
    private static func discardAll(_ directory: String, _ seqs: [Int], because reason: String, sys: Syscalls) throws(TSDBError) -> LoadedHeadChunks {
        for seq in seqs { try FileSystem.removeAll(directory + "/" + HeadChunkFormat.fileName(seq), sys: sys) }
        var result = LoadedHeadChunks()
        result.notes.append("\(reason); deleted all \(seqs.count) head chunk file(s) and replayed the WAL in full")
        return result
    }
}
