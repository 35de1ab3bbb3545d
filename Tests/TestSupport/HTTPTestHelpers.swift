import Contracts
import Crypto
import Foundation
import HTTPSupport
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat

extension TestResponse {
    /// The body decoded as JSON with the API's snake_case convention.
    public func json<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONCoding.decoder.decode(T.self, from: Data(buffer: body))
    }

    /// The body decoded as a contract between services (its keys spelled out), with the one coder
    /// the services use for them.
    public func wire<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try WireCoding.decoder.decode(T.self, from: Data(buffer: body))
    }

    /// The `{"error": {"code"}}` of an error response.
    public var errorCode: String? {
        (try? json(ErrorEnvelope.self))?.error.code
    }

    public var text: String {
        String(buffer: body)
    }
}

public struct ErrorEnvelope: Decodable, Sendable {
    public struct Detail: Decodable, Sendable {
        public let code: String
        public let message: String
    }
    public let error: Detail
}

extension ByteBuffer {
    /// A JSON body from a dictionary literal. Ids and other raw-value types go as their raw values.
    public init(json object: [String: any Sendable]) {
        self.init(data: try! jsonData(object))
    }
}

/// JSON from dictionaries and arrays whose ids and other raw-value types go as their raw values.
public func jsonData(_ object: Any) throws -> Data {
    try JSONSerialization.data(withJSONObject: plainJSON(object))
}

func plainJSON(_ value: Any) -> Any {
    switch value {
    case let dictionary as [String: Any]: dictionary.mapValues(plainJSON)
    case let array as [Any]: array.map(plainJSON)
    case let raw as any RawRepresentable: raw.rawValue
    default: value
    }
}

extension HTTPFields {
    public static let json: HTTPFields = [.contentType: "application/json"]

    public static func bearer(_ token: String) -> HTTPFields {
        [.contentType: "application/json", .authorization: "Bearer \(token)"]
    }
}

public enum TestKeys {
    /// One ES256 key for the whole test process.
    public static let signingKeyPEM: String = P256.Signing.PrivateKey().pemRepresentation
}

/// Any `{items, next_cursor}` list answer.
public struct PageBody<Item: Decodable & Sendable>: Decodable, Sendable {
    public let items: [Item]
    public let nextCursor: String?
}
