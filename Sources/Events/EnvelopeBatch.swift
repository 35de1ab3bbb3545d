import Foundation

/// What a consumer receives: `{"events": [...]}`, or one envelope. Each element is decoded on its
/// own, as the `Envelope` the publisher encoded, so one element that cannot be read does not
/// fail the others; it comes back `unreadable` with its `event_id` (when it has one) and why.
public struct EnvelopeBatch<Envelope: Decodable & Sendable>: Decodable, Sendable {
    public enum Element: Sendable {
        case decoded(Envelope)
        case unreadable(eventId: String?, reason: String)
    }

    public let elements: [Element]

    /// The most events one request may carry (the relays size their batches to it).
    public static var maximumCount: Int { 1000 }

    /// `events` is there and is not an array.
    public struct NotAnArray: Error {}

    enum Keys: String, CodingKey { case events }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        if container.contains(.events) {
            guard let elements = try? container.decode([ElementDecoder].self, forKey: .events) else { throw NotAnArray() }
            self.elements = elements.map(\.element)
        } else {
            self.elements = [try ElementDecoder(from: decoder).element]
        }
    }

    /// Decodes one element; never throws.
    struct ElementDecoder: Decodable {
        let element: Element

        enum Keys: String, CodingKey { case eventId = "event_id" }

        init(from decoder: any Decoder) throws {
            do {
                element = .decoded(try Envelope(from: decoder))
            } catch {
                let eventId = try? decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .eventId)
                element = .unreadable(eventId: eventId, reason: (error as? DecodingError)?.readableDescription ?? "unreadable")
            }
        }
    }
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
