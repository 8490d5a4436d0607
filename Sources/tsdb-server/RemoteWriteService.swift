import Logging
import RemoteWrite
import ServiceLifecycle
import TSDB

/// Runs the remote-write sender until graceful shutdown, then lets it flush within its
/// flush deadline. Listed after ``DBCloseService`` so it stops before the database closes.
struct RemoteWriteService: Service {
    let writer: RemoteWriter

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await writer.run()
        }
    }

    /// One endpoint per `--remote-write.url`, named after the URL so its position file
    /// (`<data>/remote-write/<name>.position`) is found again after a restart.
    static func endpoints(_ urls: [String]) -> [RemoteWriteEndpoint] {
        urls.map { url in
            let stripped = url.split(separator: "://", maxSplits: 1).last.map(String.init) ?? url
            var name = String(stripped.unicodeScalars.map { c -> Character in
                let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_" || c == "."
                return ok ? Character(c) : "-"
            })
            while name.hasSuffix("-") { name.removeLast() }
            return RemoteWriteEndpoint(url: url, name: name.isEmpty ? "remote" : name)
        }
    }
}
