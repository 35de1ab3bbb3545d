import Crypto
import Signatures
import Contracts
import Foundation

/// A PaymentIntent's status, as Stripe names them.
public enum PaymentIntentStatus: String, Codable, Sendable, CaseIterable {
    case requiresPaymentMethod = "requires_payment_method"
    case requiresConfirmation = "requires_confirmation"
    case requiresAction = "requires_action"
    case processing
    case requiresCapture = "requires_capture"
    case canceled
    case succeeded

    /// What the intent means for the pledge, or nil while nothing is settled. With manual
    /// capture, `requires_capture` is an authorization; a declined confirmation leaves the intent
    /// in `requires_payment_method` with a `last_payment_error`, which is a failure.
    public func pledgeStatus(hasPaymentError: Bool) -> PledgeStatus? {
        switch self {
        case .requiresCapture: .authorized
        case .succeeded: .captured
        case .canceled: .failed
        case .requiresPaymentMethod: hasPaymentError ? .failed : nil
        case .requiresConfirmation, .requiresAction, .processing: nil
        }
    }
}

/// The provider's view of one payment.
public struct ProviderIntent: Sendable, Equatable {
    public let id: String
    public let status: PaymentIntentStatus
    public let amount: Int64
    public let currency: String
    public let pledgeId: String?
    public let failureReason: String?
    public let clientSecret: String?

    public init(
        id: String, status: PaymentIntentStatus, amount: Int64, currency: String, pledgeId: String?,
        failureReason: String? = nil, clientSecret: String? = nil
    ) {
        self.id = id
        self.status = status
        self.amount = amount
        self.currency = currency
        self.pledgeId = pledgeId
        self.failureReason = failureReason
        self.clientSecret = clientSecret
    }

    /// What this intent means for the pledge, or nil while nothing is settled.
    public var pledgeStatus: PledgeStatus? {
        status.pledgeStatus(hasPaymentError: failureReason != nil)
    }
}

/// One refund as the provider has it.
public struct ProviderRefund: Sendable, Equatable {
    public let id: String
    public let amount: Int64
    /// Stripe's word: `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    public let status: String
    /// The id of our refund it was made for, from its metadata; nil for one made elsewhere (the
    /// provider's dashboard).
    public let refundId: String?
    public let failureReason: String?

    public init(id: String, amount: Int64, status: String, refundId: String?, failureReason: String? = nil) {
        self.id = id
        self.amount = amount
        self.status = status
        self.refundId = refundId
        self.failureReason = failureReason
    }

    /// Counted in the payment's refunded amount.
    public var succeeded: Bool { status == "succeeded" }
    /// Will never count.
    public var failed: Bool { status == "failed" || status == "canceled" }
}

/// A payment provider: Stripe, or the sandbox that behaves like Stripe's test mode. Every create
/// and capture carries an idempotency key, so a retry never charges twice.
public protocol PaymentProvider: Sendable {
    /// Creates and confirms a manual-capture PaymentIntent.
    func createIntent(
        amount: Int64, currency: Currency, paymentMethod: String, metadata: [String: String], idempotencyKey: String
    ) async throws -> ProviderIntent
    /// Captures an intent that is `requires_capture`.
    func capture(intentId: String, idempotencyKey: String) async throws -> ProviderIntent
    /// The intent as the provider has it now: the truth webhooks are reconciled against.
    func retrieve(intentId: String) async throws -> ProviderIntent
    /// The intent a create under `idempotencyKey` made, if any, found without creating one: how a
    /// payment is recovered after a crash between the provider call and recording its answer,
    /// even from a provider that does not deduplicate keys.
    func findIntent(idempotencyKey: String, pledgeId: String) async throws -> ProviderIntent?
    /// Refunds `amount` of a captured intent. `metadata` names our refund (`refund_id`), so a
    /// retry can find a refund the provider made even if it does not deduplicate keys.
    func refund(intentId: String, amount: Int64, metadata: [String: String], idempotencyKey: String) async throws -> ProviderRefund
    /// Every refund of the intent: the succeeded ones add up to the provider's cumulative
    /// `amount_refunded`, the truth refunds are reconciled against.
    func refunds(intentId: String) async throws -> [ProviderRefund]
    /// `sandbox` or `stripe`, as stored with each payment.
    var name: String { get }
}

/// Why a provider call did not give an intent.
public enum ProviderError: Error, Equatable {
    /// The payment method does not exist; nothing was created.
    case noSuchPaymentMethod(String)
    case noSuchIntent(String)
    case cannotCapture(PaymentIntentStatus)
    /// The provider refused the request (its 4xx), with its message.
    case refused(status: Int, message: String)
    /// The provider could not be reached or failed (a timeout, its 5xx): the outcome is unknown.
    case unavailable(String)
}

/// The provider idempotency key of a refund: the payment and the admin's own key, so a retried
/// request never refunds twice, and two admins' keys never collide.
public enum RefundKey {
    public static func make(paymentId: String, requestKey: String) -> String {
        "refund-" + Hex.encode(SHA256.hash(data: Data((paymentId + "|" + requestKey).utf8)))
    }
}

/// The provider idempotency key of a charge (DESIGN.md): the same pledge can only ever be
/// charged under one key, whoever retries and however often.
public enum ChargeKey {
    public static func make(userId: UserID?, pledgeId: PledgeID, campaignId: CampaignID, amount: Int64, currency: Currency) -> String {
        let material = [userId?.rawValue ?? "guest", pledgeId.rawValue, campaignId.rawValue, String(amount), currency.rawValue].joined(separator: "|")
        return Hex.encode(SHA256.hash(data: Data(material.utf8)))
    }
}
