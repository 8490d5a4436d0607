import TSDB

enum Demo {
    /// Prints up to five series matching `selector`, with their sample count and last sample.
    static func printQuery(db: DB, selector: String) throws {
        guard let range = db.headTimeRange else {
            print(">> query \(selector): the database is empty")
            return
        }
        let querier = try db.querier(minTime: range.lowerBound, maxTime: range.upperBound)
        let series = try querier.select(selector)
        print(">> query \(selector) over [\(range.lowerBound), \(range.upperBound)]: \(series.count) series")
        for s in series.prefix(5) {
            var it = s.makeIterator()
            var count = 0
            var last: Sample?
            while let sample = it.next() {
                count += 1
                last = sample
            }
            let tail = last.map { "last \($0.value) @ \($0.timestamp)" } ?? "no samples"
            print("   \(s.labels) \(count) samples, \(tail)")
        }
        if series.count > 5 { print("   … and \(series.count - 5) more") }
    }
}
