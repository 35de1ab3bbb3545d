import Foundation

/// The one coder configuration for everything that crosses a service boundary: event envelopes,
/// notices, look-ups, summaries, outbox payloads and the event log. Keys are spelled out by each
/// contract's `CodingKeys` (snake_case), so no key conversion runs on the hot paths, and they are
/// not sorted: nothing compares these bytes (a signature covers the bytes as sent), and sorting
/// costs every pledge and every ingested event (see docs/performance.md).
///
/// Both are made once: their settings never change, and coding with them is safe from any thread.
public enum WireCoding {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder = JSONDecoder()

    /// `value` as the UTF-8 text the wire carries.
    public static func text(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// A value that decoded as JSON but breaks its contract (a status that is not one, an empty id):
/// the reason is what the receiver answers with `rejected`.
public struct ContractViolation: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
