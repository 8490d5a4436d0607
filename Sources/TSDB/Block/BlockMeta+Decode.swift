/// Decoding `meta.json` (FORMAT.md §9.2) with the rules of Go's `json.Unmarshal` into
/// Prometheus's `BlockMeta`, plus the checks Prometheus's `readMetaFile` makes.
extension BlockMeta {
    /// Decodes `bytes`, the contents of `file`. Throws `.corruption` naming the file and
    /// the member for invalid JSON, a member of the wrong type, a number out of range, an
    /// invalid ULID, a missing `ulid`, `minTime` or `maxTime`, or a version other than 1.
    ///
    /// Like Prometheus it does not require `minTime < maxTime`. Like Go, a `null` member
    /// reads as absent and a repeated key takes its last value.
    package init(decoding bytes: [UInt8], file: String?) throws(TSDBError) {
        let root = try JSONParser.parse(bytes, file: file)
        var d = MetaDecoder(file: file)
        let members = try d.object(root, path: "")
        var ulid: ULID?, minTime: Int64?, maxTime: Int64?, version: Int64?, versionAt = 0
        var stats = Stats(), compaction = Compaction()
        var unknown: [JSONMember] = []
        for m in members {
            switch m.key {
            case "ulid": ulid = try d.ulid(m.value, path: "ulid", at: m.offset)
            case "minTime": minTime = try d.int(m.value, path: "minTime", at: m.offset)
            case "maxTime": maxTime = try d.int(m.value, path: "maxTime", at: m.offset)
            case "stats": if let v = try d.optionalObject(m.value, path: "stats", at: m.offset) { stats = try Stats(members: v, decoder: &d) }
            case "compaction":
                if let v = try d.optionalObject(m.value, path: "compaction", at: m.offset) { compaction = try Compaction(members: v, decoder: &d) }
            case "version": version = try d.int(m.value, path: "version", at: m.offset); versionAt = m.offset
            default: unknown.append(m)
            }
        }
        guard let ulid else { throw d.error("missing member \"ulid\"") }
        guard let minTime else { throw d.error("missing member \"minTime\"") }
        guard let maxTime else { throw d.error("missing member \"maxTime\"") }
        // readMetaFile: `if m.Version != metaVersion1 { "unexpected meta file version %d" }`.
        guard version == 1 else { throw d.error("unexpected meta file version \(version.map(String.init) ?? "(none)"), expected 1", at: versionAt) }
        self.init(ulid: ulid, minTime: minTime, maxTime: maxTime, stats: stats, compaction: compaction)
        unknownMembers = unknown
    }
}

extension BlockMeta.Stats {
    fileprivate init(members: [JSONMember], decoder d: inout MetaDecoder) throws(TSDBError) {
        self.init()
        for m in members {
            let path = "stats." + m.key
            switch m.key {
            case "numSamples": numSamples = try d.uint(m.value, path: path, at: m.offset) ?? 0
            case "numFloatSamples": numFloatSamples = try d.uint(m.value, path: path, at: m.offset) ?? 0
            case "numHistogramSamples": numHistogramSamples = try d.uint(m.value, path: path, at: m.offset) ?? 0
            case "numSeries": numSeries = try d.uint(m.value, path: path, at: m.offset) ?? 0
            case "numChunks": numChunks = try d.uint(m.value, path: path, at: m.offset) ?? 0
            case "numTombstones": numTombstones = try d.uint(m.value, path: path, at: m.offset) ?? 0
            default: unknownMembers.append(m)
            }
        }
    }
}

