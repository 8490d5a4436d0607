@_spi(Chunks) import TSDB

/// What ``Inspect/verify(directory:)`` checked.
package struct VerifyReport: Sendable {
    package var blocks = 0
    package var series = 0
    package var chunks = 0
    package var walRecords = 0
    /// Chunks in `chunks_head/` whose framing and CRC were checked.
    package var headChunks = 0
    package var problems: [InspectProblem] = []
    /// Torn tails a crash leaves and the next open repairs (``InspectProblem/isTornTail``).
    package var notes: [InspectProblem] = []
}

extension Inspect {
    /// Checks every checksum of every block (index sections, series entries, postings lists,
    /// every chunk in every segment, tombstones) and of the WAL, and the index's consistency
    /// as Thanos's `index.VerifyIndex` does: series sorted and unique, no empty label set,
    /// chunks inside the block's range and not overlapping within a series, every chunk
    /// reference resolving to a chunk that decodes, and the counts in `meta.json` matching.
    /// Then every head chunk file in `chunks_head/` (header, framing, CRC, numbering).
    /// Reads only; reports each problem with its file and offset and carries on.
    package static func verify(directory: String) throws(TSDBError) -> VerifyReport {
        var report = VerifyReport()
        for name in (try FileSystem.list(directory, sys: .system) ?? []).sorted() where ULID(name) != nil {
            report.blocks += 1
            verifyBlock(directory + "/" + name, &report)
        }
        report.problems += try walkWAL(directory: directory) { _ in report.walRecords += 1 }
        try verifyHeadChunks(directory + "/chunks_head", &report)
        // A damaged chunk is found both by the segment scan and through the index: once.
        var seen = Set<String>()
        report.problems = report.problems.filter { seen.insert("\($0.file)@\($0.offset ?? -1)").inserted }
        report.notes = report.problems.filter(\.isTornTail)
        report.problems.removeAll(where: \.isTornTail)
        return report
    }

    /// Every head chunk file, read (not mapped: a running writer may be appending to the
    /// last one) and scanned as an open would: a damaged tail of the last file is what a
    /// crash leaves and the next open cuts, and is reported like a torn WAL tail.
    private static func verifyHeadChunks(_ directory: String, _ report: inout VerifyReport) throws(TSDBError) {
        let seqs = try HeadChunkFormat.fileSequences(in: directory, sys: .system)
        for (a, b) in zip(seqs, seqs.dropFirst()) where b != a + 1 {
            report.problems.append(InspectProblem(file: directory + "/" + HeadChunkFormat.fileName(b), offset: nil,
                                                  message: "head chunk file \(HeadChunkFormat.fileName(a)) is followed by \(HeadChunkFormat.fileName(b)): the files must be numbered consecutively"))
        }
        for seq in seqs {
            let path = directory + "/" + HeadChunkFormat.fileName(seq)
            let isLast = seq == seqs.last
            let bytes: [UInt8]
            do throws(TSDBError) { bytes = try WALRecovery.readFile(path, sys: .system) } catch {
                report.problems.append(InspectProblem(error, file: path))
                continue
            }
            let end = bytes.withUnsafeBytes { raw -> HeadChunkScanEnd in
                if let problem = HeadChunkFormat.headerProblem(raw) {
                    // A file created but killed before its header was written: open deletes it.
                    return .damaged(offset: 0, torn: raw.count < HeadChunkFormat.headerSize, reason: problem)
                }
                // The scan's body does not throw.
                return (try? HeadChunkFormat.scan(raw, file: seq) { _ in report.headChunks += 1 }) ?? .clean
            }
            if case .damaged(let offset, let torn, let reason) = end {
                report.problems.append(InspectProblem(file: path, offset: offset, message: reason, isTornTail: torn && isLast))
            }
        }
    }

