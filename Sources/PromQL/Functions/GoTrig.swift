/// Go's pure-Go trigonometric and hyperbolic functions (Cephes and FreeBSD algorithms), which
/// Prometheus uses on x86-64 and which round differently from glibc in the last place for
/// many inputs. Go folds constant expressions such as `Pi/4` exactly before rounding; the
/// literals below are those rounded values.
extension GoMath {
    private static let pi2 = 1.57079632679489661923132169163975144209858469968755
    private static let pi4 = 0.785398163397448309615660845819875721049292349843776
    private static let fourOverPi = 1.27323954473516268615107010698011489627567716592365
    /// Pi/4 in three parts, for the extended-precision reduction.
    private static let pi4A = 7.85398125648498535156e-1
    private static let pi4B = 3.77489470793079817668e-8
    private static let pi4C = 2.69515142907905952645e-15
    /// Above this, Payne-Hanek reduction.
    private static let reduceThreshold: Double = 536_870_912  // 1 << 29

    private static let sinCoefficients: [Double] = [
        1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
        -1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1,
    ]
    private static let cosCoefficients: [Double] = [
        -1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7,
        2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2,
    ]
    /// The binary digits of 4/π, 64 at a time.
    private static let mPi4: [UInt64] = [
        0x0000000000000001, 0x45f306dc9c882a53, 0xf84eafa3ea69bb81, 0xb6c52b3278872083,
        0xfca2c757bd778ac3, 0x6e48dc74849ba5c0, 0x0c925dd413a32439, 0xfc3bd63962534e7d,
        0xd1046bea5d768909, 0xd338e04d68befc82, 0x7323ac7306a673e9, 0x3908bf177bf25076,
        0x3ff12fffbc0b301f, 0xde5e2316b414da3e, 0xda6cfd9e4f96136e, 0x9e8c7ecd3cbfd45a,
        0xea4f758fd7cbe2f6, 0x7a0e73ef14a525d4, 0xd7f6bf623f1aba10, 0xac06608df8f6d757,
    ]

    /// Go's shifts: a count of 64 or more gives 0.
    @inline(__always) private static func shl(_ v: UInt64, _ n: Int) -> UInt64 { n >= 64 || n < 0 ? 0 : v << UInt64(n) }
    @inline(__always) private static func shr(_ v: UInt64, _ n: Int) -> UInt64 { n >= 64 || n < 0 ? 0 : v >> UInt64(n) }

    /// Go's `trigReduce` (Payne-Hanek) for x ≥ 0: the octant (even, mod 8) and the remainder.
    static func trigReduce(_ x: Double) -> (j: UInt64, z: Double) {
        if x < pi4 { return (0, x) }
        var ix = x.bitPattern
        let exp = Int((ix >> 52) & 0x7FF) - 1023 - 52
        ix &= ~(UInt64(0x7FF) << 52)
        ix |= 1 << 52
        let digit = Swift.max(0, Swift.min((exp + 61) / 64, mPi4.count - 4))
        let bitshift = (exp + 61) % 64
        let z0 = shl(mPi4[digit], bitshift) | shr(mPi4[digit + 1], 64 - bitshift)
        let z1 = shl(mPi4[digit + 1], bitshift) | shr(mPi4[digit + 2], 64 - bitshift)
        let z2 = shl(mPi4[digit + 2], bitshift) | shr(mPi4[digit + 3], 64 - bitshift)
        let z2hi = z2.multipliedFullWidth(by: ix).high
        let (z1hi, z1lo) = z1.multipliedFullWidth(by: ix)
        let z0lo = z0 &* ix
        let (lo, carry) = z1lo.addingReportingOverflow(z2hi)
        var hi = z0lo &+ z1hi &+ (carry ? 1 : 0)
        var j = hi >> 61
        hi = hi << 3 | lo >> 61
        let lz = hi.leadingZeroBitCount
        let e = UInt64(truncatingIfNeeded: 1023 - (lz + 1))
        hi = shl(hi, lz + 1) | shr(lo, 64 - (lz + 1))
        hi >>= 64 - 52
        hi |= e << 52
        var z = Double(bitPattern: hi)
        if j & 1 == 1 {
            j += 1
            j &= 7
            z -= 1
        }
        return (j, z * pi4)
    }

