import Foundation
import Testing
import TSDB
import TSDBTestSupport
@testable import RemoteWrite

/// kill -9 of a process running the sender: the position file it left resumes a new sender
/// exactly there, and nothing is missing. The child is this test binary, running
/// ``KillTests/childSender()`` (enabled only by the environment the parent gives it).
@Suite(.blocking, .serialized) struct KillTests {
    static let childDB = ProcessInfo.processInfo.environment["RW_CHILD_DB"]
    static let childURL = ProcessInfo.processInfo.environment["RW_CHILD_URL"]

    static func queue() -> QueueSettings {
        fastQueue { $0.minShards = 2; $0.maxShards = 2; $0.maxSamplesPerSend = 50; $0.batchSendDeadline = 1 }
    }

    /// The child's workload: sends the database's WAL until killed.
    @Test(.enabled(if: childDB != nil, "runs only as the child of killMinus9ResumesFromTheSavedPosition"))
    func childSender() async throws {
        guard let dir = Self.childDB, let url = Self.childURL else { return }
        var options = Options()
        options.compactionEnabled = false
        options.logger.logLevel = .critical
        let db = try DB.open(directory: dir, options: options)
        let sender = try RemoteWriter(db: db, directory: dir, configuration: .init(endpoints: [
            RemoteWriteEndpoint(url: url, name: "killed", queue: Self.queue())]), logger: quietLogger())
        let task = Task { try await sender.run() }
        try await Task.sleep(for: .seconds(120))
        task.cancel()
    }

    @Test(.enabled(if: childDB == nil))
    func killMinus9ResumesFromTheSavedPosition() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let dbPath = work.path + "/db"
        var options = Options()
        options.compactionEnabled = false
        options.logger.logLevel = .critical
        var db = try DB.open(directory: dbPath, options: options)
        let expected = try appendSamples(db, seriesCount: 10, samplesPerSeries: 500, start: (Int64(Date().timeIntervalSince1970) - 1800) * 1000)
        try db.close()

        let receiver = try await ScriptedReceiver.start()
        receiver.responseDelay = .milliseconds(15)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["--testing-library", "swift-testing", "--filter", "childSender"]
        var env = ProcessInfo.processInfo.environment
        env["RW_CHILD_DB"] = dbPath
        env["RW_CHILD_URL"] = receiver.url
        child.environment = env
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        let midway = await eventually(60) { receiver.accepted.count >= 1500 }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(midway)
        #expect(child.terminationReason == .uncaughtSignal)
        // Requests the receiver got before the kill are still answered (to no one): let them land.
        try await Task.sleep(for: .milliseconds(300))
        let firstRun = receiver.accepted.count
        #expect(firstRun < expected.count, "killed mid-way")

        let saved = try #require(try RemoteWriter.savedPosition(directory: dbPath, endpoint: "killed"))
        let (before, after) = try samplesAround(saved, wal: dbPath + "/wal")
        #expect(before + after == expected.count)
        #expect(before > 0)
        // Everything before the saved position had been acknowledged by the receiver.
        #expect(firstRun >= before)

        db = try DB.open(directory: dbPath, options: options)
        defer { try? db.close() }
        receiver.responseDelay = .zero
        let sender = try RemoteWriter(db: db, directory: dbPath, configuration: .init(endpoints: [
            RemoteWriteEndpoint(url: receiver.url, name: "killed", queue: Self.queue())]), logger: quietLogger())
        let task = Task { try await sender.run() }
        let done = await eventually(30) { (sender.stats(endpoint: "killed")?.samplesSent ?? 0) >= after }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        try await task.value
        await receiver.stop()
        #expect(done)
        // It resumed exactly at the saved position: what followed it, once.
        #expect(sender.stats(endpoint: "killed")?.samplesSent == after)
        #expect(Set(receiver.accepted) == Set(expected), "nothing acknowledged or unsent is missing")
        // Sent twice: at most what the receiver took after the last saved position.
        #expect(receiver.accepted.count - expected.count == firstRun - before)
    }

    /// Samples in the WAL's records before and from `position`.
    private func samplesAround(_ position: WALPosition, wal: String) throws -> (before: Int, after: Int) {
        let tail = WALTail(walDirectory: wal)
        var before = 0, after = 0
        for segment in try tail.segments() {
            guard let (records, _, _) = try tail.read(segment: segment, from: 0, limit: .max) else { continue }
            for r in records where r.bytes.first == 2 {
                var samples: [RefSample] = []
                try RecordDecoder.samples(r.bytes, into: &samples)
                if WALPosition(segment: segment, offset: r.start) < position { before += samples.count } else { after += samples.count }
            }
        }
        return (before, after)
    }
}
