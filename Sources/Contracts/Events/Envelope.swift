import Foundation

/// What an envelope can carry: a closed set of event bodies, each named by a type, decoded by it.
public protocol EnvelopeBody: Sendable, Equatable {
    associatedtype Kind: Codable, Sendable, Equatable, RawRepresentable where Kind.RawValue == String
    var type: Kind { get }
    /// What the event is about (the pledge, for most): how a publisher finds its events again.
    var aggregateId: String { get }
    /// The body of an event of `type`.
    init(type: Kind, from decoder: any Decoder) throws
    func encode(to encoder: any Encoder) throws
}

/// `{event_id, type, source, occurred_at, trace_parent?, data}` as publishers write it to their
/// outbox and consumers read it: `EventEnvelope` for campaign-service's pledge and payment events,
/// `NotificationEnvelope` for notification-service's. `data` is decoded as the body its `type`
/// names, once.
public struct Envelope<Body: EnvelopeBody>: Codable, Sendable, Equatable {
    public var eventId: String
    public var type: Body.Kind
    public var source: String
    public var occurredAt: String
    public var traceParent: String?
    public var data: Body

    public init(eventId: String, type: Body.Kind, source: String, occurredAt: String, traceParent: String? = nil, data: Body) {
        self.eventId = eventId
        self.type = type
        self.source = source
        self.occurredAt = occurredAt
        self.traceParent = traceParent
        self.data = data
    }

    /// The type is the body's.
    public init(eventId: String, source: String, occurredAt: String, traceParent: String? = nil, data: Body) {
        self.init(eventId: eventId, type: data.type, source: source, occurredAt: occurredAt, traceParent: traceParent, data: data)
    }

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id", type, source, occurredAt = "occurred_at", traceParent = "trace_parent", data
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.eventId = try container.decode(String.self, forKey: .eventId)
        self.type = try container.decode(Body.Kind.self, forKey: .type)
        self.source = try container.decode(String.self, forKey: .source)
        self.occurredAt = try container.decode(String.self, forKey: .occurredAt)
        self.traceParent = try container.decodeIfPresent(String.self, forKey: .traceParent)
        self.data = try Body(type: type, from: try container.superDecoder(forKey: .data))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(eventId, forKey: .eventId)
        try container.encode(type, forKey: .type)
        try container.encode(source, forKey: .source)
        try container.encode(occurredAt, forKey: .occurredAt)
        try container.encodeIfPresent(traceParent, forKey: .traceParent)
        try data.encode(to: container.superEncoder(forKey: .data))
    }
}
