import TSDB

/// Conversions between prompb messages and the engine's ``Labels`` and ``Matcher``, shared by
/// the remote-write receiver, remote read and the sender.
public enum RemoteConversion {
    /// Why a series' labels were refused.
    public struct LabelError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The engine's labels for prompb `labels`, which remote write 1.0 requires sorted by name
    /// with unique names. Labels with an empty value are dropped (as the head does).
    /// Rejects (rather than re-sorts) unsorted or duplicate names, invalid names, and a name
    /// or value longer than `maxLabelBytes`.
    /// Cost: one array of the labels; the strings are shared with the message.
    public static func labels(_ labels: [Prometheus_Label], maxLabelBytes: Int = .max) throws(LabelError) -> Labels {
        try Self.labels(pairs: labels.map { ($0.name, $0.value) }, maxLabelBytes: maxLabelBytes)
    }

    /// The engine's labels for (name, value) pairs in the order a request carries them,
    /// checked as ``labels(_:maxLabelBytes:)`` says.
    public static func labels(pairs: [(String, String)], maxLabelBytes: Int = .max) throws(LabelError) -> Labels {
        var out: [Label] = []
        out.reserveCapacity(pairs.count)
        var previous: String? = nil
        for (name, value) in pairs {
            guard name.utf8.count <= maxLabelBytes else {
                throw LabelError(description: "label name of \(name.utf8.count) bytes exceeds the limit of \(maxLabelBytes) bytes")
            }
            guard value.utf8.count <= maxLabelBytes else {
                throw LabelError(description: "value of label \(quote(name)) has \(value.utf8.count) bytes, over the limit of \(maxLabelBytes) bytes")
            }
            guard Labels.isValidName(name) else {
                throw LabelError(description: "invalid label name: \(quote(name))")
            }
            if let previous {
                let order = compareBytes(previous, name)
                if order == 0 { throw LabelError(description: "duplicate label with name: \(name)") }
                if order > 0 {
                    throw LabelError(description: "labels are not sorted by name: \(quote(name)) follows \(quote(previous))")
                }
            }
            previous = name
            if !value.isEmpty { out.append(Label(name: name, value: value)) }
        }
        guard !out.isEmpty else { throw LabelError(description: "empty labelset") }
        return Labels(uncheckedSorted: out)
    }

    /// prompb labels for `labels` (already sorted).
    public static func protoLabels(_ labels: Labels) -> [Prometheus_Label] {
        labels.map { l in
            var p = Prometheus_Label()
            p.name = l.name
            p.value = l.value
            return p
        }
    }

    /// The engine's matchers for prompb matchers, as Prometheus's `FromLabelMatchers`.
    public static func matchers(_ matchers: [Prometheus_LabelMatcher]) throws(TSDBError) -> [Matcher] {
        var out: [Matcher] = []
        out.reserveCapacity(matchers.count)
        for m in matchers {
            let kind: Matcher.Kind
            switch m.type {
            case .eq: kind = .equal
            case .neq: kind = .notEqual
            case .re: kind = .regexMatch
            case .nre: kind = .regexNoMatch
            case .UNRECOGNIZED: throw TSDBError(.invalidMatcher, "invalid matcher type")
            }
            out.append(try Matcher(kind, m.name, m.value))
        }
        return out
    }

    /// prompb matchers for the engine's.
    public static func protoMatchers(_ matchers: [Matcher]) -> [Prometheus_LabelMatcher] {
        matchers.map { m in
            var p = Prometheus_LabelMatcher()
            p.name = m.name
            p.value = m.value
            switch m.kind {
            case .equal: p.type = .eq
            case .notEqual: p.type = .neq
            case .regexMatch: p.type = .re
            case .regexNoMatch: p.type = .nre
            }
            return p
        }
    }

    private static func compareBytes(_ a: String, _ b: String) -> Int {
        var i = a.utf8.makeIterator()
        var j = b.utf8.makeIterator()
        while true {
            switch (i.next(), j.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case let (x?, y?): if x != y { return x < y ? -1 : 1 }
            }
        }
    }

    private static func quote(_ s: String) -> String { "\"" + s + "\"" }
}
