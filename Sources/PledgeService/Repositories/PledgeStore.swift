import Events
import HTTPSupport
import Idempotency

/// A pledge to create, with the event and the idempotent answer that commit with it.
public struct NewPledge: Sendable {
    public let pledge: Pledge
    public let event: EventEnvelope
    public let idempotencyScope: String
    public let idempotencyKey: String
    /// The request's fingerprint: the same key with another body is refused.
    public let requestHash: String
    public let responseStatus: Int
    public let responseBody: String
}

/// A payment status report from payment-service.
public struct PaymentWebhook: Sendable, Equatable {
    public let eventId: String
    public let pledgeId: String
    public let paymentId: String
    public let status: PledgeStatus
    public let occurredAt: String
    public let reason: String?
    /// The trace of the request that reported it, carried on to the event it causes.
    public var traceParent: String? = nil
}

public enum WebhookResult: String, Codable, Sendable {
    case applied
    case ignored
    case duplicate
}

/// Persistence of pledges.
public protocol PledgeStore: Sendable {
    /// Claims the idempotency key with its answer and, when this request is the first to use it,
    /// writes the pledge, its first transition and its PLEDGE_CREATED outbox row, all in one
    /// transaction (`.proceed`); otherwise writes nothing and says what to answer instead.
    func create(_ new: NewPledge) async throws -> IdempotencyDecision
    /// The pledge with its transitions, oldest first.
    func find(id: String) async throws -> (Pledge, [TransitionResponse])?
    /// Pledges newest first, `limit + 1` rows after `cursor`, narrowed by the filters given.
    func list(userId: String?, campaignId: String?, status: PledgeStatus?, limit: Int, after cursor: PageCursor?) async throws -> [Pledge]
    /// Deduplicates by event id, locks the pledge, applies or ignores the news through the state
    /// machine, and writes the transition and its PLEDGE_STATUS_CHANGED outbox row, all in one
    /// transaction. Nil when there is no such pledge.
    func applyPaymentWebhook(_ webhook: PaymentWebhook, source: String) async throws -> (WebhookResult, PledgeStatus)?
}
