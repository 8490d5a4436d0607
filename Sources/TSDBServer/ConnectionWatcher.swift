import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Notices, on one connection, that the client closed it (end of input or the channel
/// going inactive), and cancels what the request in progress registered, as Go cancels a
/// request's context when its connection's background read sees EOF.
///
/// Unlike Hummingbird's `consumeWithCancellationOnInboundClose`, which reads the inbound
/// stream in a task it cancels afterwards (finishing the stream, so the connection closes
/// after the answer), this handler only looks at events passing through the pipeline: the
/// connection stays alive for the next request.
final class ConnectionWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The watcher of the connection whose requests the current task answers.
    @TaskLocal static var current: ConnectionWatcher?

    private struct State {
        var closed = false
        var onClose: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    init() {}

    /// Whether the client has closed its side.
    var isClosed: Bool { state.withLock { $0.closed } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed { clientClosed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientClosed()
        context.fireChannelInactive()
    }

    private func clientClosed() {
        let action = state.withLock { s -> (@Sendable () -> Void)? in
            s.closed = true
            let a = s.onClose
            s.onClose = nil
            return a
        }
        action?()
    }

    /// Runs `operation` in a task of its own, cancelled when the client closes the connection
    /// (or already has) or when the calling task is cancelled.
    func cancellingOnClose<T: Sendable>(_ operation: @escaping @Sendable () async -> T) async -> T {
        let task = Task { await operation() }
        let closed = state.withLock { s -> Bool in
            if s.closed { return true }
            s.onClose = { task.cancel() }
            return false
        }
        if closed { task.cancel() }
        let value = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        state.withLock { $0.onClose = nil }
        return value
    }
}

/// Hummingbird's HTTP/1 child channel with a ``ConnectionWatcher`` first in each
/// connection's pipeline, made ``ConnectionWatcher/current`` while the connection is served.
struct WatchedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    struct Value: ServerChildChannelValue {
        let base: HTTP1Channel.Value
        let watcher: ConnectionWatcher
        var channel: any Channel { base.channel }
    }

    let base: HTTP1Channel

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let watcher = ConnectionWatcher()
            try channel.pipeline.syncOperations.addHandler(watcher, position: .first)
            return Value(base: value, watcher: watcher)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await ConnectionWatcher.$current.withValue(value.watcher) {
            await base.handle(value: value.base, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 as `.http1(configuration:)`, keeping connections alive while still cancelling
    /// a query whose client closes its connection (``TSDBServer`` uses the watcher when the
    /// application is built with this; without it, it falls back to Hummingbird's
    /// `consumeWithCancellationOnInboundClose`, which closes the connection after each query).
    public static func http1WatchingDisconnects(configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        .init { responder in
            WatchedHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration))
        }
    }
}
