import Hummingbird

/// Answers in the shape of Go's `http.Error`: plain text, the message and a newline.
enum RemoteResponse {
    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status,
                 headers: [.contentType: "text/plain; charset=utf-8", .init("X-Content-Type-Options")!: "nosniff"],
                 body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    /// A snappy-compressed protobuf message body.
    static func protobuf(_ compressed: [UInt8]) -> Response {
        Response(status: .ok,
                 headers: [.contentType: "application/x-protobuf", .contentEncoding: "snappy"],
                 body: .init(byteBuffer: ByteBuffer(bytes: compressed)))
    }

    /// A `Content-Encoding` other than snappy (none counts as snappy, as 2.42 never looks).
    static func unsupportedEncoding(_ request: Request) -> Response? {
        guard let encoding = request.headers[.contentEncoding],
              encoding.lowercased() != "snappy" else { return nil }
        return error(.unsupportedMediaType,
                     "unsupported Content-Encoding \"\(encoding)\": remote-write and remote-read bodies are snappy-compressed")
    }
}
