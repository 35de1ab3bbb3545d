import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Signatures

extension HTTPField.Name {
    public static let requestID = HTTPField.Name("X-Request-ID")!
}

/// Accepts a well-formed `X-Request-ID` or makes one, puts it into the request's logger, and
/// echoes it on the response.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = request.headers[.requestID].flatMap(Self.accept) ?? UUID().uuidString.lowercased()
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)
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
        generateWithID().header
    }

    /// A new `traceparent` and its trace id. Three draws of 64 random bits (not one per byte:
    /// each draw is a system call) and a table lookup per hex digit.
    public static func generateWithID() -> (header: String, traceID: String) {
        var generator = SystemRandomNumberGenerator()
        let traceID = hex(generator.next()) + hex(generator.next())
        return ("00-" + traceID + "-" + hex(generator.next()) + "-01", traceID)
    }

    static func hex(_ value: UInt64) -> String {
        withUnsafeBytes(of: value.bigEndian) { Hex.encode($0) }
    }

    /// The trace id of a well-formed `traceparent` (version 00, 32 hex digits of trace id, not all
    /// zero, 16 of span id, 2 of flags), lowercased; nil for anything else. Read byte by byte: it
    /// runs on every request.
    public static func traceID(from header: String) -> String? {
        var header = header
        return header.withUTF8 { bytes -> String? in
            guard bytes.count == 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-") else {
                return nil
            }
            func isHex(_ range: Range<Int>) -> Bool { range.allSatisfy { Hex.isDigit(bytes[$0]) } }
            guard isHex(0..<2), isHex(3..<35), isHex(36..<52), isHex(53..<55), bytes[3..<35].contains(where: { $0 != UInt8(ascii: "0") }) else {
                return nil
            }
            return String(decoding: bytes[3..<35], as: UTF8.self).lowercased()
        }
    }
}
