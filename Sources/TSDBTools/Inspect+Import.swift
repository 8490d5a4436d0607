import Exposition
import TSDB

/// Options of ``Inspect/importText(file:into:options:progress:)``.
package struct ImportOptions: Sendable {
    /// The largest block to write, in ms; promtool's `--max-block-duration`. Below 2 h it is
    /// 2 h; above, the largest of 2 h × 3ⁿ (n < 10) that fits.
    package var maxBlockDuration: Int64 = 2 * 3_600_000
    /// Timestamp (ms) for lines that carry none, as in the Prometheus text format.
    package var defaultTimestamp: Int64
    /// nil: OpenMetrics when the file ends with `# EOF`, else the Prometheus text format.
    package var format: TextParser.Format?
    /// Samples per appender commit in promtool's backfill; decides, with the input order,
    /// which out-of-order samples are dropped and which fail the import (see
    /// ``Inspect/importText(file:into:options:progress:)``).
    package var samplesPerCommit = 5000
    /// The file syscalls; tests replace entries to inject failures.
    var syscalls: Syscalls = .system

    package init(defaultTimestamp: Int64) { self.defaultTimestamp = defaultTimestamp }
}

/// What an import wrote.
package struct ImportReport: Sendable {
    package var blocks: [BlockMeta] = []
    package var lines = 0
    package var samples = 0
    package var series = 0
    /// Out-of-order or duplicate samples dropped as promtool drops them.
    package var dropped = 0
    package var format: TextParser.Format = .openMetrics
}

extension Inspect {
    /// promtool's `getCompatibleBlockDuration`.
    package static func compatibleBlockDuration(_ maxBlockDuration: Int64) -> Int64 {
        let base: Int64 = 2 * 3_600_000
        guard maxBlockDuration > base else { return base }
        var ranges: [Int64] = []
        var r = base
        for _ in 0..<10 { ranges.append(r); r *= 3 }
        var index = ranges.count - 1
        for (i, v) in ranges.enumerated() where v > maxBlockDuration { index = i - 1; break }
        return ranges[index]
    }

    /// Backfills blocks into `directory` from exposition text, as `promtool tsdb
    /// create-blocks-from openmetrics` does, with the same blocks and chunks:
    ///
    /// 1. A first pass over the file checks every line and finds the time range. A bad line
    ///    is an error naming its line number, and nothing is written.
    /// 2. For each window of the block duration, aligned to it, from the first sample's, a
    ///    pass builds that window's series, committing every ``ImportOptions/samplesPerCommit``
    ///    samples as promtool's appender does: a sample older than its series' last
    ///    *committed* sample fails the import (`out of order sample`), as does a different
    ///    value at that same timestamp; one out of order only against samples not yet
    ///    committed is dropped and counted. Chunks are cut as promtool's head cuts them
    ///    (chunk range twice the block duration, 120 samples), and the block spans its
    ///    first sample to its last sample + 1 ms.
    ///
    /// Only one window's samples are in memory at a time (as compressed chunks); the file is
    /// mapped, so it may be larger than memory. Blocks are built in a staging directory
    /// `import-….tmp-for-creation` inside `directory` and moved into place at the end, so
    /// an error leaves nothing behind and a crash leaves only a leftover that `DB.open`
    /// removes. `progress` gets the fraction of the work done.
    package static func importText(
        file: String, into directory: String, options: ImportOptions, progress: (Double) -> Void = { _ in }
    ) throws(TSDBError) -> ImportReport {
        guard FileSystem.size(file, sys: options.syscalls) != nil, !FileSystem.isDirectory(file, sys: options.syscalls) else {
            throw TSDBError(.notFound, "no input file \(file)", location: .init(file: file))
        }
        let mapped = try MappedFile.open(file, sys: options.syscalls)
        return try mapped.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws(TSDBError) -> ImportReport in
            var job = TextImport(bytes: bytes, file: file, directory: directory, options: options)
            return try job.run(progress: progress)
        }
    }
}

/// The state of one import: the series seen, by text and by labels.
private struct TextImport {
    let bytes: UnsafeRawBufferPointer
    let file: String
    let directory: String
    let options: ImportOptions
    let format: TextParser.Format
    var texts = SeriesTextTable()
    var byLabels: [Labels: Int32] = [:]
    var labels: [Labels] = []

    init(bytes: UnsafeRawBufferPointer, file: String, directory: String, options: ImportOptions) {
        self.bytes = bytes
        self.file = file
        self.directory = directory
        self.options = options
        format = options.format ?? TextParser.detectFormat(bytes)
    }

    /// The series number of a sample, creating it (labels parsed and checked) on first sight.
    mutating func seriesID(_ sample: TextSample, _ parser: TextParser) throws(TSDBError) -> Int32 {
        let key = UnsafeRawBufferPointer(rebasing: bytes[sample.series])
        if let id = texts.get(key) { return id }
        let ls = try parser.labels(of: sample)
        let id: Int32
        if let existing = byLabels[ls] {
            id = existing
        } else {
            id = Int32(labels.count)
            labels.append(ls)
            byLabels[ls] = id
        }
        texts.insert(key, id)
        return id
    }

