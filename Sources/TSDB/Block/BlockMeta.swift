#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a block's `meta.json` says about it: identity, time range, counts and compaction
/// history. Field for field Prometheus's `tsdb.BlockMeta`; the file is specified in
/// FORMAT.md §9.2.
///
/// Members of `meta.json` that this engine does not know (a Thanos `thanos` section, a
/// field added by a newer Prometheus) are kept when a meta is read and written back after
/// the known ones, in their original order.
public struct BlockMeta: Hashable, Sendable {
    /// The block's identifier; also its directory name. Compaction gives the result a new one.
    public var ulid: ULID
    /// The time range of the block's samples: `minTime` inclusive, `maxTime` exclusive.
    public var minTime: Int64
    public var maxTime: Int64
    public var stats: Stats
    public var compaction: Compaction
    /// The format version. Reading accepts only 1; writing always writes 1.
    public var version: Int { 1 }

    /// Members of the top-level object that are not Prometheus fields.
    var unknownMembers: [JSONMember] = []

    public init(ulid: ULID, minTime: Int64, maxTime: Int64, stats: Stats = Stats(), compaction: Compaction = Compaction()) {
        self.ulid = ulid
        self.minTime = minTime
        self.maxTime = maxTime
        self.stats = stats
        self.compaction = compaction
    }

    /// Counts of what the block holds. Zero means "not recorded": Prometheus omits zero
    /// counts from the file, so 0 and absent read the same.
    public struct Stats: Hashable, Sendable {
        public var numSamples: UInt64 = 0
        /// Written by Prometheus 3.6 and later; 2.42 leaves it out.
        public var numFloatSamples: UInt64 = 0
        /// Written by Prometheus 3.6 and later; 2.42 leaves it out.
        public var numHistogramSamples: UInt64 = 0
        public var numSeries: UInt64 = 0
        public var numChunks: UInt64 = 0
        public var numTombstones: UInt64 = 0
        var unknownMembers: [JSONMember] = []

        public init(numSamples: UInt64 = 0, numFloatSamples: UInt64 = 0, numHistogramSamples: UInt64 = 0,
                    numSeries: UInt64 = 0, numChunks: UInt64 = 0, numTombstones: UInt64 = 0) {
            self.numSamples = numSamples
            self.numFloatSamples = numFloatSamples
            self.numHistogramSamples = numHistogramSamples
            self.numSeries = numSeries
            self.numChunks = numChunks
            self.numTombstones = numTombstones
        }
    }

    /// How the block came to be.
    public struct Compaction: Hashable, Sendable {
        /// 1 for a block cut from the head; one more than the highest parent level after compaction.
        public var level: Int = 0
        /// ULIDs of the level-1 blocks whose data this block holds, sorted; a level-1 block
        /// lists itself.
        public var sources: [ULID] = []
        /// A compaction of this block produced no samples, so the block is deleted on the
        /// next reload. Prometheus sets it on the source blocks, not on a result.
        public var deletable: Bool = false
        /// The blocks compacted directly into this one.
        public var parents: [BlockDescription] = []
        /// A compaction of this block failed; it is not chosen again.
        public var failed: Bool = false
        /// Free-form markers, sorted, e.g. ``BlockMeta/Compaction/hintFromOutOfOrder``.
        public var hints: [String] = []
        var unknownMembers: [JSONMember] = []

        /// Prometheus's `CompactionHintFromOutOfOrder`: the block was made from out-of-order chunks.
        public static let hintFromOutOfOrder = "from-out-of-order"

        public init(level: Int = 0, sources: [ULID] = [], deletable: Bool = false,
                    parents: [BlockDescription] = [], failed: Bool = false, hints: [String] = []) {
            self.level = level
            self.sources = sources
            self.deletable = deletable
            self.parents = parents
            self.failed = failed
            self.hints = hints
        }
    }

    /// A block named by ULID and time range: Prometheus's `BlockDesc`.
    public struct BlockDescription: Hashable, Sendable {
        public var ulid: ULID
        public var minTime: Int64
        public var maxTime: Int64
        var unknownMembers: [JSONMember] = []

