import Contracts
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationEssentialsCompat

/// Who is calling, as established by a verified access token.
public struct Principal: Sendable, Equatable {
    public let userID: UserID
    public let email: String
    public let name: String
    public let role: Role
    /// The user's token version the token was issued under (see `AccessTokenClaims.ver`).
    public let tokenVersion: Int

    public init(userID: UserID, email: String, name: String, role: Role, tokenVersion: Int = 0) {
        self.userID = userID
        self.email = email
        self.name = name
        self.role = role
        self.tokenVersion = tokenVersion
    }

    public var isAdmin: Bool { role == .admin }
}

public enum Role: String, Codable, Sendable, CaseIterable {
    case donor
    case admin
}

/// The request context every CareForAll service uses: the request id, the caller (once
/// authenticated) and JSON coding in snake_case.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Accepted from `X-Request-ID` or generated; echoed on the response and in every log line.
    public var requestID: String
    /// Set by the authentication middleware when a valid bearer token is presented.
    public var principal: Principal?
    /// The W3C `traceparent` this request belongs to: the caller's, or a new trace. Passed on to
    /// the services it calls and stored with the events it causes, so one donation is one trace.
    public var traceParent: String
    /// The peer's IP address (the client's, at the edge), for per-client rate limits.
    public let clientAddress: String?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.principal = nil
        self.traceParent = ""
        self.clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies larger than this are refused with 413 `payload_too_large`.
    public var maxUploadSize: Int { HTTPLimits.maxBodySize }

    public var requestDecoder: JSONRequestDecoder { JSONRequestDecoder() }
    public var responseEncoder: JSONEncoder { JSONCoding.encoder }
}

public enum HTTPLimits {
    /// JSON APIs never need more than this.
    public static let maxBodySize = 1 << 20
}

/// One encoder and one decoder per process, made once: their settings never change after, and
/// encoding and decoding with them is safe from any thread.
public enum JSONCoding {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()
}

extension Request {
    /// The whole body, up to the context's limit; beyond it, 413 `payload_too_large`.
    public func collectBody(context: some RequestContext) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge
        }
    }
}

/// Decodes JSON bodies and turns every way they can be wrong into a 400 or 413 with a stable code.
public struct JSONRequestDecoder: RequestDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let buffer = try await request.collectBody(context: context)
        return try Self.decode(type, from: Data(buffer: buffer))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard !data.isEmpty else {
            throw APIError(.badRequest, code: "invalid_json", message: "The request body is empty; a JSON object is expected.")
        }
        try UnstorableText.refuse(data)
        do {
            return try JSONCoding.decoder.decode(type, from: data)
        } catch let error as DecodingError {
            throw APIError(decoding: error)
        }
    }
}

extension APIError {
    /// Maps a decoding failure to `invalid_json`, `missing_field` or `invalid_field`, naming the field.
    init(decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey], _ key: (any CodingKey)? = nil) -> String {
            let keys = codingPath + (key.map { [$0] } ?? [])
            return keys.map { $0.intValue.map(String.init) ?? Self.snakeCase($0.stringValue) }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(.badRequest, code: "missing_field", message: "The field '\(path(context.codingPath, key))' is required.")
        case .valueNotFound(_, let context):
            self.init(.badRequest, code: "missing_field", message: "The field '\(path(context.codingPath))' must not be null.")
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty {
                self.init(.badRequest, code: "invalid_json", message: "The request body must be a JSON object.")
            } else {
                self.init(.badRequest, code: "invalid_field", message: "The field '\(path(context.codingPath))' must be of type \(Self.jsonTypeName(type)).")
            }
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                self.init(.badRequest, code: "invalid_json", message: "The request body is not valid JSON.")
            } else {
                self.init(.badRequest, code: "invalid_field", message: "The field '\(path(context.codingPath))' has an invalid value.")
            }
        @unknown default:
            self.init(.badRequest, code: "invalid_json", message: "The request body could not be read.")
        }
    }

    static func snakeCase(_ key: String) -> String {
        key.reduce(into: "") { result, character in
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
    }

    static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "string"
        case is Bool.Type: "boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: "integer"
        case is Double.Type, is Float.Type: "number"
        default: "\(type)".hasPrefix("Array") ? "array" : "object"
        }
    }
}

/// Text no database here may store: NUL. PostgreSQL refuses it in `text`, SQLite would keep it;
/// one rule for both, before anything is written: 400 `invalid_text`.
public enum UnstorableText {
    /// A JSON body can only carry NUL as the escape `\u0000`: found when its backslash is not
    /// itself escaped (an odd run of backslashes before the `u`).
    public static func refuse(_ json: some Collection<UInt8>) throws {
        let bytes = Array(json)
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            var run = 0
            while index < bytes.count, bytes[index] == UInt8(ascii: "\\") {
                run += 1
                index += 1
            }
            if run % 2 == 1, index + 4 < bytes.count, bytes[index] == UInt8(ascii: "u"),
                bytes[(index + 1)...(index + 4)].allSatisfy({ $0 == UInt8(ascii: "0") })
            {
                throw APIError.invalidText
            }
        }
    }

    /// `%00` in a request's path or query.
    public static func refuse(target: String) throws {
        if target.utf8.count >= 3, target.contains("%00") { throw APIError.invalidText }
    }
}
