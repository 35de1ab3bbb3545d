/// What a receiver did with one event or notice. Every receiver answers with these (campaign-,
/// notification- and pledge-service), and every publisher's relay reads them the same way:
/// `applied`, `duplicate` and `ignored` are delivered; `rejected` is final (the row is dead).
public enum IngestResult: String, Codable, Sendable, CaseIterable {
    /// First time seen; it changed what the receiver keeps.
    case applied
    /// Seen before (by its id): nothing changed.
    case duplicate
    /// Read and valid, but it changes nothing (stale news, no address to write to).
    case ignored
    /// It can never be applied (malformed, an unknown pledge or campaign, another currency).
    case rejected
}

/// One item's answer: `{event_id, result, reason?, status?}`. `status` is pledge-service's: the
/// pledge's status after a payment notice.
public struct IngestOutcome: Codable, Sendable, Equatable {
    /// Absent only in the answer to a lone notice (`POST /pledges/webhooks/payment` with one).
    public var eventId: String?
    public var result: IngestResult
    public var reason: String?
    public var status: PledgeStatus?

    public init(eventId: String?, result: IngestResult, reason: String? = nil, status: PledgeStatus? = nil) {
        self.eventId = eventId
        self.result = result
        self.reason = reason
        self.status = status
    }

    public static func rejected(_ eventId: String?, _ reason: String) -> IngestOutcome {
        IngestOutcome(eventId: eventId, result: .rejected, reason: reason)
    }

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id", result, reason, status
    }
}

/// A batch's answer: `{results: [...]}`, one per item, in order.
public struct IngestResults: Codable, Sendable, Equatable {
    public var results: [IngestOutcome]

    public init(results: [IngestOutcome]) {
        self.results = results
    }
}
