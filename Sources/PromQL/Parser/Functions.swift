/// The type of a PromQL value, as the type checker sees it.
public enum ValueType: String, Sendable, Hashable {
    case none, vector, scalar, matrix, string

    /// The name Prometheus's error messages use: "instant vector", "range vector", …
    public var documentedName: String {
        switch self {
        case .vector: "instant vector"
        case .matrix: "range vector"
        default: rawValue
        }
    }
}

/// A PromQL function's signature. `variadic` is 0 for a fixed count, n for up to n optional
/// trailing arguments of the last type, and -1 for any number.
public struct PromQLFunction: Sendable, Hashable {
    public let name: String
    public let argumentTypes: [ValueType]
    public let variadic: Int
    public let returnType: ValueType

    /// The functions of Prometheus 2.42, by name (including its experimental histogram_* ones,
    /// which its parser accepts).
    public static let all: [String: PromQLFunction] = {
        var table: [String: PromQLFunction] = [:]
        func add(_ name: String, _ args: [ValueType], variadic: Int = 0, returns: ValueType = .vector) {
            table[name] = PromQLFunction(name: name, argumentTypes: args, variadic: variadic, returnType: returns)
        }
        for name in ["abs", "absent", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh",
                     "deg", "exp", "floor", "histogram_count", "histogram_sum", "ln", "log10", "log2", "rad",
                     "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "tan", "tanh", "timestamp"] {
            add(name, [.vector])
        }
        for name in ["absent_over_time", "avg_over_time", "changes", "count_over_time", "delta", "deriv",
                     "idelta", "increase", "irate", "last_over_time", "max_over_time", "min_over_time",
                     "present_over_time", "rate", "resets", "stddev_over_time", "stdvar_over_time",
                     "sum_over_time"] {
            add(name, [.matrix])
        }
        for name in ["days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute",
                     "month", "year"] {
            add(name, [.vector], variadic: 1)
        }
        add("clamp", [.vector, .scalar, .scalar])
        add("clamp_max", [.vector, .scalar])
        add("clamp_min", [.vector, .scalar])
        add("histogram_fraction", [.scalar, .scalar, .vector])
        add("histogram_quantile", [.scalar, .vector])
        add("holt_winters", [.matrix, .scalar, .scalar])
        add("label_replace", [.vector, .string, .string, .string, .string])
        add("label_join", [.vector, .string, .string, .string], variadic: -1)
        add("pi", [], returns: .scalar)
        add("predict_linear", [.matrix, .scalar])
        add("quantile_over_time", [.scalar, .matrix])
        add("round", [.vector, .scalar], variadic: 1)
        add("scalar", [.vector], returns: .scalar)
        add("time", [], returns: .scalar)
        add("vector", [.scalar])
        return table
    }()
}
