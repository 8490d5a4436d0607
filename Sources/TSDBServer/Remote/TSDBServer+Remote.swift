import Hummingbird
import Logging

extension TSDBServer {
    /// Remote write (`POST write`, unless ``RemoteConfiguration/enableWriteReceiver`` is off)
    /// and remote read (`POST read`), relative to `group` (mount it at `api/v1`).
    public func addRemoteRoutes<Context: RequestContext>(to group: RouterGroup<Context>) {
        let logger = api.logger
        if remote.enableWriteReceiver {
            let writer = RemoteWriteHandler(db: api.db, configuration: remote, logger: logger, stats: RemoteWriteStats())
            group.post("write") { request, _ in await writer.handle(request) }
        } else {
            group.post("write") { _, _ in
                // 2.42's answer when the receiver is off.
                RemoteResponse.error(.notFound, "remote write receiver needs to be enabled with --enable-feature=remote-write-receiver")
            }
        }
        let reader = RemoteReadHandler(db: api.db, configuration: remote, logger: logger)
        group.post("read") { request, _ in await reader.handle(request) }
    }
}
