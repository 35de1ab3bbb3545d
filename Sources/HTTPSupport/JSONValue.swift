import Foundation
import HTTPTypes

/// Any JSON value, for bodies whose fields get their own error codes (a wrong type for
/// `goal_amount` is `invalid_goal_amount`, not a generic decoding error).
public enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}

extension JSONRequestDecoder {
    /// The body as a JSON object, or 400 `invalid_json`.
    public static func object(from data: some Collection<UInt8>) throws -> [String: JSONValue] {
        guard case .object(let object) = try? PlainJSON.decoder.decode(JSONValue.self, from: Data(data)) else {
            throw APIError(.badRequest, code: "invalid_json", message: "The request body must be a JSON object.")
        }
        return object
    }
}

/// A decoder without key conversion, for payloads whose keys are spelled out (event envelopes).
public enum PlainJSON {
    public static let decoder = JSONDecoder()
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