        public init(ulid: ULID, minTime: Int64, maxTime: Int64) {
            self.ulid = ulid
            self.minTime = minTime
            self.maxTime = maxTime
        }
    }
}

// MARK: Encoding

extension BlockMeta {
    package static let fileName = "meta.json"

    /// The file's bytes, as Prometheus's `json.MarshalIndent(meta, "", "\t")` writes them.
    package func encoded() -> [UInt8] {
        var w = GoJSONWriter()
        w.write(jsonValue)
        return w.bytes
    }

    var jsonValue: JSONValue {
        .object([
            JSONMember(key: "ulid", value: .string(ulid.description)),
            JSONMember(key: "minTime", value: .int(minTime)),
            JSONMember(key: "maxTime", value: .int(maxTime)),
            JSONMember(key: "stats", value: stats.jsonValue),
            JSONMember(key: "compaction", value: compaction.jsonValue),
            JSONMember(key: "version", value: .int(version)),
        ] + unknownMembers)
    }
}

extension BlockMeta.Stats {
    var jsonValue: JSONValue {
        var m: [JSONMember] = []
        // `omitempty` on every count; the order is the Go struct's.
        for (key, value) in [("numSamples", numSamples), ("numFloatSamples", numFloatSamples),
                             ("numHistogramSamples", numHistogramSamples), ("numSeries", numSeries),
                             ("numChunks", numChunks), ("numTombstones", numTombstones)] where value != 0 {
            m.append(JSONMember(key: key, value: .int(value)))
        }
        return .object(m + unknownMembers)
    }
}

extension BlockMeta.Compaction {
    var jsonValue: JSONValue {
        var m = [JSONMember(key: "level", value: .int(level))]
        if !sources.isEmpty { m.append(JSONMember(key: "sources", value: .array(sources.map { .string($0.description) }))) }
        if deletable { m.append(JSONMember(key: "deletable", value: .bool(true))) }
        if !parents.isEmpty { m.append(JSONMember(key: "parents", value: .array(parents.map(\.jsonValue)))) }
        if failed { m.append(JSONMember(key: "failed", value: .bool(true))) }
        if !hints.isEmpty { m.append(JSONMember(key: "hints", value: .array(hints.map { .string($0) }))) }
        return .object(m + unknownMembers)
    }
}

extension BlockMeta.BlockDescription {
    var jsonValue: JSONValue {
        .object([
            JSONMember(key: "ulid", value: .string(ulid.description)),
            JSONMember(key: "minTime", value: .int(minTime)),
            JSONMember(key: "maxTime", value: .int(maxTime)),
        ] + unknownMembers)
    }
}

extension JSONValue {
    static func int(_ v: some BinaryInteger) -> JSONValue { .number(String(v)) }
}

// MARK: Files

extension BlockMeta {
    /// Reads `<blockDirectory>/meta.json`. Throws `.notFound` if it is missing and
    /// `.corruption` naming the file, offset or member if it does not decode (§9.2).
    package static func read(blockDirectory: String, sys: Syscalls) throws(TSDBError) -> BlockMeta {
        let path = blockDirectory + "/" + fileName
        let file: OpenFile
        do {
            file = try OpenFile.open(path, flags: O_RDONLY, sys: sys)
        } catch where (error.cause as? Errno)?.code == ENOENT {
            throw TSDBError(.notFound, "no \(fileName) in block \(blockDirectory)", location: .init(file: path), cause: error)
        }
        let bytes = try file.readAll()
        try file.close()
        return try BlockMeta(decoding: bytes, file: path)
    }

    /// Replaces `<blockDirectory>/meta.json` crash-safely (temporary file, fsync, rename,
    /// directory fsync), as Prometheus's `writeMetaFile`. Returns the bytes written.
    @discardableResult
    func write(blockDirectory: String, sys: Syscalls) throws(TSDBError) -> Int {
        let bytes = encoded()
        try FileSystem.replaceFile(blockDirectory + "/" + Self.fileName, with: bytes, sys: sys)
        return bytes.count
    }
}
