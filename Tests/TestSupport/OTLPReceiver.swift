import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// One span as an OTLP/HTTP receiver got it, with the `service.name` of its resource.
public struct ReceivedSpan: Sendable, CustomStringConvertible {
    public var service = ""
    /// The role that made it (`careforall.service`): in dev mode every role shares one `service.name`.
    public var role: String { attributes["careforall.service"] ?? "" }
    public var traceID = ""
    public var spanID = ""
    public var parentSpanID = ""
    public var name = ""
    public var kind = 0
    public var startNanoseconds: UInt64 = 0
    public var endNanoseconds: UInt64 = 0
    public var attributes: [String: String] = [:]
    /// Each link as `<trace id>-<span id>`.
    public var links: [String] = []

    public var durationMilliseconds: Double { Double(endNanoseconds &- startNanoseconds) / 1_000_000 }

    public var description: String {
        "\(role) \(name) [\(spanID) <- \(parentSpanID.isEmpty ? "root" : parentSpanID)] \(String(format: "%.1f", durationMilliseconds)) ms"
    }
}

/// An OTLP/HTTP trace receiver on loopback: `POST /v1/traces` with an `ExportTraceServiceRequest`
/// in protobuf, read with a small wire-format decoder of the fields tests look at (the Python
/// receiver in `scripts/test` reads the same with the OpenTelemetry project's own definitions).
public final class OTLPReceiver: Sendable {
    public let port: Int
    private let received = Mutex<[ReceivedSpan]>([])

    public init(port: Int) {
        self.port = port
    }

    public var endpoint: String { "http://127.0.0.1:\(port)" }
    public var spans: [ReceivedSpan] { received.withLock { $0 } }

    /// Runs the receiver while `body` runs.
    public func run<Value: Sendable>(_ body: @Sendable () async throws -> Value) async throws -> Value {
        let router = Router()
        router.post("/v1/traces") { request, context -> Response in
            let buffer = try await request.body.collect(upTo: 64 << 20)
            let spans = try OTLPWire.spans(in: Array(buffer.readableBytesView))
            self.received.withLock { $0 += spans }
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"])
        }
        var logger = Logger(label: "otlp-receiver")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            let value = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.next()
            return value
        }
    }
}

/// Protobuf's wire format, just enough of `opentelemetry/proto/collector/trace/v1` to read spans.
enum OTLPWire {
    struct Malformed: Error {}

    /// `(field number, wire type, payload)` triples of one message; varints and fixed numbers as
    /// their value, length-delimited fields as their bytes.
    enum Value {
        case number(UInt64)
        case bytes(ArraySlice<UInt8>)
    }

    static func fields(_ bytes: ArraySlice<UInt8>) throws -> [(Int, Value)] {
        var fields: [(Int, Value)] = []
        var index = bytes.startIndex
        func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.endIndex, shift < 64 else { throw Malformed() }
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        func fixed(_ count: Int) throws -> UInt64 {
            guard bytes.endIndex - index >= count else { throw Malformed() }
            var result: UInt64 = 0
            for offset in 0..<count { result |= UInt64(bytes[index + offset]) << (8 * UInt64(offset)) }
            index += count
            return result
        }
        while index < bytes.endIndex {
            let key = try varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: fields.append((field, .number(try varint())))
            case 1: fields.append((field, .number(try fixed(8))))
            case 5: fields.append((field, .number(try fixed(4))))
            case 2:
                let length = Int(try varint())
                guard length >= 0, bytes.endIndex - index >= length else { throw Malformed() }
                fields.append((field, .bytes(bytes[index..<index + length])))
                index += length
            default: throw Malformed()
            }
        }
        return fields
    }

    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// `ExportTraceServiceRequest.resource_spans` (1) -> `ResourceSpans.resource` (1) and
    /// `.scope_spans` (2) -> `ScopeSpans.spans` (2).
    static func spans(in body: [UInt8]) throws -> [ReceivedSpan] {
        var spans: [ReceivedSpan] = []
        for case (1, .bytes(let resourceSpans)) in try fields(body[...]) {
            var service = ""
            var scopeSpans: [ArraySlice<UInt8>] = []
            for (field, value) in try fields(resourceSpans) {
                guard case .bytes(let bytes) = value else { continue }
                if field == 1 { service = try attributes(of: bytes, field: 1)["service.name"] ?? "" }
                if field == 2 { scopeSpans.append(bytes) }
            }
            for scope in scopeSpans {
                for case (2, .bytes(let bytes)) in try fields(scope) {
                    var span = try self.span(bytes)
                    span.service = service
                    spans.append(span)
                }
            }
        }
        return spans
    }

    /// `Span`: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, start 7, end 8,
    /// attributes 9, links 13 (`Link`: trace_id 1, span_id 2).
    static func span(_ bytes: ArraySlice<UInt8>) throws -> ReceivedSpan {
        var span = ReceivedSpan()
        for (field, value) in try fields(bytes) {
            switch (field, value) {
            case (1, .bytes(let id)): span.traceID = hex(id)
            case (2, .bytes(let id)): span.spanID = hex(id)
            case (4, .bytes(let id)): span.parentSpanID = hex(id)
            case (5, .bytes(let name)): span.name = String(decoding: name, as: UTF8.self)
            case (6, .number(let kind)): span.kind = Int(kind)
            case (7, .number(let time)): span.startNanoseconds = time
            case (8, .number(let time)): span.endNanoseconds = time
            case (9, .bytes(let attribute)): span.attributes.merge(try keyValue(attribute).map { [$0.0: $0.1] } ?? [:]) { _, new in new }
            case (13, .bytes(let link)):
                var traceID = ""
                var spanID = ""
                for case (let field, .bytes(let id)) in try fields(link) {
                    if field == 1 { traceID = hex(id) }
                    if field == 2 { spanID = hex(id) }
                }
                span.links.append(traceID + "-" + spanID)
            default: break
            }
        }
        return span
    }

    /// The `KeyValue`s in field `field` of a message, values as text.
    static func attributes(of bytes: ArraySlice<UInt8>, field: Int) throws -> [String: String] {
        var attributes: [String: String] = [:]
        for case (let number, .bytes(let pair)) in try fields(bytes) where number == field {
            if let (key, value) = try keyValue(pair) { attributes[key] = value }
        }
        return attributes
    }

    /// `KeyValue`: key 1, value 2 (`AnyValue`: string 1, bool 2, int 3, double 4).
    static func keyValue(_ bytes: ArraySlice<UInt8>) throws -> (String, String)? {
        var key: String?
        var value = ""
        for (field, content) in try fields(bytes) {
            switch (field, content) {
            case (1, .bytes(let text)): key = String(decoding: text, as: UTF8.self)
            case (2, .bytes(let any)):
                for (kind, inner) in try fields(any) {
                    switch (kind, inner) {
                    case (1, .bytes(let text)): value = String(decoding: text, as: UTF8.self)
                    case (2, .number(let flag)): value = flag == 0 ? "false" : "true"
                    case (3, .number(let number)): value = String(Int64(bitPattern: number))
                    case (4, .number(let bits)): value = String(Double(bitPattern: bits))
                    default: break
                    }
                }
            default: break
            }
        }
        return key.map { ($0, value) }
    }
}