    /// The octant and remainder for |x| (x finite, ≥ 0), zeros mapped to the origin.
    private static func reduce(_ x: Double, maskOctant: Bool) -> (j: UInt64, z: Double) {
        if x >= reduceThreshold { return trigReduce(x) }
        var j = UInt64(x * fourOverPi)
        var y = Double(j)
        if j & 1 == 1 {
            j += 1
            y += 1
        }
        if maskOctant { j &= 7 }
        return (j, ((x - y * pi4A) - y * pi4B) - y * pi4C)
    }

    private static func sinPoly(_ z: Double, _ zz: Double) -> Double {
        let s = sinCoefficients
        return z + z * zz * ((((((s[0] * zz) + s[1]) * zz + s[2]) * zz + s[3]) * zz + s[4]) * zz + s[5])
    }

    private static func cosPoly(_ zz: Double) -> Double {
        let c = cosCoefficients
        return 1.0 - 0.5 * zz + zz * zz * ((((((c[0] * zz) + c[1]) * zz + c[2]) * zz + c[3]) * zz + c[4]) * zz + c[5])
    }

    static func sin(_ x: Double) -> Double {
        if x == 0 || x.isNaN { return x }
        if x.isInfinite { return .nan }
        var sign = x < 0
        var (j, z) = reduce(Swift.abs(x), maskOctant: true)
        if j > 3 {
            sign.toggle()
            j -= 4
        }
        let zz = z * z
        let y = j == 1 || j == 2 ? cosPoly(zz) : sinPoly(z, zz)
        return sign ? -y : y
    }

    static func cos(_ x: Double) -> Double {
        if x.isNaN || x.isInfinite { return .nan }
        var sign = false
        var (j, z) = reduce(Swift.abs(x), maskOctant: true)
        if j > 3 {
            j -= 4
            sign.toggle()
        }
        if j > 1 { sign.toggle() }
        let zz = z * z
        let y = j == 1 || j == 2 ? sinPoly(z, zz) : cosPoly(zz)
        return sign ? -y : y
    }

    static func tan(_ x: Double) -> Double {
        let p0 = -1.30936939181383777646e4, p1 = 1.15351664838587416140e6, p2 = -1.79565251976484877988e7
        let q1 = 1.36812963470692954678e4, q2 = -1.32089234440210967447e6
        let q3 = 2.50083801823357915839e7, q4 = -5.38695755929454629881e7
        if x == 0 || x.isNaN { return x }
        if x.isInfinite { return .nan }
        let sign = x < 0
        let (j, z) = reduce(Swift.abs(x), maskOctant: false)
        let zz = z * z
        var y: Double
        if zz > 1e-14 {
            y = z + z * (zz * (((p0 * zz) + p1) * zz + p2) / ((((zz + q1) * zz + q2) * zz + q3) * zz + q4))
        } else {
            y = z
        }
        if j & 2 == 2 { y = -1 / y }
        return sign ? -y : y
    }

    /// Go's `xatan`, a series for [0, 0.66].
    private static func xatan(_ x: Double) -> Double {
        let p0 = -8.750608600031904122785e-01, p1 = -1.615753718733365076637e+01
        let p2 = -7.500855792314704667340e+01, p3 = -1.228866684490136173410e+02
        let p4 = -6.485021904942025371773e+01
        let q0 = 2.485846490142306297962e+01, q1 = 1.650270098316988542046e+02
        let q2 = 4.328810604912902668951e+02, q3 = 4.853903996359136964868e+02
        let q4 = 1.945506571482613964425e+02
        var z = x * x
        z = z * ((((p0 * z + p1) * z + p2) * z + p3) * z + p4) / (((((z + q0) * z + q1) * z + q2) * z + q3) * z + q4)
        return x * z + x
    }

