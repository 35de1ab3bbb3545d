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
    /// The payment's cumulative refund, when the notice reports one.
    public var refundedAmount: Int64 = 0
}

public enum WebhookResult: String, Codable, Sendable {
    case applied
    case ignored
    case duplicate
    /// An unknown pledge or a malformed notice: final for the sender, never retried.
    case rejected
}

/// What became of one payment notice.
public struct NoticeOutcome: Sendable, Equatable {
    public let eventId: String
    public let result: WebhookResult
    /// The pledge's status after the notice; nil when there is no such pledge.
    public let status: PledgeStatus?
    public let reason: String?

    public init(eventId: String, result: WebhookResult, status: PledgeStatus?, reason: String? = nil) {
        self.eventId = eventId
        self.result = result
        self.status = status
        self.reason = reason
    }
}

/// Persistence of pledges.
public protocol PledgeStore: Sendable {
    /// Claims the idempotency key with its answer and, when this request is the first to use it,
    /// writes the pledge, its first transition and its PLEDGE_CREATED outbox row, all in one
    /// transaction (`.proceed`); otherwise writes nothing and says what to answer instead.
    func create(_ new: NewPledge) async throws -> IdempotencyDecision
    /// The pledge alone (what payment-service's lookup needs).
    func pledge(id: String) async throws -> Pledge?
    /// The pledge with its transitions, oldest first.
    func find(id: String) async throws -> (Pledge, [TransitionResponse])?
    /// Pledges newest first, `limit + 1` rows after `cursor`, narrowed by the filters given.
    /// `email` matches a guest's email or a signed-in donor's account email, whatever the case.
    func list(userId: String?, campaignId: String?, status: PledgeStatus?, email: String?, limit: Int, after cursor: PageCursor?) async throws -> [Pledge]
    /// Applies payment notices as one set, in one transaction: the pledges they name are locked
    /// in id order, notices seen before are `duplicate`, the rest go through the state machine in
    /// the order given, and every applied one writes its transition and PLEDGE_STATUS_CHANGED
    /// outbox row; one outcome per notice, in order (`rejected` for an unknown pledge).
    /// Moving a pledge to CAPTURED also issues its receipt, once, in the same transaction.
    func applyPaymentNotices(_ notices: [PaymentWebhook], source: String) async throws -> [NoticeOutcome]
    /// The receipts of those pledges that have one, by pledge id.
    func receipts(pledgeIds: [String]) async throws -> [String: Receipt]
}
