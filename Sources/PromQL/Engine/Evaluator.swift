import TSDB

// Placeholder while the evaluator is written.
struct Evaluator {
    init(storage: some PromQLQueryable, options: PromQLEngine.Options, start: Int64, end: Int64, step: Int64,
         cancellation: PromQLCancellation?) {}
    mutating func run(_ expr: Expr, instant: Bool) throws(PromQLError) -> PromQLResult {
        throw PromQLError(.execution, "not implemented yet")
    }
}