extension BlockMeta.Compaction {
    fileprivate init(members: [JSONMember], decoder d: inout MetaDecoder) throws(TSDBError) {
        self.init()
        for m in members {
            let path = "compaction." + m.key
            switch m.key {
            case "level": level = Int(try d.int(m.value, path: path, at: m.offset) ?? 0)
            case "sources":
                sources = []
                for (i, e) in (try d.optionalArray(m.value, path: path, at: m.offset) ?? []).enumerated() {
                    // Go decodes null into a ULID as a no-op: the zero ULID.
                    sources.append(try d.ulid(e, path: "\(path)[\(i)]", at: m.offset) ?? ULID(high: 0, low: 0))
                }
            case "deletable": deletable = try d.bool(m.value, path: path, at: m.offset) ?? false
            case "parents":
                parents = []
                for (i, e) in (try d.optionalArray(m.value, path: path, at: m.offset) ?? []).enumerated() {
                    let p = "\(path)[\(i)]"
                    let fields = try d.optionalObject(e, path: p, at: m.offset) ?? []
                    var desc = BlockMeta.BlockDescription(ulid: ULID(high: 0, low: 0), minTime: 0, maxTime: 0)
                    for f in fields {
                        switch f.key {
                        case "ulid": desc.ulid = try d.ulid(f.value, path: p + ".ulid", at: f.offset) ?? desc.ulid
                        case "minTime": desc.minTime = try d.int(f.value, path: p + ".minTime", at: f.offset) ?? 0
                        case "maxTime": desc.maxTime = try d.int(f.value, path: p + ".maxTime", at: f.offset) ?? 0
                        default: desc.unknownMembers.append(f)
                        }
                    }
                    parents.append(desc)
                }
            case "failed": failed = try d.bool(m.value, path: path, at: m.offset) ?? false
            case "hints":
                hints = []
                for (i, e) in (try d.optionalArray(m.value, path: path, at: m.offset) ?? []).enumerated() {
                    switch e {
                    case .string(let s): hints.append(s)
                    case .null: hints.append("")  // Go decodes null into a string as no-op: ""
                    default: throw d.error("\(path)[\(i)]: expected a string, found \(MetaDecoder.kind(e))", at: m.offset)
                    }
                }
            default: unknownMembers.append(m)
            }
        }
    }
}

/// Type checks with Go's rules: `int64`/`int`/`uint64` accept only integer literals in
/// range (no fraction, no exponent); `null` means "leave the zero value".
private struct MetaDecoder {
    let file: String?

    /// `at`: the offset of the value at fault (0, the start, for a missing member).
    func error(_ what: String, at offset: Int = 0) -> TSDBError {
        .corruption("meta.json: " + what, file: file, offset: offset)
    }

    static func kind(_ v: JSONValue) -> String {
        switch v {
        case .object: "an object"
        case .array: "an array"
        case .string(let s): "the string \"\(s.prefix(40))\""
        case .number(let n): "the number \(n.prefix(40))"
        case .bool(let b): "\(b)"
        case .null: "null"
        }
    }

    func object(_ v: JSONValue, path: String, at offset: Int = 0) throws(TSDBError) -> [JSONMember] {
        guard case .object(let m) = v else { throw error("expected a JSON object at the top level, found \(Self.kind(v))") }
        return m
    }

    func optionalObject(_ v: JSONValue, path: String, at offset: Int = 0) throws(TSDBError) -> [JSONMember]? {
        switch v {
        case .object(let m): return m
        case .null: return nil
        default: throw error("\(path): expected an object, found \(Self.kind(v))", at: offset)
        }
    }

    func optionalArray(_ v: JSONValue, path: String, at offset: Int = 0) throws(TSDBError) -> [JSONValue]? {
        switch v {
        case .array(let a): return a
        case .null: return nil
        default: throw error("\(path): expected an array, found \(Self.kind(v))", at: offset)
        }
    }

    func int(_ v: JSONValue, path: String, at offset: Int = 0) throws(TSDBError) -> Int64? {
        switch v {
        case .number(let text):
            guard let n = Int64(text) else { throw error("\(path): expected a 64-bit integer, found \(Self.kind(v))", at: offset) }
            return n
        case .null: return nil
        default: throw error("\(path): expected a 64-bit integer, found \(Self.kind(v))", at: offset)
        }
    }

    func uint(_ v: JSONValue, path: String, at offset: Int = 0) throws(TSDBError) -> UInt64? {
        switch v {
        case .number(let text):
            guard !text.hasPrefix("-"), let n = UInt64(text) else {
                throw error("\(path): expected an unsigned 64-bit integer, found \(Self.kind(v))", at: offset)
            }
            return n
        case .null: return nil
        default: throw error("\(path): expected an unsigned 64-bit integer, found \(Self.kind(v))", at: offset)
        }
    }

    func bool(_ v: JSONValue, path: String, at offset: Int = 0) throws(TSDBError) -> Bool? {
        switch v {
        case .bool(let b): return b
        case .null: return nil
        default: throw error("\(path): expected true or false, found \(Self.kind(v))", at: offset)
        }
    }

    func ulid(_ v: JSONValue, path: String, at offset: Int = 0) throws(TSDBError) -> ULID? {
        switch v {
        case .string(let s):
            guard let id = ULID(s) else {
                throw error("\(path): \"\(s.prefix(40))\" is not a ULID (26 characters of 0-9 A-Z without I L O U, first at most 7)", at: offset)
            }
            return id
        case .null: return nil
        default: throw error("\(path): expected a ULID string, found \(Self.kind(v))", at: offset)
        }
    }
}
