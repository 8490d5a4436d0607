import Exposition
import TSDB

/// A binary operator, with Prometheus's precedence (1 lowest).
public enum BinaryOperator: String, Sendable, Hashable {
    case or, and, unless, equal = "==", notEqual = "!=", lessEqual = "<=", less = "<"
    case greaterEqual = ">=", greater = ">", add = "+", sub = "-", mul = "*", div = "/", mod = "%"
    case atan2, pow = "^"

    var precedence: Int {
        switch self {
        case .or: 1
        case .and, .unless: 2
        case .equal, .notEqual, .lessEqual, .less, .greaterEqual, .greater: 3
        case .add, .sub: 4
        case .mul, .div, .mod, .atan2: 5
        case .pow: 6
        }
    }
    public var isComparison: Bool { precedence == 3 }
    public var isSetOperator: Bool { self == .and || self == .or || self == .unless }
}

/// How a binary operation between two vectors matches their elements.
public struct VectorMatching: Sendable, Hashable {
    public enum Cardinality: Sendable, Hashable { case oneToOne, manyToOne, oneToMany, manyToMany }
    public var cardinality: Cardinality = .oneToOne
    public var matchingLabels: [String] = []
    /// `on(...)` rather than `ignoring(...)`.
    public var on = false
    /// The labels of `group_left(...)` / `group_right(...)`.
    public var include: [String] = []
}

/// `@ <timestamp>`, `@ start()` or `@ end()`.
public enum AtModifier: Sendable, Hashable {
    case timestamp(milliseconds: Int64), start, end
}

/// A PromQL expression as Prometheus 2.42's parser builds it. `description` is
/// Prometheus's canonical `String()` form.
public indirect enum Expr: Sendable, Hashable, CustomStringConvertible {
    case number(Double)
    case string(String)
    /// A metric name (may be empty), the matchers (including the name's), an offset in ms and @.
    case vectorSelector(name: String, matchers: [Matcher], offset: Int64, at: AtModifier?)
    /// A vector selector with a range in ms.
    case matrixSelector(Expr, range: Int64)
    case subquery(Expr, range: Int64, step: Int64, offset: Int64, at: AtModifier?)
    case unary(negative: Bool, Expr)
    case binary(BinaryOperator, Expr, Expr, matching: VectorMatching, returnBool: Bool)
    case aggregate(op: String, Expr, parameter: Expr?, grouping: [String], without: Bool)
    case call(PromQLFunction, [Expr])
    case paren(Expr)

    public var description: String {
        switch self {
        case .number(let v): return GoFormat.float(v)
        case .string(let s): return goQuote(s)
        case let .vectorSelector(name, matchers, offset, at):
            let shown = matchers.filter { !($0.name == "__name__" && $0.kind == .equal && $0.value == name) }
                .map { "\($0.name)\($0.kind.rawValue)\(goQuote($0.value))" }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            let body = shown.isEmpty ? name : "\(name){\(shown.joined(separator: ","))}"
            return body + Self.suffix(offset: offset, at: at)
        case let .matrixSelector(inner, range):
            if case let .vectorSelector(name, matchers, offset, at) = inner {
                let bare = Expr.vectorSelector(name: name, matchers: matchers, offset: 0, at: nil)
                return "\(bare)[\(PromQLDuration.format(milliseconds: range))]" + Self.suffix(offset: offset, at: at)
            }
            return "\(inner)[\(PromQLDuration.format(milliseconds: range))]"
        case let .subquery(inner, range, step, offset, at):
            let s = step == 0 ? "" : PromQLDuration.format(milliseconds: step)
            return "\(inner)[\(PromQLDuration.format(milliseconds: range)):\(s)]" + Self.suffix(offset: offset, at: at)
        case let .unary(negative, inner): return (negative ? "-" : "+") + inner.description
        case let .binary(op, lhs, rhs, m, returnBool):
            var matching = ""
            if !m.matchingLabels.isEmpty || m.on {
                matching = " \(m.on ? "on" : "ignoring") (\(m.matchingLabels.joined(separator: ", ")))"
                if m.cardinality == .manyToOne || m.cardinality == .oneToMany {
                    matching += " group_\(m.cardinality == .manyToOne ? "left" : "right") (\(m.include.joined(separator: ", ")))"
                }
            }
            return "\(lhs) \(op.rawValue)\(returnBool ? " bool" : "")\(matching) \(rhs)"
        case let .aggregate(op, inner, parameter, grouping, without):
            var s = op
            if without { s += " without (\(grouping.joined(separator: ", "))) " }
            else if !grouping.isEmpty { s += " by (\(grouping.joined(separator: ", "))) " }
            s += "("
            if let parameter { s += "\(parameter), " }
            return s + "\(inner))"
        case let .call(f, args): return "\(f.name)(\(args.map(\.description).joined(separator: ", ")))"
        case .paren(let inner): return "(\(inner))"
        }
    }

    static func suffix(offset: Int64, at: AtModifier?) -> String {
        var s = ""
        switch at {
        case .timestamp(let ms)?:
            let a = ms.magnitude
            let frac = String(a % 1000)
            s = " @ " + (ms < 0 ? "-" : "") + "\(a / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
        case .start?: s = " @ start()"
        case .end?: s = " @ end()"
        case nil: break
        }
        if offset > 0 { s += " offset \(PromQLDuration.format(milliseconds: offset))" }
        if offset < 0 { s += " offset -\(PromQLDuration.format(milliseconds: -offset))" }
        return s
    }
}
