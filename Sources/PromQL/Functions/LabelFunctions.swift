import TSDB

// STUB: the functions helper replaces this file. Contract below is fixed.

/// `label_replace(v, dst, replacement, src, regex)`, compiled once per query.
struct LabelReplace: Sendable {
    init(destination: String, replacement: String, source: String, regex: String) throws(PromQLError) {}
    func apply(_ labels: Labels) -> Labels { labels }
}

/// `label_join(v, dst, separator, src...)`, checked once per query.
struct LabelJoin: Sendable {
    init(destination: String, separator: String, sources: [String]) throws(PromQLError) {}
    func apply(_ labels: Labels) -> Labels { labels }
}
