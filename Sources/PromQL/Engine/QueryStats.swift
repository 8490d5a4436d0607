import Synchronization

/// What a query read, as Prometheus 2.42 reports it under `stats=all`: pass one to a query
/// and read it when the query returns.
///
/// `totalQueryableSamples` counts what the selectors read, as Prometheus's engine does:
/// one per series and step an instant selector finds a sample for; for a range function,
/// the samples in each series' window at each step where the window is not empty; for an
/// instant query whose top level is a range selector, its points; for one whose top level
/// is a subquery, what the subquery's expression read. What a subquery under a function
/// reads is not counted, only the points of its result in each window.
///
/// `peakSamples` is the most points the evaluation held at once: results, what
/// `--query.max-samples` limits, and the samples of the series a range function reads. It
/// is this engine's own figure: Prometheus's depends on its evaluation order.
public final class PromQLQueryStats: Sendable {
    struct State {
        var total: Int64 = 0
        var perStep: [Int64]?
        var stepStart: Int64 = 0
        var stepInterval: Int64 = 1
        var peak = 0
    }

    /// Whether ``totalQueryableSamplesPerStep`` is kept (Prometheus's `promql-per-step-stats`).
    public let perStep: Bool
    let state = Mutex(State())

    public init(perStep: Bool = false) {
        self.perStep = perStep
    }

    public var totalQueryableSamples: Int64 { state.withLock { $0.total } }

    public var peakSamples: Int { state.withLock { $0.peak } }

    /// Each step's time (milliseconds) and the samples read for it; nil unless ``perStep``.
    public var totalQueryableSamplesPerStep: [(timestamp: Int64, samples: Int64)]? {
        state.withLock { s in
            s.perStep.map { counts in
                counts.indices.map { (timestamp: s.stepStart &+ Int64($0) &* s.stepInterval, samples: counts[$0]) }
            }
        }
    }

    /// Starts counting for a query over `grid` (Prometheus's `InitStepTracking`).
    func begin(_ grid: Grid) {
        state.withLock { s in
            s.total = 0
            s.peak = 0
            s.stepStart = grid.start
            s.stepInterval = grid.count > 1 ? grid.interval : 1
            s.perStep = perStep ? [Int64](repeating: 0, count: grid.count) : nil
        }
    }

    func updatePeak(_ held: Int) {
        state.withLock { s in if held > s.peak { s.peak = held } }
    }
}

/// Where an evaluator adds what its selectors read: the query's stats, a subquery's own
/// tally, or nowhere. Parts running on several threads count locally and add once.
final class SampleCounter: Sendable {
    private struct Tally {
        var total: Int64 = 0
        var perStep: [Int64]?
    }

    private let tally: Mutex<Tally>
    /// Where the counts go as well, and the peak: the query's stats, nil for a subquery's tally.
    let stats: PromQLQueryStats?
    let steps: Int

    /// Counts into `stats`, per step of `grid` when it keeps steps.
    init(stats: PromQLQueryStats, grid: Grid) {
        self.stats = stats
        steps = stats.perStep ? grid.count : 0
        tally = Mutex(Tally())
        stats.begin(grid)
    }

    /// A subquery's own tally: a total only.
    init() {
        stats = nil
        steps = 0
        tally = Mutex(Tally())
    }

    /// Whether counts at each step are wanted, so that parts keep an array of them.
    var keepsSteps: Bool { steps > 0 }

    var total: Int64 { tally.withLock { $0.total } }

    /// Adds `n` samples read at `step`.
    func add(_ n: Int64, atStep step: Int) {
        guard n != 0 else { return }
        if let stats {
            stats.state.withLock { s in
                s.total &+= n
                if s.perStep != nil, step < s.perStep!.count { s.perStep![step] &+= n }
            }
        } else {
            tally.withLock { $0.total &+= n }
        }
    }

    /// Adds a part's counts: its total and, when kept, its counts per step.
    func add(total: Int64, perStep: [Int64]?) {
        guard total != 0 else { return }
        if let stats {
            stats.state.withLock { s in
                s.total &+= total
                if let counts = perStep, s.perStep != nil, counts.count == s.perStep!.count {
                    for i in counts.indices where counts[i] != 0 { s.perStep![i] &+= counts[i] }
                }
            }
        } else {
            tally.withLock { $0.total &+= total }
        }
    }
}
