import Foundation
import TSDBFuzzHarness

// One binary for every fuzz target (see scripts/fuzz.sh and Fixtures/fuzz/README.md).
// (Not main.swift: the fuzzing build passes -parse-as-library, under which a top-level
// statement is an error even in an inactive #if branch; @main works in both builds.)
//
// Built with `-DFUZZING --sanitize=fuzzer -parse-as-library`, libFuzzer's main drives
// `LLVMFuzzerTestOneInput` with the target named by `TSDB_FUZZ_TARGET`; an invariant that
// breaks stops the process, which libFuzzer reports as a crash with the input.
// Built normally, `tsdb-fuzz replay <target> <dir>` runs every file of `dir` through the
// target and reports the count; `tsdb-fuzz targets` lists the targets.

#if FUZZING
let fuzzTarget: String = {
    let name = ProcessInfo.processInfo.environment["TSDB_FUZZ_TARGET"] ?? ""
    guard FuzzHarness.targets.contains(name) else {
        FileHandle.standardError.write(Data("set TSDB_FUZZ_TARGET to one of: \(FuzzHarness.targets.joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return name
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do { try FuzzHarness.run(fuzzTarget, bytes) } catch { fatalError("\(fuzzTarget): \(error)") }
    return 0
}
#else
@main
struct TSDBFuzz {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "replay" where arguments.count >= 3:
            let target = arguments[1]
            var total = 0
            var failed = 0
            for directory in arguments[2...] {
                do {
                    let (files, failures) = try FuzzHarness.replay(target, directory: directory)
                    total += files
                    failed += failures.count
                    for f in failures { print("FAIL \(target) \(directory)/\(f)") }
                } catch {
                    FileHandle.standardError.write(Data("tsdb-fuzz: \(error)\n".utf8))
                    exit(2)
                }
            }
            print("\(target): \(total) file(s), \(failed) failure(s)")
            exit(failed == 0 ? 0 : 1)
        case "seeds" where arguments.count == 2:
            do { try FuzzHarness.makeSeeds(into: arguments[1]) } catch {
                FileHandle.standardError.write(Data("tsdb-fuzz: \(error)\n".utf8))
                exit(1)
            }
        case "targets":
            for t in FuzzHarness.targets { print(t) }
        default:
            FileHandle.standardError.write(Data("""
                usage: tsdb-fuzz replay <target> <dir>...   run every file of the directories through the target
                       tsdb-fuzz seeds <dir>                write seed inputs for every target under dir/<target>/
                       tsdb-fuzz targets                    list the targets
                fuzzing: build with scripts/fuzz.sh, then TSDB_FUZZ_TARGET=<target> tsdb-fuzz [libFuzzer options] <corpus>

                """.utf8))
            exit(2)
        }
    }
}
#endif
