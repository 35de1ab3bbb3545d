import Foundation
import HTTPTypes
import Hummingbird
import Logging

extension HTTPField.Name {
    public static let requestID = HTTPField.Name("X-Request-ID")!
}

/// Accepts a well-formed `X-Request-ID` or makes one, puts it and the trace id (of the caller's
/// W3C `traceparent`, or of a new trace) into the request's logger, and echoes the id on the response.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = request.headers[.requestID].flatMap(Self.accept) ?? UUID().uuidString.lowercased()
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let incoming = request.headers[.traceparent].flatMap { TraceParent.traceID(from: $0) != nil ? $0 : nil }
        context.traceParent = incoming ?? TraceParent.generate()
        if let traceID = TraceParent.traceID(from: context.traceParent) {
            context.logger[metadataKey: "trace_id"] = .string(traceID)
        }
        var response = try await next(request, context)
        response.headers[.requestID] = requestID
        return response
    }

    /// Request ids from outside are echoed into logs and headers, so only plain tokens are taken.
    static func accept(_ value: String) -> String? {
        guard (1...128).contains(value.count),
            value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) })
        else { return nil }
        return value
    }
}

/// The parts of a W3C `traceparent` header (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`).
public enum TraceParent {
    /// A new trace: random trace and span ids, sampled.
    public static func generate() -> String {
        func hex(_ count: Int) -> String {
            var generator = SystemRandomNumberGenerator()
            return (0..<count).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        }
        return "00-\(hex(16))-\(hex(8))-01"
    }

    public static func traceID(from header: String) -> String? {
        let parts = header.split(separator: "-")
        guard parts.count == 4, parts[0].count == 2, parts[1].count == 32, parts[2].count == 16,
            parts[1].allSatisfy(\.isHexDigit), parts[2].allSatisfy(\.isHexDigit),
            parts[1] != String(repeating: "0", count: 32)
        else { return nil }
        return String(parts[1]).lowercased()
    }
}
