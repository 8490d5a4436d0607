/// Entry points for the micro-benchmarks in `Benchmarks/`, which see the library's public API
/// plus this SPI: postings set algebra and series lookups in a block's index.
@_spi(Benchmarks) public enum IndexBenchmarkSupport {
    /// ``Postings/intersect(_:)``.
    public static func intersect(_ lists: [[UInt64]]) -> [UInt64] { Postings.intersect(lists) }
    /// ``Postings/merge(_:)``.
    public static func merge(_ lists: [[UInt64]]) -> [UInt64] { Postings.merge(lists) }

    /// A block's `index` file, opened as queries open it.
    public final class Index {
        private let reader: IndexReader

        public init(path: String) throws(TSDBError) { reader = try IndexReader.open(path: path, sys: .system) }

        /// Every series reference, ascending.
        public func allPostings() throws(TSDBError) -> [UInt64] { try reader.allPostings() }
        /// The postings list of `name="value"`.
        public func postings(_ name: String, _ value: String) throws(TSDBError) -> [UInt64] { try reader.postings(name, value) }
        /// Decodes the series entry at `ref`: labels and chunk metas; returns the chunk count.
        public func series(_ ref: UInt64) throws(TSDBError) -> (labels: Labels, chunkCount: Int) {
            let s = try reader.series(ref)
            return (s.labels, s.chunks.count)
        }
    }
}
