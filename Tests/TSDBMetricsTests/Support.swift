import CoreMetrics
import PromQL
import Testing
import TSDB
import TSDBMetrics
import TSDBTestSupport

/// A database in a temporary directory with a factory over it; timestamps are free (no
/// future limit), and there is no background compaction.
final class MetricsFixture {
    let dir: TemporaryDirectory
    let db: DB
    let factory: TSDBMetricsFactory

    init(_ configure: (inout TSDBMetricsFactory.Options) -> Void = { _ in }) throws {
        dir = try TemporaryDirectory("tsdb-metrics")
        var dbOptions = Options()
        dbOptions.maxFutureSkew = nil
        dbOptions.compactionEnabled = false
        db = try DB.open(directory: dir.path, options: dbOptions)
        var options = TSDBMetricsFactory.Options()
        configure(&options)
        factory = try TSDBMetricsFactory(db: db, options: options)
    }

    deinit {
        try? db.close()
        dir.remove()
    }

    /// `series → value` of an instant query's vector, series printed as ``Labels`` prints them.
    func vector(_ query: String, at time: Int64) throws -> [String: Double] {
        let result = try PromQLEngine().instantQuery(db, query, at: time)
        guard case .vector(let samples) = result else {
            Issue.record("\(query) gave a \(result.typeName), not a vector")
            return [:]
        }
        return Dictionary(samples.map { ($0.labels.description, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    /// The single value of an instant query that should give one series.
    func value(_ query: String, at time: Int64) throws -> Double? {
        let v = try vector(query, at: time)
        #expect(v.count <= 1, "\(query) gave \(v)")
        return v.values.first
    }

    /// Every stored sample of every series, by series.
    func raw(minTime: Int64 = .min / 4, maxTime: Int64 = .max / 4) throws -> [Labels: [Sample]] {
        var out: [Labels: [Sample]] = [:]
        for series in try db.querier(minTime: minTime, maxTime: maxTime).select(#"{__name__=~".+"}"#) {
            out[series.labels] = series.samples
        }
        return out
    }
}

func isStaleMarker(_ v: Double) -> Bool { v.bitPattern == TSDBMetricsFactory.staleNaN.bitPattern }
