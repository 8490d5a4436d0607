import Foundation
import PromQL
import TSDB

extension PrometheusAPI {
    /// `parseMatchersParam`: each `match[]` as a metric selector.
    static func parseMatchers(_ texts: [String]) -> Result<[[Matcher]], ParamError> {
        var sets: [[Matcher]] = []
        for text in texts {
            switch parseMetricSelector(text) {
            case .success(let m): sets.append(m)
            case .failure(let e): return .failure(e)
            }
        }
        for set in sets where !set.contains(where: { !$0.matches("") }) {
            return .failure(.message("match[] must contain at least one non-empty matcher"))
        }
        return .success(sets)
    }

    /// `parser.ParseMetricSelector`: a vector selector without offset, @ or range.
    static func parseMetricSelector(_ text: String) -> Result<[Matcher], ParamError> {
        let expr: Expr
        do throws(PromQLParseError) { expr = try PromQLParser.parse(text) } catch {
            // ParseMetricSelector leaves this check to the API, which words it its own way.
            if error.message == "vector selector must contain at least one non-empty matcher" {
                return .failure(.message("match[] must contain at least one non-empty matcher"))
            }
            return .failure(.message(error.description))
        }
        if case let .vectorSelector(_, matchers, offset, at) = expr, offset == 0, at == nil {
            return .success(matchers)
        }
        return .failure(.message("1:1: parse error: expected a metric selector, got \(goQuote(text))"))
    }