    private static func verifyBlock(_ block: String, _ report: inout VerifyReport) {
        let metaPath = block + "/" + BlockMeta.fileName
        var meta: BlockMeta?
        do throws(TSDBError) { meta = try BlockMeta.read(blockDirectory: block, sys: .system) } catch {
            report.problems.append(InspectProblem(error, file: metaPath))
        }
        if FileSystem.size(block + "/" + TombstonesFile.fileName, sys: .system) != nil {
            do throws(TSDBError) { _ = try TombstonesFile.read(blockDirectory: block, sys: .system) } catch {
                report.problems.append(InspectProblem(error, file: block + "/" + TombstonesFile.fileName))
            }
        }
        var chunkReader: ChunkSegmentReader?
        do throws(TSDBError) {
            let reader = try ChunkSegmentReader(directory: block + "/chunks", sys: .system)
            chunkReader = reader
            for segment in 0..<reader.segmentCount {
                // Every chunk of every segment, referenced or not: CRC and framing.
                do throws(TSDBError) { try reader.forEachChunk(inSegment: segment) { _, _, _ in } } catch {
                    report.problems.append(InspectProblem(error, file: reader.segmentPath(segment)))
                }
            }
        } catch {
            report.problems.append(InspectProblem(error, file: block + "/chunks"))
        }
        let indexPath = block + "/index"
        do throws(TSDBError) {
            let index = try IndexReader.open(path: indexPath, sys: .system)
            try verifyIndex(index, path: indexPath, meta: meta, chunks: chunkReader, &report)
        } catch {
            report.problems.append(InspectProblem(error, file: indexPath))
        }
    }

    private static func verifyIndex(
        _ index: IndexReader, path: String, meta: BlockMeta?, chunks: ChunkSegmentReader?, _ report: inout VerifyReport
    ) throws(TSDBError) {
        var previous: Labels?
        var stats = BlockMeta.Stats()
        for ref in try index.allPostings() {
            let at = Int(ref) * IndexFormat.seriesAlignment
            let (labels, metas) = try index.series(ref)
            stats.numSeries += 1
            if let previous, Labels.compare(previous, labels) >= 0 {
                report.problems.append(InspectProblem(file: path, offset: at, message: "series \(labels) is not after \(previous): series must be sorted and unique"))
            }
            previous = labels
            for (i, c) in metas.enumerated() {
                stats.numChunks += 1
                if let meta, c.minTime < meta.minTime || c.maxTime >= meta.maxTime {
                    report.problems.append(InspectProblem(file: path, offset: at, message: "chunk [\(c.minTime), \(c.maxTime)] of \(labels) is outside the block's range [\(meta.minTime), \(meta.maxTime))"))
                }
                if c.minTime > c.maxTime {
                    report.problems.append(InspectProblem(file: path, offset: at, message: "chunk [\(c.minTime), \(c.maxTime)] of \(labels) ends before it starts"))
                }
                if i > 0, c.minTime <= metas[i - 1].maxTime {
                    report.problems.append(InspectProblem(file: path, offset: at, message: "chunks [\(metas[i - 1].minTime), \(metas[i - 1].maxTime)] and [\(c.minTime), \(c.maxTime)] of \(labels) overlap or are out of order"))
                }
                guard let chunks else { continue }
                let chunkRef = ChunkRef(rawValue: c.ref)
                do throws(TSDBError) {
                    let (encoding, data) = try chunks.chunk(chunkRef)
                    guard encoding == .xor else { continue }
                    var it = XORChunk(bytes: data).makeIterator()
                    while let s = it.next() {
                        stats.numSamples += 1
                        if s.timestamp < c.minTime || s.timestamp > c.maxTime {
                            throw TSDBError.corruption("sample at \(s.timestamp) outside the chunk's range [\(c.minTime), \(c.maxTime)] in the index",
                                                       file: chunks.directory + "/" + ChunkSegmentFormat.segmentName(chunkRef.segment), offset: chunkRef.offset)
                        }
                    }
                    if let error = it.error {
                        throw TSDBError.corruption("chunk does not decode: \(error.message)",
                                                   file: chunks.directory + "/" + ChunkSegmentFormat.segmentName(chunkRef.segment), offset: chunkRef.offset)
                    }
                } catch {
                    report.problems.append(InspectProblem(error, file: chunks.directory))
                }
            }
        }
        report.series += Int(stats.numSeries)
        report.chunks += Int(stats.numChunks)
        guard let meta else { return }
        let metaPath = FileSystem.parentDirectory(of: path) + "/" + BlockMeta.fileName
        for (what, found, recorded) in [("series", stats.numSeries, meta.stats.numSeries), ("chunks", stats.numChunks, meta.stats.numChunks),
                                        ("samples", stats.numSamples, meta.stats.numSamples)] where recorded != 0 && found != recorded {
            report.problems.append(InspectProblem(file: metaPath, offset: nil, message: "meta.json records \(recorded) \(what), the block holds \(found)"))
        }
    }
}