    mutating func run(progress: (Double) -> Void) throws(TSDBError) -> ImportReport {
        var report = ImportReport()
        report.format = format
        // Pass 1: check everything, find the time range.
        var parser = TextParser(bytes, format: format, file: file)
        var minTime = Int64.max
        var maxTime = Int64.min
        while let s = try parser.next() {
            _ = try seriesID(s, parser)
            let t = s.timestamp ?? options.defaultTimestamp
            minTime = min(minTime, t)
            maxTime = max(maxTime, t)
            report.samples += 1
            if report.samples & 0xFFFF == 0 { progress(Double(parser.offset) / Double(max(bytes.count, 1)) * 0.1) }
        }
        report.lines = parser.line
        report.series = labels.count
        guard report.samples > 0 else { return report }

        let duration = Inspect.compatibleBlockDuration(options.maxBlockDuration)
        let start = duration * (minTime / duration)  // Go's truncating division, as promtool
        let windows = Double((maxTime - start) / duration + 1)
        try FileSystem.createDirectory(directory, sys: options.syscalls)
        let staging = directory + "/import-" + BlockWriter.newULID().description + BlockWriter.creationSuffix
        do throws(TSDBError) {
            try FileSystem.createDirectory(staging, sys: options.syscalls)
            var t = start
            var next = Int64.max
            var done = 0.0
            while t <= maxTime {
                defer { t += duration; done += 1 }
                if next != .max && next >= t + duration { continue }
                let (meta, dropped, nextSample) = try buildBlock(from: t, to: t + duration, into: staging) { f in
                    progress(0.1 + 0.9 * (done + f) / windows)
                }
                next = nextSample
                report.dropped += dropped
                if let meta { report.blocks.append(meta) }
            }
            for meta in report.blocks {
                let name = meta.ulid.description
                let r = options.syscalls.rename(staging + "/" + name, directory + "/" + name)
                guard r == 0 else { throw TSDBError.io("rename \(staging)/\(name) to", path: directory + "/" + name, errno: -r) }
            }
            try FileSystem.syncDirectory(directory, sys: options.syscalls)
            try FileSystem.removeAll(staging, sys: options.syscalls)
        } catch {
            try? FileSystem.removeAll(staging, sys: options.syscalls)
            throw error
        }
        progress(1)
        return report
    }

    /// One window's block, written into `staging`; also the dropped count and the earliest
    /// sample at or after `end` (`Int64.max` if none), for skipping empty windows.
    mutating func buildBlock(
        from start: Int64, to end: Int64, into staging: String, progress: (Double) -> Void
    ) throws(TSDBError) -> (BlockMeta?, Int, Int64) {
        let chunkOptions = ChunkOptions.make(chunkRange: 2 * (end - start), samplesPerChunk: 120, maxBytesBeforeAppend: nil)
        var states: [Int32: SeriesState] = [:]
        var pending: [(id: Int32, t: Int64, v: Double)] = []
        pending.reserveCapacity(options.samplesPerCommit)
        var headMin = Int64.max
        var headMax = Int64.min
        var dropped = 0
        var nextSample = Int64.max

        func commit(_ pending: inout [(id: Int32, t: Int64, v: Double)]) {
            for p in pending {
                if states[p.id]!.commit(timestamp: p.t, value: p.v, options: chunkOptions) == .appended {
                    headMin = min(headMin, p.t)
                    headMax = max(headMax, p.t)
                } else {
                    dropped += 1
                }
            }
            pending.removeAll(keepingCapacity: true)
        }

        var parser = TextParser(bytes, format: format, file: file)
        var seen = 0
        while let s = try parser.next() {
            seen += 1
            if seen & 0xFFFF == 0 { progress(Double(parser.offset) / Double(max(bytes.count, 1))) }
            let t = s.timestamp ?? options.defaultTimestamp
            if t < start { continue }
            if t >= end { nextSample = min(nextSample, t); continue }
            let id = try seriesID(s, parser)
            if let state = states[id] {
                // promtool's Append checks against the series' committed samples only.
                if state.maxTime != .min, t < state.maxTime {
                    throw TSDBError(.invalidArgument, "line \(s.line): out of order sample: \(labels[Int(id)]) at \(t) is older than \(state.maxTime), already committed (promtool fails the same way)",
                                    location: .init(file: file, offset: s.series.lowerBound))
                }
                if state.maxTime != .min, t == state.maxTime, s.value.bitPattern != state.lastValueBits {
                    throw TSDBError(.invalidArgument, "line \(s.line): duplicate sample for timestamp \(t) of \(labels[Int(id)]) with a different value",
                                    location: .init(file: file, offset: s.series.lowerBound))
                }
            } else {
                states[id] = SeriesState.empty()
            }
            pending.append((id, t, s.value))
            if pending.count >= options.samplesPerCommit { commit(&pending) }
        }
        commit(&pending)
        guard headMin <= headMax else { return (nil, dropped, nextSample) }
        var series: [(labels: Labels, chunks: [ChunkMeta])] = []
        series.reserveCapacity(states.count)
        for (id, state) in states {
            let chunks = state.chunks(minTime: .min, maxTime: .max)
            if !chunks.isEmpty { series.append((labels[Int(id)], chunks)) }
        }
        let meta = try BlockWriter.write(directory: staging, series: series, minTime: headMin, maxTime: headMax + 1, sys: options.syscalls)
        return (meta, dropped, nextSample)
    }
}
