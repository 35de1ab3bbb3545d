import Foundation

/// What can travel many to a request: `{"<key>": [...]}` (at most `Batch.maximumCount`).
public protocol BatchItem: Decodable, Sendable {
    /// `events` for event envelopes, `notices` for payment notices.
    static var batchKey: String { get }
}

/// What a receiver gets: `{"<key>": [...]}`, or one item. Each item is decoded on its own, as the
/// type the sender encoded, so one item that cannot be read does not fail the others: it comes
/// back `unreadable` with its `event_id` (when it has one) and why.
public struct Batch<Item: BatchItem>: Decodable, Sendable {
    public enum Element: Sendable {
        case decoded(Item)
        case unreadable(eventId: String?, reason: String)
    }

    public let elements: [Element]
    /// The body was `{"<key>": [...]}` (answered `{results: [...]}`), not one item.
    public let isBatch: Bool

    /// The most items one request may carry (the relays size their batches to it).
    public static var maximumCount: Int { 1000 }

    /// The key is there and its value is not an array.
    public struct NotAnArray: Error {}

    struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        let key = Key(stringValue: Item.batchKey)
        if container.contains(key) {
            guard let elements = try? container.decode([ElementDecoder].self, forKey: key) else { throw NotAnArray() }
            self.elements = elements.map(\.element)
            self.isBatch = true
        } else {
            self.elements = [try ElementDecoder(from: decoder).element]
            self.isBatch = false
        }
    }

    /// Decodes one element; never throws.
    struct ElementDecoder: Decodable {
        let element: Element

        enum Keys: String, CodingKey { case eventId = "event_id" }

        init(from decoder: any Decoder) throws {
            do {
                element = .decoded(try Item(from: decoder))
            } catch {
                let eventId = try? decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .eventId)
                let reason: String
                if let violation = error as? ContractViolation {
                    reason = violation.reason
                } else if case DecodingError.typeMismatch(_, let context) = error, context.codingPath.isEmpty {
                    reason = "each item must be a JSON object"
                } else {
                    reason = (error as? DecodingError)?.readableDescription ?? "unreadable"
                }
                element = .unreadable(eventId: eventId, reason: reason)
            }
        }
    }
}

extension Envelope: BatchItem {
    public static var batchKey: String { "events" }
}

extension DecodingError {
    /// Where and what: `data.amount is required`, `data.currency has the wrong type`.
    public var readableDescription: String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.filter { $0 != "super" }.joined(separator: ".")
        }
        switch self {
        case .keyNotFound(let key, let context):
            let prefix = path(context)
            return "\(prefix.isEmpty ? "" : prefix + ".")\(key.stringValue) is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)) has the wrong type"
        case .dataCorrupted(let context):
            return "\(path(context)) is invalid (\(context.debugDescription))"
        @unknown default:
            return "unreadable"
        }
    }
}
