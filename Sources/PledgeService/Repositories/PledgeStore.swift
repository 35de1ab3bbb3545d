import Events
import HTTPSupport

/// A pledge to create, with the event and the idempotent answer that commit with it.
public struct NewPledge: Sendable {
    public let pledge: Pledge
    public let event: EventEnvelope
    public let idempotencyScope: String
    public let idempotencyKey: String
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
    /// Writes the pledge, its first transition, its PLEDGE_CREATED outbox row and the idempotent
    /// answer in one transaction.
    func create(_ new: NewPledge) async throws
    /// The pledge with its transitions, oldest first.
    func find(id: String) async throws -> (Pledge, [TransitionResponse])?
    /// Pledges newest first, `limit + 1` rows after `cursor`, narrowed by the filters given.
    func list(userId: String?, campaignId: String?, status: PledgeStatus?, limit: Int, after cursor: PageCursor?) async throws -> [Pledge]
    /// Deduplicates by event id, locks the pledge, applies or ignores the news through the state
    /// machine, and writes the transition and its PLEDGE_STATUS_CHANGED outbox row, all in one
    /// transaction. Nil when there is no such pledge.
    func applyPaymentWebhook(_ webhook: PaymentWebhook, source: String) async throws -> (WebhookResult, PledgeStatus)?
}
