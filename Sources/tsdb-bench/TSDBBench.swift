import ArgumentParser

@main
struct TSDBBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsdb-bench",
        abstract: "Benchmarks for the TSDB engine.",
        subcommands: [Write.self, Replay.self, Compact.self, CompactBlocks.self, Torture.self, Soak.self, PromQLData.self, PromQLBench.self, RemoteWriteLoad.self])
}
