import TSDB

/// A remote-write 1.0 `WriteRequest`, read straight from its protobuf bytes: the receiver's
/// decoder. One pass checks the whole message's structure and records where each series'
/// labels are and what its samples are; label strings are made only when asked for
/// (``labels(of:maxLabelBytes:)``), so a receiver that knows a series by its encoded labels
/// (``labelKey(of:)``) never makes them. Metadata is skipped, exemplars and native histograms
/// are counted.
///
/// Wire rules, as protobuf's: fields in any order and repeated fields interleaved, the last
/// of a repeated scalar wins, unknown fields of any wire type are skipped, a known field
/// with the wrong wire type, a varint of more than 10 bytes, a length past the end of its
/// message or field number 0 is malformed.
public struct WriteRequestView: Sendable {
    /// One `TimeSeries` of the request.
    public struct Series: Sendable {
        /// Where the series' `TimeSeries` message is in ``bytes``.
        let message: Range<Int>
        /// The series' label fields as they are encoded, when they are contiguous.
        let labelFields: Range<Int>?
        /// The series' samples: indices into ``samples``.
        public let samples: Range<Int>
        /// Exemplars and native histograms the series carries.
        public let exemplars: Int
        public let histograms: Int
    }

    public struct Sample: Sendable, Equatable {
        public var timestamp: Int64
        public var value: Double
    }

    public struct DecodeError: Error, Equatable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "proto: cannot parse WriteRequest at byte \(offset): \(reason)" }
    }

    /// The encoded message.
    public let bytes: [UInt8]
    public private(set) var series: [Series] = []
    public private(set) var samples: [Sample] = []

    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        self.bytes = bytes
        var series: [Series] = []
        var samples: [Sample] = []
        let result = bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Result<Void, DecodeError> in
            do throws(DecodeError) {
                var r = ProtoReader(raw, range: 0..<raw.count)
                while let (field, wire) = try r.tag() {
                    if field == 1 {
                        let m = try r.lengthDelimited(wire)
                        series.append(try Self.timeSeries(raw, m, samples: &samples))
                    } else {
                        try r.skip(wire)
                    }
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        self.series = series
        self.samples = samples
    }

    /// A `TimeSeries` message: its labels checked for structure and located, its samples read.
    private static func timeSeries(_ raw: UnsafeRawBufferPointer, _ m: Range<Int>, samples: inout [Sample]) throws(DecodeError) -> Series {
        var r = ProtoReader(raw, range: m)
        let first = samples.count
        var labelStart = -1
        var labelEnd = -1
        var contiguous = true
        var exemplars = 0
        var histograms = 0
        while true {
            let at = r.position
            guard let (field, wire) = try r.tag() else { break }
            switch field {
            case 1:
                let l = try r.lengthDelimited(wire)
                try label(raw, l)
                if labelStart < 0 {
                    labelStart = at
                } else if labelEnd != at {
                    contiguous = false
                }
                labelEnd = l.upperBound
            case 2:
                samples.append(try sample(raw, try r.lengthDelimited(wire)))
            case 3:
                try wellFormed(raw, try r.lengthDelimited(wire))
                exemplars += 1
            case 4:
                try wellFormed(raw, try r.lengthDelimited(wire))
                histograms += 1
            default:
                try r.skip(wire)
            }
        }
        let fields: Range<Int>? = labelStart < 0 ? m.lowerBound..<m.lowerBound : (contiguous ? labelStart..<labelEnd : nil)
        return Series(message: m, labelFields: fields, samples: first..<samples.count, exemplars: exemplars, histograms: histograms)
    }

    /// Checks a `Label` message's structure; returns its name's and value's bytes.
    @discardableResult
    private static func label(_ raw: UnsafeRawBufferPointer, _ m: Range<Int>) throws(DecodeError) -> (name: Range<Int>, value: Range<Int>) {
        var r = ProtoReader(raw, range: m)
        var name = m.lowerBound..<m.lowerBound
        var value = name
        while let (field, wire) = try r.tag() {
            switch field {
            case 1: name = try r.lengthDelimited(wire)
            case 2: value = try r.lengthDelimited(wire)
            default: try r.skip(wire)
            }
        }
        return (name, value)
    }

    private static func sample(_ raw: UnsafeRawBufferPointer, _ m: Range<Int>) throws(DecodeError) -> Sample {
        var r = ProtoReader(raw, range: m)
        var s = Sample(timestamp: 0, value: 0)
        while let (field, wire) = try r.tag() {
            switch field {
            case 1:
                guard wire == 1 else { throw r.error("sample value with wire type \(wire)") }
                s.value = Double(bitPattern: try r.fixed64())
            case 2:
                guard wire == 0 else { throw r.error("sample timestamp with wire type \(wire)") }
                s.timestamp = Int64(bitPattern: try r.varint())
            default:
                try r.skip(wire)
            }
        }
        return s
    }

    /// A message whose fields are not read: only its tags and lengths are checked.
    private static func wellFormed(_ raw: UnsafeRawBufferPointer, _ m: Range<Int>) throws(DecodeError) {
        var r = ProtoReader(raw, range: m)
        while let (_, wire) = try r.tag() { try r.skip(wire) }
    }

    // MARK: Labels

    /// The series' label fields as encoded: equal bytes mean equal labels, so a receiver can
    /// key a cache of series by them. nil when the label fields are interleaved with others.
    public func labelKey(of series: Series) -> ArraySlice<UInt8>? {
        series.labelFields.map { bytes[$0] }
    }

    /// The series' labels, checked as ``RemoteConversion/labels(_:maxLabelBytes:)`` checks
    /// them; names and values must be UTF-8.
    public func labels(of series: Series, maxLabelBytes: Int = .max) throws(RemoteConversion.LabelError) -> Labels {
        let pairs = bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Result<[(String, String)], DecodeError> in
            do throws(DecodeError) {
                var out: [(String, String)] = []
                var r = ProtoReader(raw, range: series.message)
                while let (field, wire) = try r.tag() {
                    guard field == 1 else {
                        try r.skip(wire)
                        continue
                    }
                    let (name, value) = try Self.label(raw, try r.lengthDelimited(wire))
                    guard let n = String(validating: UnsafeRawBufferPointer(rebasing: raw[name]), as: UTF8.self),
                          let v = String(validating: UnsafeRawBufferPointer(rebasing: raw[value]), as: UTF8.self)
                    else { throw DecodeError(offset: name.lowerBound, reason: "a label is not valid UTF-8") }
                    out.append((n, v))
                }
                return .success(out)
            } catch {
                return .failure(error)
            }
        }
        switch pairs {
        case .failure(let error): throw RemoteConversion.LabelError(description: error.reason)
        case .success(let pairs): return try RemoteConversion.labels(pairs: pairs, maxLabelBytes: maxLabelBytes)
        }
    }
}

