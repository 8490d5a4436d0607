/// Type checking as Prometheus's checkAST does it, run while parsing: the first type error is
/// kept and reported only if the query has no syntax error, as Prometheus reports it.
extension Parser {
    static func type(of e: Expr) -> ValueType {
        switch e {
        case .number: .scalar
        case .string: .string
        case .vectorSelector, .aggregate: .vector
        case .matrixSelector, .subquery: .matrix
        case .unary(_, let inner), .paren(let inner): type(of: inner)
        case let .binary(_, l, r, _, _): type(of: l) == .scalar && type(of: r) == .scalar ? .scalar : .vector
        case .call(let f, _): f.returnType
        }
    }

    mutating func typeError(_ message: String, at position: Int) {
        if firstTypeError == nil { firstTypeError = error(message, at: position) }
    }

    mutating func expectType(_ e: Expr, at position: Int, _ want: ValueType, _ context: String) {
        let t = Self.type(of: e)
        if t != want {
            typeError("expected type \(want.documentedName) in \(context), got \(t.documentedName)", at: position)
        }
    }

    mutating func checkBinary(_ op: BinaryOperator, _ lhs: Expr, lhsStart: Int, _ rhs: Expr, rhsStart: Int,
                              matching: VectorMatching, returnBool: Bool, opPosition: Int) {
        let lt = Self.type(of: lhs), rt = Self.type(of: rhs)
        if returnBool && !op.isComparison {
            typeError("bool modifier can only be used on comparison operators", at: opPosition)
        }
        if op.isComparison && !returnBool && lt == .scalar && rt == .scalar {
            typeError("comparisons between scalars must use BOOL modifier", at: opPosition)
        }
        if matching.on {
            for l in matching.matchingLabels where matching.include.contains(l) {
                typeError("label \(goQuote(l)) must not occur in ON and GROUP clause at once", at: opPosition)
            }
        }
        if lt != .scalar && lt != .vector {
            typeError("binary expression must contain only scalar and instant vector types", at: lhsStart)
        }
        if rt != .scalar && rt != .vector {
            typeError("binary expression must contain only scalar and instant vector types", at: rhsStart)
        }
        if lt != .vector || rt != .vector {
            if !matching.matchingLabels.isEmpty {
                typeError("vector matching only allowed between instant vectors", at: lhsStart)
            }
        } else if op.isSetOperator {
            if matching.cardinality == .oneToMany || matching.cardinality == .manyToOne {
                typeError("no grouping allowed for \(goQuote(op.rawValue)) operation", at: lhsStart)
            }
        }
        if (lt == .scalar || rt == .scalar) && op.isSetOperator {
            typeError("set operator \(goQuote(op.rawValue)) not allowed in binary scalar expression", at: lhsStart)
        }
    }

    mutating func checkCall(_ f: PromQLFunction, _ args: [Expr], starts: [Int], at position: Int) {
        let n = f.argumentTypes.count
        if f.variadic == 0 {
            if n != args.count {
                typeError("expected \(n) argument(s) in call to \(goQuote(f.name)), got \(args.count)", at: position)
            }
        } else if n - 1 > args.count {
            typeError("expected at least \(n - 1) argument(s) in call to \(goQuote(f.name)), got \(args.count)", at: position)
        } else if f.variadic > 0 && n - 1 + f.variadic < args.count {
            typeError("expected at most \(n - 1 + f.variadic) argument(s) in call to \(goQuote(f.name)), got \(args.count)", at: position)
        }
        for (i, arg) in args.enumerated() {
            if i >= n && f.variadic == 0 { break }
            expectType(arg, at: starts[i], f.argumentTypes[min(i, n - 1)], "call to function \(goQuote(f.name))")
        }
    }
}
