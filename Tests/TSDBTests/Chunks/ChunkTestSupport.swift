import Foundation
import Synchronization
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Helpers shared by the chunk segment suites.
enum ChunkTest {
    typealias Written = (ref: ChunkRef, encoding: ChunkEncoding, data: [UInt8])

    /// Random samples: 1 to `maxCount`, increasing timestamps with jitter, interesting values.
    static func randomSamples(_ rng: inout SeededRandom, maxCount: Int = 120) -> [Sample] {
        let count = Int(rng.next() % UInt64(maxCount)) + 1
        var t = Int64(bitPattern: rng.next() % (1 << 42)) - (1 << 41)
        var out: [Sample] = []
        for _ in 0..<count {
            out.append(Sample(timestamp: t, value: InterestingValues.random(using: &rng)))
            t += rng.next() % 4 == 0 ? Int64(rng.next() % 10_000_000) : 15_000 + Int64(rng.next() % 11) - 5
        }
        return out
    }

    /// `count` bytes of chunk data that are not a valid XOR chunk; the segment files do not care.
    static func opaque(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    /// Every chunk of every segment, in file order.
    static func allChunks(_ reader: ChunkSegmentReader) throws(TSDBError) -> [Written] {
        var out: [Written] = []
        for segment in 0..<reader.segmentCount {
            try reader.forEachChunk(inSegment: segment) { ref, encoding, data in
                out.append((ref, encoding, Array(data)))
            }
        }
        return out
    }

    /// Writes opaque chunks of the given data sizes one by one and returns their refs.
    static func writeSingly(_ dir: String, segmentSize: Int, sizes: [Int]) throws -> [ChunkRef] {
        var writer = try ChunkSegmentWriter(directory: dir, sys: .system, segmentSize: segmentSize)
        var refs: [ChunkRef] = []
        for (i, n) in sizes.enumerated() {
            refs.append(try writer.write(encoding: .xor, data: opaque(n, seed: UInt8(i % 256))))
        }
        try writer.close()
        return refs
    }

    /// The error `body` throws, or nil.
    static func caught<T>(_ body: () throws(TSDBError) -> T) -> TSDBError? {
        do throws(TSDBError) {
            _ = try body()
            return nil
        } catch {
            return error
        }
    }

    /// Expects `error` to be corruption located in `file` at `offset`.
    static func expectCorruption(
        _ error: TSDBError?, file: String, offset: Int?, _ comment: Comment? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error else {
            Issue.record("expected a corruption error at \(file):\(offset.map(String.init) ?? "-")", sourceLocation: sourceLocation)
            return
        }
        #expect(error.code == .corruption, "\(error)", sourceLocation: sourceLocation)
        #expect(error.location?.file == file, "\(error)", sourceLocation: sourceLocation)
        #expect(error.location?.offset == offset, "\(error) \(comment.map { "\($0)" } ?? "")", sourceLocation: sourceLocation)
    }
}

/// Counts syscalls and fails writes on request, for the writer's fault tests.
final class ChunkSyscallProbe: Sendable {
    private struct State {
        var fsyncs = 0
        var writes = 0
        var failWritesWith: Int32?
    }
    private let state = Mutex(State())

    var fsyncs: Int { state.withLock { $0.fsyncs } }
    var writes: Int { state.withLock { $0.writes } }
    func failWrites(with errno: Int32?) { state.withLock { $0.failWritesWith = errno } }

    var syscalls: Syscalls {
        var sys = Syscalls.system
        let base = Syscalls.system
        sys.fdatasync = { fd in
            self.state.withLock { $0.fsyncs += 1 }
            return base.fsync(fd)
        }
        sys.fsync = sys.fdatasync  // directories too, as one count
        sys.write = { fd, bytes in
            let fail = self.state.withLock { s -> Int32? in
                s.writes += 1
                return s.failWritesWith
            }
            if let fail { return -Int(fail) }
            return base.write(fd, bytes)
        }
        return sys
    }
}
