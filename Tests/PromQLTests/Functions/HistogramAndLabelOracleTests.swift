import Testing
import TSDBTestSupport
import TSDB
@testable import PromQL

/// histogram_quantile over classic buckets, label_replace and label_join against what
/// promtool 2.42 (`promtool test rules`) printed for the same input. Buckets are given in the
/// order Prometheus handed them over: its selector does not sort series, so head series come
/// in creation order, the order listed here. The order only matters with a NaN bound. A
/// bucket whose `le` does not parse (`le="abc"`) is left out, as the caller does.
@Suite(.heavy) struct HistogramAndLabelOracleTests {
    static let histograms: [(name: String, buckets: [(upperBound: Double, count: Double)], results: [(q: Double, value: Double)])] = [
        ("normal", [(0.1, 1), (0.5, 3), (1, 6), (.infinity, 10)],
         [(0, 0E+00), (0.25, 4E-01), (0.5, 8.333333333333333E-01), (0.75, 1E+00), (0.9, 1E+00), (0.99, 1E+00), (1, 1E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("noinf", [(1, 5), (2, 10)],
         [(0, .nan), (0.25, .nan), (0.5, .nan), (0.75, .nan), (0.9, .nan), (0.99, .nan), (1, .nan), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("nonmono", [(1, 5), (2, 3), (5, 8), (.infinity, 8)],
         [(0, 0E+00), (0.25, 4E-01), (0.5, 8E-01), (0.75, 3E+00), (0.9, 4.2E+00), (0.99, 4.92E+00), (1, 5E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("dup", [(1, 3), (1.0, 4), (2, 10), (.infinity, 12)],
         [(0, 0E+00), (0.25, 4.2857142857142855E-01), (0.5, 8.571428571428571E-01), (0.75, 1.6666666666666665E+00), (0.9, 2E+00), (0.99, 2E+00), (1, 2E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("onlyinf", [(.infinity, 10)],
         [(0, .nan), (0.25, .nan), (0.5, .nan), (0.75, .nan), (0.9, .nan), (0.99, .nan), (1, .nan), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("negative", [(-1, 2), (0, 4), (1, 6), (.infinity, 8)],
         [(0, -1E+00), (0.25, -1E+00), (0.5, 0E+00), (0.75, 1E+00), (0.9, 1E+00), (0.99, 1E+00), (1, 1E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("lowpos", [(2, 4), (.infinity, 8)],
         [(0, 0E+00), (0.25, 1E+00), (0.5, 2E+00), (0.75, 2E+00), (0.9, 2E+00), (0.99, 2E+00), (1, 2E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("zero", [(1, 0), (.infinity, 0)],
         [(0, .nan), (0.25, .nan), (0.5, .nan), (0.75, .nan), (0.9, .nan), (0.99, .nan), (1, .nan), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("ininf", [(1, 1), (2, 2), (.infinity, 10)],
         [(0, 0E+00), (0.25, 2E+00), (0.5, 2E+00), (0.75, 2E+00), (0.9, 2E+00), (0.99, 2E+00), (1, 2E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("unsorted", [(.infinity, 20), (5, 15), (0.25, 2), (1, 8), (2.5, 11)],
         [(0, 0E+00), (0.25, 6.25E-01), (0.5, 2E+00), (0.75, 5E+00), (0.9, 5E+00), (0.99, 5E+00), (1, 5E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("nanle", [(.nan, 3), (1, 1), (.infinity, 5)],
         [(0, .nan), (0.25, .nan), (0.5, .nan), (0.75, 1E+00), (0.9, 1E+00), (0.99, 1E+00), (1, 1E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("nancount", [(1, .nan), (2, 4), (.infinity, 6)],
         [(0, .nan), (0.25, .nan), (0.5, .nan), (0.75, 2E+00), (0.9, 2E+00), (0.99, 2E+00), (1, 2E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("infcount", [(1, 2), (2, .infinity), (.infinity, .infinity)],
         [(0, 2E+00), (0.25, .nan), (0.5, .nan), (0.75, .nan), (0.9, .nan), (0.99, .nan), (1, .nan), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("badle", [(1, 1), (.infinity, 5)],
         [(0, 0E+00), (0.25, 1E+00), (0.5, 1E+00), (0.75, 1E+00), (0.9, 1E+00), (0.99, 1E+00), (1, 1E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("lowneg", [(-5, 2), (.infinity, 4)],
         [(0, -5E+00), (0.25, -5E+00), (0.5, -5E+00), (0.75, -5E+00), (0.9, -5E+00), (0.99, -5E+00), (1, -5E+00), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
        ("exp", [(1e-3, 1), (1e3, 2), (.infinity, 3)],
         [(0, 0E+00), (0.25, 7.5E-04), (0.5, 5.000005E+02), (0.75, 1E+03), (0.9, 1E+03), (0.99, 1E+03), (1, 1E+03), (-0.5, -.infinity), (1.5, .infinity), (.nan, .nan)]),
    ]

    @Test func histogramQuantile() {
        var failures: [String] = []
        for h in Self.histograms {
            for (q, expected) in h.results {
                let got = HistogramQuantile.quantile(q, buckets: h.buckets)
                if !(got.bitPattern == expected.bitPattern || (got.isNaN && expected.isNaN)) {
                    failures.append("\(h.name) q=\(q): got \(got), promtool \(expected)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    static let inputs: [String: [(String, String)]] = [
        "l": [("__name__", "l"), ("other", "x"), ("src", "abc-def")],
        "m": [("__name__", "m"), ("src", "a\nb")],
        // For the sampled cases (label i is the value's index).
        "w0": [(#"__name__"#, #"l"#), (#"i"#, #"0"#), (#"src"#, #"abc-def"#)],
        "w1": [(#"__name__"#, #"l"#), (#"i"#, #"1"#), (#"src"#, #"aaa"#)],
        "w2": [(#"__name__"#, #"l"#), (#"i"#, #"2"#), (#"src"#, #"a.b.c"#)],
        "w3": [(#"__name__"#, #"l"#), (#"i"#, #"3"#), (#"src"#, #"foo_bar:9090"#)],
        "w4": [(#"__name__"#, #"l"#), (#"i"#, #"4"#), (#"src"#, #"ÄÖü-ß"#)],
        "w5": [(#"__name__"#, #"l"#), (#"i"#, #"5"#)],
        "w6": [(#"__name__"#, #"l"#), (#"i"#, #"6"#), (#"src"#, "x y\tz")],
        "w7": [(#"__name__"#, #"l"#), (#"i"#, #"7"#), (#"src"#, #"123"#)],
        "w8": [(#"__name__"#, #"l"#), (#"i"#, #"8"#), (#"src"#, #"http://host:80/path?q=1"#)],
        "w9": [(#"__name__"#, #"l"#), (#"i"#, #"9"#), (#"src"#, #"AbCdEf"#)],
        "w10": [(#"__name__"#, #"l"#), (#"i"#, #"10"#), (#"src"#, "a\nb")],
        "w11": [(#"__name__"#, #"l"#), (#"i"#, #"11"#), (#"src"#, "ab\nc\n")],
    ]

    /// (series, dst, replacement, src, regex, the labels promtool printed). The `w` rows are 90
    /// sampled from 708 random value × regex × replacement cases (Unicode, newlines, lazy and
    /// nested groups, (?i) (?U) (?m) (?s), POSIX classes), all of which agreed when recorded.
    static let replaces: [(String, String, String, String, String, String)] = [
        ("l", #"dst"#, #"$1"#, #"src"#, #"(.*)-(.*)"#, #"{__name__="l", dst="abc", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"${1}x"#, #"src"#, #"(.*)-(.*)"#, #"{__name__="l", dst="abcx", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$1x"#, #"src"#, #"(.*)-(.*)"#, #"{__name__="l", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$name"#, #"src"#, #"(?P<name>a.c)-.*"#, #"{__name__="l", dst="abc", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"${name}-$2"#, #"src"#, #"(?P<name>a.c)-(.*)"#, #"{__name__="l", dst="abc-def", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$$1"#, #"src"#, #"(.*)"#, #"{__name__="l", dst="$1", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$"#, #"src"#, #"(.*)"#, #"{__name__="l", dst="$", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"${1"#, #"src"#, #"(.*)"#, #"{__name__="l", dst="${1", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$0"#, #"src"#, #"a(b)c-def"#, #"{__name__="l", dst="abc-def", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$01"#, #"src"#, #"(.*)"#, #"{__name__="l", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$3"#, #"src"#, #"(.*)-(.*)"#, #"{__name__="l", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"x"#, #"src"#, #"zzz"#, #"{__name__="l", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"y"#, #"nosuch"#, #""#, #"{__name__="l", dst="y", other="x", src="abc-def"}"#),
        ("l", #"src"#, #""#, #"src"#, #".*"#, #"{__name__="l", other="x"}"#),
        ("l", #"other"#, #"$1"#, #"src"#, #"(a).*"#, #"{__name__="l", other="a", src="abc-def"}"#),
        ("l", #"__name__"#, #"new"#, #"src"#, #".*"#, #"{__name__="new", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"[$1]"#, #"src"#, #"a)|(b"#, #"{__name__="l", dst="[]", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$1"#, #"src"#, #"abc|abc-(def)"#, #"{__name__="l", dst="def", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$1.$2"#, #"src"#, #"(a|ab)(c|bcd)(.*)"#, #"{__name__="l", dst="ab.c", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"${2}"#, #"src"#, #"(?i)(ABC)-(D)EF"#, #"{__name__="l", dst="d", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$é"#, #"src"#, #"(.*)"#, #"{__name__="l", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$1"#, #"src"#, #".*(b).*"#, #"{__name__="l", dst="b", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"a$1b"#, #"src"#, #"(?:x)?(.*)"#, #"{__name__="l", dst="a", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$1"#, #"src"#, #"(x)?abc-def"#, #"{__name__="l", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$10"#, #"src"#, #"(a)(b)(c)(-)(d)(e)(f)()()()(.)?"#, #"{__name__="l", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$1"#, #"src"#, #"\w+-(\w+)"#, #"{__name__="l", dst="def", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"${1}"#, #"src"#, #"[a-c]+-(\S+)"#, #"{__name__="l", dst="def", other="x", src="abc-def"}"#),
        ("l", #"dst"#, #"$1"#, #"src"#, #"abc-de\z"#, #"{__name__="l", other="x", src="abc-def"}"#),
        ("l", #"zz"#, #"$2$1"#, #"src"#, #"(\pL+)-(\pL+)"#, #"{__name__="l", other="x", src="abc-def", zz="defabc"}"#),
        ("l", #"dst"#, #"$1"#, #"src"#, #"(.*)"#, #"{__name__="l", dst="abc-def", other="x", src="abc-def"}"#),
        ("m", #"dst"#, #"$1"#, #"src"#, #"a.b"#, #"{__name__="m", src="a\nb"}"#),
        ("m", #"dst"#, #"$1"#, #"src"#, #"a\nb"#, #"{__name__="m", src="a\nb"}"#),
        ("m", #"dst"#, #"$1"#, #"src"#, #"(a(?s:.)b)"#, #"{__name__="m", dst="a\nb", src="a\nb"}"#),
        ("m", #"dst"#, #"x"#, #"src"#, #"a$"#, #"{__name__="m", src="a\nb"}"#),
        ("w0", "dst", #"${1}_${2}"#, "src", #"(.*)"#, #"{__name__="l", dst="abc-def_", i="0", src="abc-def"}"#),
        ("w0", "dst", #"${1}_${2}"#, "src", #"(a+)(.*)"#, #"{__name__="l", dst="a_bc-def", i="0", src="abc-def"}"#),
        ("w0", "dst", #"${1}_${2}"#, "src", #"(a*?)(a*)"#, #"{__name__="l", i="0", src="abc-def"}"#),
        ("w0", "dst", #"${1}_${2}"#, "src", #"([^:]+):(\d+)"#, #"{__name__="l", i="0", src="abc-def"}"#),
        ("w0", "dst", #"${1}_${2}"#, "src", #"(.)(.)(.)"#, #"{__name__="l", i="0", src="abc-def"}"#),
        ("w0", "dst", #"$1|$2|$3"#, "src", #"(.+)-(.+)"#, #"{__name__="l", dst="abc|def|", i="0", src="abc-def"}"#),
        ("w0", "dst", #"$1|$2|$3"#, "src", #"(?s)(.*)"#, #"{__name__="l", dst="abc-def||", i="0", src="abc-def"}"#),
        ("w0", "dst", #"${1}_${2}"#, "src", #"(?s)(.*)"#, #"{__name__="l", dst="abc-def_", i="0", src="abc-def"}"#),
        ("w0", "dst", #"${1}_${2}"#, "src", #"(\d{2,3})(\d*)"#, #"{__name__="l", i="0", src="abc-def"}"#),
        ("w0", "dst", #"$1|$2|$3"#, "src", #"[a-c]+(-)?(.*)"#, #"{__name__="l", dst="-|def|", i="0", src="abc-def"}"#),
        ("w0", "dst", #"$1|$2|$3"#, "src", #"\A(.*)"#, #"{__name__="l", dst="abc-def||", i="0", src="abc-def"}"#),
        ("w0", "dst", #"${1}_${2}"#, "src", #"(.{2})(.*)"#, #"{__name__="l", dst="ab_c-def", i="0", src="abc-def"}"#),
        ("w1", "dst", #"${1}_${2}"#, "src", #"(\w+)"#, #"{__name__="l", dst="aaa_", i="1", src="aaa"}"#),
        ("w1", "dst", #"$1|$2|$3"#, "src", #"([^:]+):(\d+)"#, #"{__name__="l", i="1", src="aaa"}"#),
        ("w1", "dst", #"$1|$2|$3"#, "src", #"(?:(a)|(b))+(.*)"#, #"{__name__="l", dst="a||", i="1", src="aaa"}"#),
        ("w1", "dst", #"$1|$2|$3"#, "src", #"(é|e)(.*)"#, #"{__name__="l", i="1", src="aaa"}"#),
        ("w1", "dst", #"${1}_${2}"#, "src", #"(ab|a)(b*)(c*)(.*)"#, #"{__name__="l", dst="a_", i="1", src="aaa"}"#),
        ("w2", "dst", #"${1}_${2}"#, "src", #"(?i)(abc)(.*)"#, #"{__name__="l", i="2", src="a.b.c"}"#),
        ("w2", "dst", #"${1}_${2}"#, "src", #"(\p{Lu}+)(.*)"#, #"{__name__="l", i="2", src="a.b.c"}"#),
        ("w2", "dst", #"$1|$2|$3"#, "src", #"(.*)$"#, #"{__name__="l", dst="a.b.c||", i="2", src="a.b.c"}"#),
        ("w2", "dst", #"${1}_${2}"#, "src", #"(x*)*"#, #"{__name__="l", i="2", src="a.b.c"}"#),
        ("w2", "dst", #"${1}_${2}"#, "src", #"([[:alpha:]]+)(.*)"#, #"{__name__="l", dst="a_.b.c", i="2", src="a.b.c"}"#),
        ("w2", "dst", #"$1|$2|$3"#, "src", #"(é|e)(.*)"#, #"{__name__="l", i="2", src="a.b.c"}"#),
        ("w2", "dst", #"$1|$2|$3"#, "src", #"(.*)\z"#, #"{__name__="l", dst="a.b.c||", i="2", src="a.b.c"}"#),
        ("w2", "dst", #"${1}_${2}"#, "src", #"(.*)\z"#, #"{__name__="l", dst="a.b.c_", i="2", src="a.b.c"}"#),
        ("w3", "dst", #"${1}_${2}"#, "src", #"(a+)(.*)"#, #"{__name__="l", i="3", src="foo_bar:9090"}"#),
        ("w3", "dst", #"$1|$2|$3"#, "src", #"([^:]+):(\d+)"#, #"{__name__="l", dst="foo_bar|9090|", i="3", src="foo_bar:9090"}"#),
        ("w3", "dst", #"${1}_${2}"#, "src", #"([^:]+):(\d+)"#, #"{__name__="l", dst="foo_bar_9090", i="3", src="foo_bar:9090"}"#),
        ("w3", "dst", #"$1|$2|$3"#, "src", #"(.)(.)(.)"#, #"{__name__="l", i="3", src="foo_bar:9090"}"#),
        ("w3", "dst", #"$1|$2|$3"#, "src", #"(.*)$"#, #"{__name__="l", dst="foo_bar:9090||", i="3", src="foo_bar:9090"}"#),
        ("w3", "dst", #"$1|$2|$3"#, "src", #"^(.*)"#, #"{__name__="l", dst="foo_bar:9090||", i="3", src="foo_bar:9090"}"#),
        ("w3", "dst", #"$1|$2|$3"#, "src", #"(a+|b+)*c?"#, #"{__name__="l", i="3", src="foo_bar:9090"}"#),
        ("w3", "dst", #"${1}_${2}"#, "src", #"(?U)(a+)(.*)"#, #"{__name__="l", i="3", src="foo_bar:9090"}"#),
        ("w3", "dst", #"$1|$2|$3"#, "src", #"(\S+)\s(\S+)\s(\S+)"#, #"{__name__="l", i="3", src="foo_bar:9090"}"#),
        ("w3", "dst", #"${1}_${2}"#, "src", #"(\S+)\s(\S+)\s(\S+)"#, #"{__name__="l", i="3", src="foo_bar:9090"}"#),
        ("w4", "dst", #"$1|$2|$3"#, "src", #"(\p{Lu}+)(.*)"#, #"{__name__="l", dst="ÄÖ|ü-ß|", i="4", src="ÄÖü-ß"}"#),
        ("w4", "dst", #"${1}_${2}"#, "src", #"(.+)-(.+)"#, #"{__name__="l", dst="ÄÖü_ß", i="4", src="ÄÖü-ß"}"#),
        ("w4", "dst", #"${1}_${2}"#, "src", #"(.*)$"#, #"{__name__="l", dst="ÄÖü-ß_", i="4", src="ÄÖü-ß"}"#),
        ("w4", "dst", #"$1|$2|$3"#, "src", #"^(.*)"#, #"{__name__="l", dst="ÄÖü-ß||", i="4", src="ÄÖü-ß"}"#),
        ("w4", "dst", #"$1|$2|$3"#, "src", #"((a)b)?(.*)"#, #"{__name__="l", dst="||ÄÖü-ß", i="4", src="ÄÖü-ß"}"#),
        ("w4", "dst", #"${1}_${2}"#, "src", #"(.*?)(:.*)?"#, #"{__name__="l", dst="ÄÖü-ß_", i="4", src="ÄÖü-ß"}"#),
        ("w5", "dst", #"${1}_${2}"#, "src", #"(.*)"#, #"{__name__="l", dst="_", i="5"}"#),
        ("w5", "dst", #"$1|$2|$3"#, "src", #"(?i)(abc)(.*)"#, #"{__name__="l", i="5"}"#),
        ("w5", "dst", #"${1}_${2}"#, "src", #"(.)(.)(.)"#, #"{__name__="l", i="5"}"#),
        ("w5", "dst", #"$1|$2|$3"#, "src", #"(.+)-(.+)"#, #"{__name__="l", i="5"}"#),
        ("w5", "dst", #"$1|$2|$3"#, "src", #"(?s)(.*)"#, #"{__name__="l", dst="||", i="5"}"#),
        ("w5", "dst", #"$1|$2|$3"#, "src", #"^(.*)"#, #"{__name__="l", dst="||", i="5"}"#),
        ("w5", "dst", #"$1|$2|$3"#, "src", #"(\d{2,3})(\d*)"#, #"{__name__="l", i="5"}"#),
        ("w5", "dst", #"${1}_${2}"#, "src", #"(\S+)\s(\S+)\s(\S+)"#, #"{__name__="l", i="5"}"#),
        ("w5", "dst", #"$1|$2|$3"#, "src", #"(.*)\z"#, #"{__name__="l", dst="||", i="5"}"#),
        ("w6", "dst", #"${1}_${2}"#, "src", #"([^:]+):(\d+)"#, #"{__name__="l", i="6", src="x y\tz"}"#),
        ("w6", "dst", #"$1|$2|$3"#, "src", #"(.)(.)(.)"#, #"{__name__="l", i="6", src="x y\tz"}"#),
        ("w6", "dst", #"${1}_${2}"#, "src", #"(.)(.)(.)"#, #"{__name__="l", i="6", src="x y\tz"}"#),
        ("w6", "dst", #"${1}_${2}"#, "src", #"(?:(a)|(b))+(.*)"#, #"{__name__="l", i="6", src="x y\tz"}"#),
        ("w6", "dst", #"$1|$2|$3"#, "src", #"(a|ab)(c|bcd)?(.*)"#, #"{__name__="l", i="6", src="x y\tz"}"#),
        ("w6", "dst", #"$1|$2|$3"#, "src", #"^(.*)"#, #"{__name__="l", dst="x y\tz||", i="6", src="x y\tz"}"#),
        ("w6", "dst", #"${1}_${2}"#, "src", #"(x*)*"#, #"{__name__="l", i="6", src="x y\tz"}"#),
        ("w6", "dst", #"${1}_${2}"#, "src", #"((a)b)?(.*)"#, #"{__name__="l", dst="_", i="6", src="x y\tz"}"#),
        ("w6", "dst", #"$first+$rest"#, "src", #"(?P<first>[^.]+)\.(?P<rest>.*)"#, #"{__name__="l", i="6", src="x y\tz"}"#),
        ("w6", "dst", #"${1}_${2}"#, "src", #"(\S+)\s(\S+)\s(\S+)"#, #"{__name__="l", dst="x_y", i="6", src="x y\tz"}"#),
        ("w7", "dst", #"$1|$2|$3"#, "src", #"(.*)"#, #"{__name__="l", dst="123||", i="7", src="123"}"#),
        ("w7", "dst", #"$1|$2|$3"#, "src", #"(a*?)(a*)"#, #"{__name__="l", i="7", src="123"}"#),
        ("w7", "dst", #"${1}_${2}"#, "src", #"(?i)(abc)(.*)"#, #"{__name__="l", i="7", src="123"}"#),
        ("w7", "dst", #"${1}_${2}"#, "src", #"(?:(a)|(b))+(.*)"#, #"{__name__="l", i="7", src="123"}"#),
        ("w7", "dst", #"${1}_${2}"#, "src", #"([[:alpha:]]+)(.*)"#, #"{__name__="l", i="7", src="123"}"#),
        ("w7", "dst", #"${1}_${2}"#, "src", #"(.*?)(:.*)?"#, #"{__name__="l", dst="123_", i="7", src="123"}"#),
        ("w8", "dst", #"$1|$2|$3"#, "src", #"(a*?)(a*)"#, #"{__name__="l", i="8", src="http://host:80/path?q=1"}"#),
        ("w8", "dst", #"$1|$2|$3"#, "src", #"([^:]+):(\d+)"#, #"{__name__="l", i="8", src="http://host:80/path?q=1"}"#),
        ("w8", "dst", #"${1}_${2}"#, "src", #"(?i)(abc)(.*)"#, #"{__name__="l", i="8", src="http://host:80/path?q=1"}"#),
        ("w8", "dst", #"$1|$2|$3"#, "src", #"(a|ab)(c|bcd)?(.*)"#, #"{__name__="l", i="8", src="http://host:80/path?q=1"}"#),
        ("w9", "dst", #"${1}_${2}"#, "src", #"(?i)(abc)(.*)"#, #"{__name__="l", dst="AbC_dEf", i="9", src="AbCdEf"}"#),
        ("w9", "dst", #"${1}_${2}"#, "src", #"(a|ab)(c|bcd)?(.*)"#, #"{__name__="l", i="9", src="AbCdEf"}"#),
        ("w9", "dst", #"${1}_${2}"#, "src", #"(.*)$"#, #"{__name__="l", dst="AbCdEf_", i="9", src="AbCdEf"}"#),
        ("w9", "dst", #"${1}_${2}"#, "src", #"(x*)*"#, #"{__name__="l", i="9", src="AbCdEf"}"#),
        ("w9", "dst", #"${1}_${2}"#, "src", #"(ab|a)(b*)(c*)(.*)"#, #"{__name__="l", i="9", src="AbCdEf"}"#),
        ("w10", "dst", #"$1|$2|$3"#, "src", #"(a+)(.*)"#, #"{__name__="l", i="10", src="a\nb"}"#),
        ("w10", "dst", #"$1|$2|$3"#, "src", #"(?i)(abc)(.*)"#, #"{__name__="l", i="10", src="a\nb"}"#),
        ("w10", "dst", #"$1|$2|$3"#, "src", #"(a|ab)(c|bcd)?(.*)"#, #"{__name__="l", i="10", src="a\nb"}"#),
        ("w10", "dst", #"${1}_${2}"#, "src", #"^(.*)"#, #"{__name__="l", i="10", src="a\nb"}"#),
        ("w10", "dst", #"${1}_${2}"#, "src", #"([[:alpha:]]+)(.*)"#, #"{__name__="l", i="10", src="a\nb"}"#),
        ("w10", "dst", #"$1|$2|$3"#, "src", #"[a-c]+(-)?(.*)"#, #"{__name__="l", i="10", src="a\nb"}"#),
        ("w10", "dst", #"$1|$2|$3"#, "src", #"(.*?)(:.*)?"#, #"{__name__="l", i="10", src="a\nb"}"#),
        ("w10", "dst", #"${1}_${2}"#, "src", #"(.*?)(:.*)?"#, #"{__name__="l", i="10", src="a\nb"}"#),
        ("w11", "dst", #"${1}_${2}"#, "src", #"(?i)(abc)(.*)"#, #"{__name__="l", i="11", src="ab\nc\n"}"#),
        ("w11", "dst", #"${1}_${2}"#, "src", #"(?:(a)|(b))+(.*)"#, #"{__name__="l", i="11", src="ab\nc\n"}"#),
        ("w11", "dst", #"$1|$2|$3"#, "src", #"(.+)-(.+)"#, #"{__name__="l", i="11", src="ab\nc\n"}"#),
        ("w11", "dst", #"$1|$2|$3"#, "src", #"(a|ab)(c|bcd)?(.*)"#, #"{__name__="l", i="11", src="ab\nc\n"}"#),
        ("w11", "dst", #"${1}_${2}"#, "src", #"(\d{2,3})(\d*)"#, #"{__name__="l", i="11", src="ab\nc\n"}"#),
        ("w11", "dst", #"$1|$2|$3"#, "src", #"((a)b)?(.*)"#, #"{__name__="l", i="11", src="ab\nc\n"}"#),
        ("w11", "dst", #"$1|$2|$3"#, "src", #"(.*)\z"#, #"{__name__="l", i="11", src="ab\nc\n"}"#),
    ]

    @Test func labelReplace() throws {
        for (series, dst, replacement, src, regex, expected) in Self.replaces {
            let input = try Labels(Self.inputs[series] ?? [])
            let f = try LabelReplace(destination: dst, replacement: replacement, source: src, regex: regex)
            #expect(f.apply(input).description == expected, "label_replace(\(series), \(dst), \(replacement), \(src), \(regex))")
        }
    }

    /// (dst, separator, sources, the labels promtool printed) over `l`.
    static let joins: [(String, String, [String], String)] = [
        (#"dst"#, #"-"#, [#"src"#, #"other"#], #"{__name__="l", dst="abc-def-x", other="x", src="abc-def"}"#),
        (#"dst"#, #""#, [#"nosuch"#], #"{__name__="l", other="x", src="abc-def"}"#),
        (#"dst"#, #","#, [#"src"#, #"nosuch"#, #"other"#], #"{__name__="l", dst="abc-def,,x", other="x", src="abc-def"}"#),
        (#"src"#, #"+"#, [#"other"#, #"src"#], #"{__name__="l", other="x", src="x+abc-def"}"#),
        (#"dst"#, #"-"#, [], #"{__name__="l", other="x", src="abc-def"}"#),
        (#"__name__"#, #"_"#, [#"other"#], #"{__name__="x", other="x", src="abc-def"}"#),
    ]

    @Test func labelJoin() throws {
        let input = try Labels(Self.inputs["l"] ?? [])
        for (dst, separator, sources, expected) in Self.joins {
            let f = try LabelJoin(destination: dst, separator: separator, sources: sources)
            #expect(f.apply(input).description == expected, "label_join(l, \(dst), \(separator), \(sources))")
        }
    }

    /// The error texts, as promtool printed them.
    @Test func errors() {
        #expect(throws: PromQLError(.execution, "invalid regular expression in label_replace(): (")) {
            try LabelReplace(destination: "dst", replacement: "x", source: "src", regex: "(")
        }
        #expect(throws: PromQLError(.execution, "invalid destination label name in label_replace(): 1dst")) {
            try LabelReplace(destination: "1dst", replacement: "x", source: "src", regex: "a")
        }
        #expect(throws: PromQLError(.execution, "invalid source label name in label_join(): b-c")) {
            try LabelJoin(destination: "dst", separator: "-", sources: ["src", "b-c"])
        }
        #expect(throws: PromQLError(.execution, "invalid destination label name in label_join(): a b")) {
            try LabelJoin(destination: "a b", separator: "-", sources: ["src"])
        }
        #expect(RangeFunction.validateHoltWinters(sf: 1, tf: 0.5)
            == PromQLError(.execution, "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000"))
        #expect(RangeFunction.validateHoltWinters(sf: 0.5, tf: 0)
            == PromQLError(.execution, "invalid trend factor. Expected: 0 < tf < 1, got: 0.000000"))
        #expect(RangeFunction.validateHoltWinters(sf: .nan, tf: 0.5) == nil)
    }
}
