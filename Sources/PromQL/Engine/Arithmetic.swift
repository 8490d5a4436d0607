#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Go's `math.Pow`; C's `pow` has the same special cases for every input PromQL can give.
@inline(__always) func goPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }

/// Go's `math.Atan2`, same special cases as C's.
@inline(__always) func atan2Go(_ y: Double, _ x: Double) -> Double { atan2(y, x) }