    static func sortedByBytes(_ values: some Sequence<String>) -> [String] {
        values.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// `start`, `end` and `match[]` of the label endpoints, or the error answer.
    func rangeAndMatchers(_ form: FormValues) -> Result<((Int64, Int64), [[Matcher]]), APIResponse> {
        switch timeRange(form) {
        case .failure(let r): return .failure(r)
        case .success(let range):
            switch Self.parseMatchers(form.all("match[]")) {
            case .success(let sets): return .success((range, sets))
            case .failure(let e): return .failure(.error(.badData, e.text))
            }
        }
    }

    func timeRange(_ form: FormValues) -> Result<(Int64, Int64), APIResponse> {
        let start: GoTime, end: GoTime
        do { start = try TimeParsing.parseTimeParam(form, "start", default: .minTime) } catch {
            return .failure(.invalidParameter("start", error.text))
        }
        do { end = try TimeParsing.parseTimeParam(form, "end", default: .maxTime) } catch {
            return .failure(.invalidParameter("end", error.text))
        }
        return .success((start.milliseconds, end.milliseconds))
    }

    /// A querier over the range, or nil when the range is empty (Prometheus answers nothing).
    func querier(_ range: (Int64, Int64)) throws(TSDBError) -> Querier? {
        guard range.0 <= range.1 else { return nil }
        return try db.querier(minTime: range.0, maxTime: range.1)
    }

    func labelNames(_ form: FormValues) async -> APIResponse {
        let range: (Int64, Int64), sets: [[Matcher]]
        switch rangeAndMatchers(form) {
        case .success(let r): (range, sets) = r
        case .failure(let r): return r
        }
        let answer = { @Sendable [self] () -> APIResponse in
            do {
                guard let q = try querier(range) else { return .success { $0.raw("[]") } }
                var names: [String]
                if sets.isEmpty {
                    names = try q.labelNames()
                } else {
                    var all = Set<String>()
                    for set in sets { all.formUnion(try q.labelNames(matching: set)) }
                    names = Self.sortedByBytes(all)
                }
                return .success { $0.stringArray(names) }
            } catch {
                return .error(.execution, "\(error)")
            }
        }
        // Without matchers the names come from memory (kept by each block since open, and
        // few in the head): answered in place, without the hop to another thread.
        if sets.isEmpty { return answer() }
        return await runBlocking(answer)
    }

    func labelValues(_ form: FormValues, name: String) async -> APIResponse {
        guard Labels.isValidName(name) else { return .error(.badData, "invalid label name: \(goQuote(name))") }
        let range: (Int64, Int64), sets: [[Matcher]]
        switch rangeAndMatchers(form) {
        case .success(let r): (range, sets) = r
        case .failure(let r): return r
        }
        return await runBlocking { [self] () -> APIResponse in
            do {
                guard let q = try querier(range) else { return .success { $0.raw("[]") } }
                var values: [String]
                if sets.isEmpty {
                    values = try q.labelValues(name)
                } else {
                    var all = Set<String>()
                    for set in sets { all.formUnion(try q.labelValues(name, matching: set)) }
                    values = Self.sortedByBytes(all)
                }
                return .success { $0.stringArray(values) }
            } catch {
                return .error(.execution, "\(error)")
            }
        }
    }

    func series(_ form: FormValues) async -> APIResponse {
        if let e = form.error { return .error(.badData, "error parsing form values: \(e)") }
        let texts = form.all("match[]")
        if texts.isEmpty { return .error(.badData, "no match[] parameter provided") }
        let range: (Int64, Int64)
        switch timeRange(form) {
        case .success(let r): range = r
        case .failure(let r): return r
        }
        let sets: [[Matcher]]
        switch Self.parseMatchers(texts) {
        case .success(let s): sets = s
        case .failure(let e): return .invalidParameter("match[]", e.text)
        }
        return await runBlocking { [self] () -> APIResponse in
            do {
                guard let q = try querier(range) else { return .success { $0.raw("[]") } }
                var result: [Labels]
                if sets.count == 1 {
                    result = try q.select(sets[0]).map(\.labels)
                } else {
                    var seen = Set<Labels>()
                    for set in sets { for s in try q.select(set) { seen.insert(s.labels) } }
                    result = seen.sorted()
                }
                return .success { w in
                    w.byte(0x5B)
                    for (i, l) in result.enumerated() {
                        if i > 0 { w.byte(0x2C) }
                        w.labels(l)
                    }
                    w.byte(0x5D)
                }
            } catch {
                return .error(.execution, "\(error)")
            }
        }
    }

    // MARK: Admin

    func deleteSeries(_ form: FormValues) async -> APIResponse {
        guard configuration.enableAdminAPI else { return .error(.unavailable, "admin APIs disabled") }
        if let e = form.error { return .error(.badData, "error parsing form values: \(e)") }
        let texts = form.all("match[]")
        if texts.isEmpty { return .error(.badData, "no match[] parameter provided") }
        let range: (Int64, Int64)
        switch timeRange(form) {
        case .success(let r): range = r
        case .failure(let r): return r
        }
        var sets: [[Matcher]] = []
        for t in texts {
            switch Self.parseMetricSelector(t) {
            case .success(let m): sets.append(m)
            case .failure(let e): return .invalidParameter("match[]", e.text)
            }
        }
        return await runBlocking { [self, sets] () -> APIResponse in
            for set in sets {
                do { try db.delete(set, minTime: range.0, maxTime: range.1) } catch {
                    return .error(.internal, "\(error)")
                }
            }
            return .noContent
        }
    }

    func cleanTombstones() async -> APIResponse {
        guard configuration.enableAdminAPI else { return .error(.unavailable, "admin APIs disabled") }
        return await runBlocking { [self] () -> APIResponse in
            do { _ = try db.cleanTombstones() } catch { return .error(.internal, "\(error)") }
            return .noContent
        }
    }

    func snapshot(_ form: FormValues) async -> APIResponse {
        guard configuration.enableAdminAPI else { return .error(.unavailable, "admin APIs disabled") }
        var skipHead = false
        let text = form.first("skip_head")
        if !text.isEmpty {
            switch text {
            case "1", "t", "T", "TRUE", "true", "True": skipHead = true
            case "0", "f", "F", "FALSE", "false", "False": skipHead = false
            default:
                return .invalidParameter("skip_head", "unable to parse boolean: strconv.ParseBool: parsing \(goQuote(text)): invalid syntax")
            }
        }
        let now = GoTime.now()
        let stamp = TimeParsing.formatRFC3339(GoTime(seconds: now.seconds, nanoseconds: 0))
            .replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        let random = UInt64.random(in: 0...UInt64(Int64.max))
        let hex = String(random, radix: 16)
        let name = stamp + "-" + String(repeating: "0", count: Swift.max(0, 16 - hex.count)) + hex
        let snapshots = (db.directory as NSString).appendingPathComponent("snapshots")
        let dir = (snapshots as NSString).appendingPathComponent(name)
        // The engine writes snapshots outside its directory only: write beside it, then
        // move the finished copy into <data>/snapshots as Prometheus lays it out.
        let parent = ((db.directory as NSString).standardizingPath as NSString).deletingLastPathComponent
        let staging = (parent as NSString).appendingPathComponent(".tsdb-snapshot-" + name)
        return await runBlocking { [self, skipHead] () -> APIResponse in
            let fm = FileManager.default
            do {
                try fm.createDirectory(atPath: snapshots, withIntermediateDirectories: true)
                try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
            } catch {
                return .error(.internal, "create snapshot directory: \(error.localizedDescription)")
            }
            do { _ = try db.snapshot(to: staging, includeHead: !skipHead) } catch {
                try? fm.removeItem(atPath: staging)
                return .error(.internal, "create snapshot: \(error)")
            }
            do { try fm.moveItem(atPath: staging, toPath: dir) } catch {
                try? fm.removeItem(atPath: staging)
                return .error(.internal, "create snapshot: \(error.localizedDescription)")
            }
            return .success { w in
                w.raw(#"{"name":"#)
                w.string(name)
                w.byte(0x7D)
            }
        }
    }
}
