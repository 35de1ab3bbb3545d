import Contracts
import Crypto
import Foundation
import Observability
import Signatures

extension IdempotencyKey {
    /// SHA-256 of a JSON body in canonical form (objects' keys sorted, compact): the same for the
    /// same request however the client spelled it. `body` has been decoded as its input already,
    /// so it is JSON; if not, its bytes are hashed as they are.
    public static func fingerprint(ofJSON body: some Collection<UInt8>) -> String {
        let data = Data(body)
        guard let tree = try? WireCoding.decoder.decode(CanonicalJSON.self, from: data) else { return Hex.encode(SHA256.hash(data: data)) }
        return fingerprint(canonical: tree.canonical)
    }
}

/// A request body as a tree of JSON values, only to write it in one canonical form: what a
/// request's fingerprint hashes, so a retry that spells the same body differently (key order,
/// spacing) still matches. Requests themselves are decoded as their `Decodable` inputs.
enum CanonicalJSON: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([CanonicalJSON])
    case object([String: CanonicalJSON])

    init(from decoder: any Decoder) throws {
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
        } else if let value = try? container.decode([CanonicalJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: CanonicalJSON].self))
        }
    }


    /// Compact JSON with every object's keys sorted: the same bytes for the same value however
    /// the client spelled it (what an idempotency fingerprint hashes).
    var canonical: [UInt8] {
        var bytes: [UInt8] = []
        write(to: &bytes)
        return bytes
    }

    func write(to bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let value): bytes.append(contentsOf: (value ? "true" : "false").utf8)
        case .integer(let value): bytes.append(contentsOf: String(value).utf8)
        case .number(let value): bytes.append(contentsOf: String(value).utf8)
        case .string(let value): JSONText.append(string: value, to: &bytes)
        case .array(let values):
            bytes.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                value.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object):
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                JSONText.append(string: key, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                object[key]!.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }
}
