#if canImport(Glibc)
import Glibc
#endif

/// Go's `math` functions where glibc's results differ from the ones Prometheus 2.42 gives on
/// x86-64 (its `Log` and `Exp` are assembly there): ported so that results agree bit for bit.
enum GoMath {
    /// Go's `useFMA` for `Exp`: AVX2 and FMA present. Read from /proc/cpuinfo where there is
    /// one; otherwise assumed (every x86-64 server CPU since 2013 has both).
    static let useFMA: Bool = {
        #if canImport(Glibc)
        guard let file = fopen("/proc/cpuinfo", "r") else { return true }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 8192)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("flags") else { continue }
            let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ":" }))
            return flags.contains("avx2") && flags.contains("fma")
        }
        return true
        #else
        return true
        #endif
    }()

    /// Go's amd64 `archLog` (the FreeBSD algorithm). Unlike the pure-Go version it takes the
    /// exponent straight from the bits, so a subnormal input is read as if its exponent were
    /// -1022 (ln(5e-324) comes out as ≈ -709.09, as in Prometheus).
    static func log(_ x: Double) -> Double {
        let ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10
        let l1 = 6.666666666666735130e-01, l2 = 3.999999999940941908e-01
        let l3 = 2.857142874366239149e-01, l4 = 2.222219843214978396e-01
        let l5 = 1.818357216161805012e-01, l6 = 1.531383769920937332e-01
        let l7 = 1.479819860511658591e-01
        let bits = x.bitPattern
        if bits & ~(1 << 63) == 0 { return -.infinity }
        if Int64(bitPattern: bits) < 0 { return Double(bitPattern: 0x7FF8_0000_0000_0001) }
        if bits >= 0x7FF0_0000_0000_0000 { return x }  // +Inf or NaN

        // f1, k from the bits: x = f1 × 2^k with f1 in [0.5, 1).
        var f1 = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FE0_0000_0000_0000)
        var k = Double(Int((bits >> 52) & 0x7FF) - 0x3FE)
        if !(0.707106781186547524401 < f1) {
            k -= 1
            f1 *= 2
        }
        let f = f1 - 1
        let s = f / (2 + f)
        let s2 = s * s
        let s4 = s2 * s2
        let t1 = s2 * (l1 + s4 * (l3 + s4 * (l5 + s4 * l7)))
        let t2 = s4 * (l2 + s4 * (l4 + s4 * l6))
        let r = t1 + t2
        let hfsq = 0.5 * f * f
        return k * ln2Hi - ((hfsq - (s * (hfsq + r) + k * ln2Lo)) - f)
    }

    /// Go's amd64 `archExp` (Shibata's method), with fused multiply-adds where Go uses them
    /// (CPUs with AVX2 and FMA), plain arithmetic otherwise.
    static func exp(_ x: Double) -> Double {
        exp(x, fused: useFMA)
    }

    /// The Taylor coefficients after the leading 2.4801587301587301587e-5, highest order first.
    private static let expTaylor = [1.9841269841269841270e-4, 1.3888888888888888889e-3, 8.3333333333333333333e-3,
                                    4.1666666666666666667e-2, 1.6666666666666666667e-1, 0.5, 1.0]

    static func exp(_ x: Double, fused: Bool) -> Double {
        let log2e = 1.4426950408889634073599246810018920
        let ln2U = 0.69314718055966295651160180568695068359375
        let ln2L = 0.28235290563031577122588448175013436025525412068e-12
        if !x.isFinite { return x == -.infinity ? 0 : x }
        if x > 7.09782712893384e+02 { return .infinity }
        // CVTSD2SL: round to nearest even; out of int32 range gives int32's minimum.
        let t = (log2e * x).rounded(.toNearestOrEven)
        let k: Int32 = t >= -2_147_483_648.0 && t <= 2_147_483_647.0 ? Int32(t) : .min
        let kd = Double(k)
        let taylor = expTaylor
        var r: Double
        if fused {
            r = x.addingProduct(-kd, ln2U)
            r = r.addingProduct(-kd, ln2L)
            r *= 0.0625
            var p = 2.4801587301587301587e-5
            for c in taylor { p = c.addingProduct(p, r) }
            r *= p
            for _ in 0..<3 { r *= r + 2 }
            r = 1.0.addingProduct(r, r + 2)
        } else {
            r = x - ln2U * kd
            r -= ln2L * kd
            r *= 0.0625
            var p = 2.4801587301587301587e-5
            for c in taylor { p = p * r + c }
            r *= p
            for _ in 0..<4 { r *= 2 + r }
            r += 1.0
        }

        // r × 2^k, through a subnormal scale when the exponent is too small.
        var e = k &+ 0x3FF
        if e <= 0 {
            if e < -52 { return 0 }
            e += 0x3FE
            r *= Double(bitPattern: UInt64(UInt32(bitPattern: e)) << 52)
            e = 1
        } else if e >= 0x7FF {
            return .infinity
        }
        return r * Double(bitPattern: UInt64(UInt32(bitPattern: e)) << 52)
    }
}