/// Reads protobuf's wire format within one message of a buffer.
struct ProtoReader {
    private let raw: UnsafeRawBufferPointer
    private(set) var position: Int
    private let end: Int

    init(_ raw: UnsafeRawBufferPointer, range: Range<Int>) {
        self.raw = raw
        position = range.lowerBound
        end = range.upperBound
    }

    func error(_ reason: String) -> WriteRequestView.DecodeError {
        WriteRequestView.DecodeError(offset: position, reason: reason)
    }

    @inline(__always)
    mutating func varint() throws(WriteRequestView.DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < end {
            let b = raw[position]
            position += 1
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift >= 70 { throw error("varint longer than 10 bytes") }
        }
        throw error("truncated varint")
    }

    /// The next field's number and wire type; nil at the end of the message.
    @inline(__always)
    mutating func tag() throws(WriteRequestView.DecodeError) -> (field: UInt64, wire: UInt64)? {
        guard position < end else { return nil }
        let key = try varint()
        let field = key >> 3
        guard field > 0 else { throw error("field number 0") }
        return (field, key & 7)
    }

    mutating func fixed64() throws(WriteRequestView.DecodeError) -> UInt64 {
        guard end - position >= 8 else { throw error("truncated fixed64") }
        let v = raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        position += 8
        return UInt64(littleEndian: v)
    }

    /// A length-delimited field's bytes; the field must have wire type 2.
    @inline(__always)
    mutating func lengthDelimited(_ wire: UInt64) throws(WriteRequestView.DecodeError) -> Range<Int> {
        guard wire == 2 else { throw error("wire type \(wire) where a length-delimited field was expected") }
        let at = position
        let n = try varint()
        guard n <= UInt64(end - position) else {
            throw WriteRequestView.DecodeError(offset: at, reason: "length \(n) past the end of the message")
        }
        let r = position..<(position + Int(n))
        position = r.upperBound
        return r
    }

    /// Skips a field's value of wire type `wire` (groups included, to their end tag).
    mutating func skip(_ wire: UInt64, depth: Int = 0) throws(WriteRequestView.DecodeError) {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard end - position >= 8 else { throw error("truncated fixed64") }
            position += 8
        case 2: _ = try lengthDelimited(wire)
        case 5:
            guard end - position >= 4 else { throw error("truncated fixed32") }
            position += 4
        case 3:
            guard depth < 100 else { throw error("groups nested too deep") }
            while true {
                guard let (_, w) = try tag() else { throw error("unterminated group") }
                if w == 4 { return }
                try skip(w, depth: depth + 1)
            }
        default:
            throw error("wire type \(wire)")
        }
    }
}