    /// Go's `satan`, for x ≥ 0.
    private static func satan(_ x: Double) -> Double {
        let morebits = 6.123233995736765886130e-17
        let halfMorebits = 3.061616997868382943065e-17
        let tan3pio8 = 2.41421356237309504880
        if x <= 0.66 { return xatan(x) }
        if x > tan3pio8 { return pi2 - xatan(1 / x) + morebits }
        return pi4 + xatan((x - 1) / (x + 1)) + halfMorebits
    }

    static func atan(_ x: Double) -> Double {
        if x == 0 { return x }
        return x > 0 ? satan(x) : -satan(-x)
    }

    static func asin(_ x: Double) -> Double {
        if x == 0 { return x }
        var x = x
        let sign = x < 0
        if sign { x = -x }
        if x > 1 { return .nan }
        var temp = (1 - x * x).squareRoot()
        temp = x > 0.7 ? pi2 - satan(temp / x) : satan(x / temp)
        return sign ? -temp : temp
    }

    static func acos(_ x: Double) -> Double { pi2 - asin(x) }

    static func sinh(_ x: Double) -> Double {
        let p0 = -0.6307673640497716991184787251e+6, p1 = -0.8991272022039509355398013511e+5
        let p2 = -0.2894211355989563807284660366e+4, p3 = -0.2630563213397497062819489e+2
        let q0 = -0.6307673640497716991212077277e+6, q1 = 0.1521517378790019070696485176e+5
        let q2 = -0.173678953558233699533450911e+3
        var x = x
        let sign = x < 0
        if sign { x = -x }
        var temp: Double
        if x > 21 {
            temp = exp(x) * 0.5
        } else if x > 0.5 {
            // One Exp and a reciprocal, as the Go that built 2.42 does (not Exp(x) and Exp(-x)).
            let ex = exp(x)
            temp = (ex - 1 / ex) * 0.5
        } else {
            let sq = x * x
            temp = (((p3 * sq + p2) * sq + p1) * sq + p0) * x
            temp = temp / (((sq + q2) * sq + q1) * sq + q0)
        }
        return sign ? -temp : temp
    }

    static func cosh(_ x: Double) -> Double {
        let x = Swift.abs(x)
        if x > 21 { return exp(x) * 0.5 }
        // One Exp and a reciprocal, as the Go that built 2.42 does (not Exp(x) and Exp(-x)).
        let ex = exp(x)
        return (ex + 1 / ex) * 0.5
    }

    static func tanh(_ x: Double) -> Double {
        let p0 = -9.64399179425052238628e-1, p1 = -9.92877231001918586564e1, p2 = -1.61468768441708447952e3
        let q0 = 1.12811678491632931402e2, q1 = 2.23548839060100448583e3, q2 = 4.84406305325125486048e3
        let maxlog = 8.8029691931113054295988e+01
        var z = Swift.abs(x)
        if z > 0.5 * maxlog {
            return x < 0 ? -1 : 1
        } else if z >= 0.625 {
            let s = exp(2 * z)
            z = 1 - 2 / (s + 1)
            if x < 0 { z = -z }
        } else {
            if x == 0 { return x }
            let s = x * x
            z = x + x * s * ((p0 * s + p1) * s + p2) / (((s + q0) * s + q1) * s + q2)
        }
        return z
    }

    private static let ln2 = 6.93147180559945286227e-01

    static func asinh(_ x: Double) -> Double {
        if x.isNaN || x.isInfinite { return x }
        var x = x
        let sign = x < 0
        if sign { x = -x }
        var temp: Double
        if x > 268_435_456 {  // 2**28
            temp = log(x) + ln2
        } else if x > 2 {
            temp = log(2 * x + 1 / ((x * x + 1).squareRoot() + x))
        } else if x < 1.0 / 268_435_456 {
            temp = x
        } else {
            temp = log1p(x + x * x / (1 + (1 + x * x).squareRoot()))
        }
        return sign ? -temp : temp
    }

