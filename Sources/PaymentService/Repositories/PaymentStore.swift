import Contracts
import HTTPSupport
import Persistence

/// A provider webhook being handled: recorded in `provider_events` in the same transaction as
/// what it changes, so a redelivery is recognised and a failed handling can be retried.
public struct ProviderEventRecord: Sendable, Equatable {
    public let id: String
    public let type: String
    public let paymentIntentId: String?
}

/// What the provider says of a payment's intent, to be recorded.
public struct Settlement: Sendable, Equatable {
    /// The provider's intent id (nil when none was ever made); a payment records its first and
    /// never changes it.
    public let intentId: String?
    public let clientSecret: String?
    /// The status the intent means, nil while nothing is settled (only the intent id is recorded).
    public let status: PledgeStatus?
    public let failureReason: String?

    public init(intentId: String?, clientSecret: String? = nil, status: PledgeStatus?, failureReason: String? = nil) {
        self.intentId = intentId
        self.clientSecret = clientSecret
        self.status = status
        self.failureReason = failureReason
    }
}

/// The state a payment request starts from: the pledge's payment, if any, and how many payment
/// methods the provider refused for it.
public struct PaymentStart: Sendable {
    public let payment: Payment?
    public let refusedAttempts: Int
}

/// Persistence of payments. Every status change writes its events in the same transaction:
/// `PAYMENT_CAPTURED` / `PAYMENT_FAILED` for campaign-service and a status notice for
/// pledge-service, both through the outbox.
public protocol PaymentStore: Sendable {
    /// The pledge's payment and refusals so far, in one query.
    func start(pledgeId: PledgeID) async throws -> PaymentStart
    /// Inserts `payment` unless the pledge has one already. Returns the pledge's payment and
    /// whether this call created it; of any number of concurrent calls, exactly one creates.
    func insertIfAbsent(_ payment: Payment) async throws -> (Payment, created: Bool)
    func find(id: PaymentID) async throws -> Payment?
    func find(pledgeId: PledgeID) async throws -> Payment?
    func find(providerPaymentId: String) async throws -> Payment?
    /// Payments newest first, `limit + 1` rows after `cursor`, narrowed by the filters given.
    func list(userId: UserID?, pledgeId: PledgeID?, limit: Int, after cursor: PageCursor?) async throws -> [Payment]
    /// Payments still PENDING or AUTHORIZED whose last change is older than `before`, oldest first.
    func unsettled(changedBefore before: String, limit: Int) async throws -> [Payment]
    /// Forgets a payment the provider refused before creating anything (an unknown or unusable
    /// payment method), so the donor may try another method, and counts the refusal against its
    /// pledge. Returns the pledge's refusals so far.
    func discardRefused(paymentId: PaymentID, pledgeId: PledgeID, at time: String) async throws -> Int
    /// Whether the provider event was handled before.
    func hasSeen(eventId: String) async throws -> Bool
    /// Records a provider event that changes nothing; false if it was seen before.
    func recordEvent(_ event: ProviderEventRecord, result: String) async throws -> Bool
    /// Records what the provider says: the intent id (once), and the status if it is a higher
    /// rank, with its events, in one transaction; `event` (if any) is recorded in it too, and a
    /// redelivered one changes nothing (`duplicate`). `payment` is the caller's copy (its amount,
    /// pledge and campaign never change; its status may be behind). Returns the payment as it ends up.
    func settle(_ payment: Payment, with settlement: Settlement, traceParent: String?, event: ProviderEventRecord?) async throws
        -> (IngestResult, Payment)

    // MARK: Refunds

    /// Reserves an admin's refund as PENDING, in one transaction that orders it against every
    /// other refund of the payment: never more than is left, counting refunds still pending. The
    /// same key with the same body finds its first refund; with another body, `keyReused`.
    func reserveRefund(_ request: RefundRequest) async throws -> RefundReservation
    /// The payment's refunds, oldest first.
    func refunds(paymentId: PaymentID) async throws -> [Refund]
    func refund(id: String) async throws -> Refund?
    /// Marks a PENDING refund FAILED (the provider refused it); returns it as it ends up.
    func failRefund(id: String, reason: String, at time: String) async throws -> Refund?
    /// Records the provider's refunds of the payment in one transaction: each ours is marked
    /// SUCCEEDED or FAILED, one made elsewhere gets a row, and when the succeeded ones add up to
    /// more than the payment has recorded, its `refunded_amount` rises (REFUNDED once it is all)
    /// with `PAYMENT_REFUNDED` and a notice to pledge-service. `event` (if any) is recorded in
    /// it too; a redelivered one changes nothing (`duplicate`).
    func recordRefunds(_ payment: Payment, provider refunds: [ProviderRefund], traceParent: String?, event: ProviderEventRecord?) async throws
        -> (IngestResult, Payment)
}
