/// Go's `math` functions where glibc's results differ from the ones Prometheus 2.42 gives on
/// x86-64 (its `Log` and `Exp` are assembly there): ported so that results agree bit for bit.
enum GoMath {
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

    /// Go's amd64 `archExp` (Shibata's method), on its FMA path, which Go takes on CPUs with
    /// AVX2 and FMA (every x86-64 server of the last decade).
    static func exp(_ x: Double) -> Double {
        let log2e = 1.4426950408889634073599246810018920
        let ln2U = 0.69314718055966295651160180568695068359375
        let ln2L = 0.28235290563031577122588448175013436025525412068e-12
        if !x.isFinite { return x == -.infinity ? 0 : x }
        if x > 7.09782712893384e+02 { return .infinity }
        // CVTSD2SL: round to nearest even; out of int32 range gives int32's minimum.
        let t = (log2e * x).rounded(.toNearestOrEven)
        let k: Int32 = t >= -2_147_483_648.0 && t <= 2_147_483_647.0 ? Int32(t) : .min
        let kd = Double(k)
        var r = x.addingProduct(-kd, ln2U)
        r = r.addingProduct(-kd, ln2L)
        r *= 0.0625
        var p = 2.4801587301587301587e-5
        p = 1.9841269841269841270e-4.addingProduct(p, r)
        p = 1.3888888888888888889e-3.addingProduct(p, r)
        p = 8.3333333333333333333e-3.addingProduct(p, r)
        p = 4.1666666666666666667e-2.addingProduct(p, r)
        p = 1.6666666666666666667e-1.addingProduct(p, r)
        p = 0.5.addingProduct(p, r)
        p = 1.0.addingProduct(p, r)
        r *= p
        for _ in 0..<3 {
            r *= r + 2
        }
        r = 1.0.addingProduct(r, r + 2)

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