    static func acosh(_ x: Double) -> Double {
        if x < 1 || x.isNaN { return .nan }
        if x == 1 { return 0 }
        if x >= 268_435_456 { return log(x) + ln2 }
        if x > 2 { return log(2 * x - 1 / (x + (x * x - 1).squareRoot())) }
        let t = x - 1
        return log1p(t + (2 * t + t * t).squareRoot())
    }

    static func atanh(_ x: Double) -> Double {
        if x < -1 || x > 1 || x.isNaN { return .nan }
        if x == 1 { return .infinity }
        if x == -1 { return -.infinity }
        var x = x
        let sign = x < 0
        if sign { x = -x }
        var temp: Double
        if x < 1.0 / 268_435_456 {
            temp = x
        } else if x < 0.5 {
            temp = x + x
            temp = 0.5 * log1p(temp + temp * x / (1 - x))
        } else {
            temp = 0.5 * log1p((x + x) / (1 - x))
        }
        return sign ? -temp : temp
    }

    /// Go's `log1p` (FreeBSD's s_log1p.c).
    static func log1p(_ x: Double) -> Double {
        let sqrt2M1 = 4.142135623730950488017e-01, sqrt2HalfM1 = -2.928932188134524755992e-01
        let small = 1.0 / 536_870_912.0, tiny = 1.0 / 18_014_398_509_481_984.0, two53 = 9_007_199_254_740_992.0
        let ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10
        let lp1 = 6.666666666666735130e-01, lp2 = 3.999999999940941908e-01
        let lp3 = 2.857142874366239149e-01, lp4 = 2.222219843214978396e-01
        let lp5 = 1.818357216161805012e-01, lp6 = 1.531383769920937332e-01
        let lp7 = 1.479819860511658591e-01
        if x < -1 || x.isNaN { return .nan }
        if x == -1 { return -.infinity }
        if x == .infinity { return .infinity }

        let absx = Swift.abs(x)
        var f = 0.0
        var iu: UInt64 = 0
        var k = 1
        if absx < sqrt2M1 {
            if absx < small {
                if absx < tiny { return x }
                return x - x * x * 0.5
            }
            if x > sqrt2HalfM1 {
                k = 0
                f = x
                iu = 1
            }
        }
        var c = 0.0
        if k != 0 {
            var u: Double
            if absx < two53 {
                u = 1.0 + x
                iu = u.bitPattern
                k = Int(iu >> 52) - 1023
                c = k > 0 ? 1.0 - (u - x) : x - (u - 1.0)
                c /= u
            } else {
                u = x
                iu = u.bitPattern
                k = Int(iu >> 52) - 1023
                c = 0
            }
            iu &= 0x000f_ffff_ffff_ffff
            if iu < 0x0006_a09e_667f_3bcd {
                u = Double(bitPattern: iu | 0x3ff0_0000_0000_0000)
            } else {
                k += 1
                u = Double(bitPattern: iu | 0x3fe0_0000_0000_0000)
                iu = (0x0010_0000_0000_0000 - iu) >> 2
            }
            f = u - 1.0
        }
        let hfsq = 0.5 * f * f
        let fk = Double(k)
        if iu == 0 {
            if f == 0 {
                if k == 0 { return 0 }
                c += fk * ln2Lo
                return fk * ln2Hi + c
            }
            let r = hfsq * (1.0 - 0.66666666666666666 * f)
            if k == 0 { return f - r }
            return fk * ln2Hi - ((r - (fk * ln2Lo + c)) - f)
        }
        let s = f / (2.0 + f)
        let z = s * s
        let r = z * (lp1 + z * (lp2 + z * (lp3 + z * (lp4 + z * (lp5 + z * (lp6 + z * lp7))))))
        if k == 0 { return f - (hfsq - s * (hfsq + r)) }
        return fk * ln2Hi - ((hfsq - (s * (hfsq + r) + (fk * ln2Lo + c))) - f)
    }
}
