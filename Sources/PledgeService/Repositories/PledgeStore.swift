import Contracts
import HTTPSupport
import Idempotency
import Persistence

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

/// Persistence of pledges.
public protocol PledgeStore: Sendable {
    /// Claims the idempotency key with its answer and, when this request is the first to use it,
    /// writes the pledge, its first transition and its PLEDGE_CREATED outbox row, all in one
    /// transaction (`.proceed`); otherwise writes nothing and says what to answer instead.
    func create(_ new: NewPledge) async throws -> IdempotencyDecision
    /// The pledge alone (what payment-service's lookup needs).
    func pledge(id: PledgeID) async throws -> Pledge?
    /// The pledge with its transitions, oldest first.
    func find(id: PledgeID) async throws -> (Pledge, [TransitionResponse])?
    /// Pledges newest first, `limit + 1` rows after `cursor`, narrowed by the filters given.
    /// `email` matches a guest's email or a signed-in donor's account email, whatever the case.
    func list(userId: UserID?, campaignId: CampaignID?, status: PledgeStatus?, email: String?, limit: Int, after cursor: PageCursor?) async throws -> [Pledge]
    /// Applies payment notices as one set, in one transaction: the pledges they name are locked
    /// in id order, notices seen before are `duplicate`, the rest go through the state machine in
    /// the order given, and every applied one writes its transition and PLEDGE_STATUS_CHANGED
    /// outbox row; one outcome per notice, in order, with the pledge's status after it (`rejected`
    /// for an unknown pledge).
    /// Moving a pledge to CAPTURED also issues its receipt, once, in the same transaction.
    func applyPaymentNotices(_ notices: [PaymentStatusNotice], source: String) async throws -> [IngestOutcome]
    /// The receipts of those pledges that have one, by pledge id.
    func receipts(pledgeIds: [PledgeID]) async throws -> [PledgeID: Receipt]
}
