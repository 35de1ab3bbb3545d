import Contracts
import Hummingbird

/// Where a refund stands. PENDING while the provider has not answered (a crash or a timeout
/// leaves it so, and a retry with the same key finishes it); SUCCEEDED once the provider counts
/// it; FAILED when the provider refused it.
public enum RefundStatus: String, Sendable, Codable {
    case pending = "PENDING"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"
}

/// A refund of part or all of a payment: asked for by an admin here, or made at the provider
/// (its dashboard) and found there.
public struct Refund: Sendable, Equatable {
    public var id: String
    public var paymentId: PaymentID
    public var amount: Money
    public var reason: String
    public var status: RefundStatus
    public var providerRefundId: String?
    /// The admin's `Idempotency-Key` and the fingerprint of the body it came with; nil for a
    /// refund found at the provider.
    public var idempotencyKey: String?
    public var requestHash: String?
    public var failureReason: String?
    /// The admin who asked for it; nil for one found at the provider.
    public var requestedBy: String?
    public var createdAt: String
    public var updatedAt: String
}

/// A refund as clients see it.
public struct RefundResponse: ResponseEncodable, Decodable, Sendable, Equatable {
    public let id: String
    public let paymentId: PaymentID
    public let amount: Int64
    public let currency: String
    /// The admin's note on why: for admins only (null for the donor reading their payment).
    public let reason: String?
    public let status: String
    public let providerRefundId: String?
    public let failureReason: String?
    public let createdAt: String

    public init(_ refund: Refund, forAdmin: Bool) {
        id = refund.id
        paymentId = refund.paymentId
        amount = refund.amount.minorUnits
        currency = refund.amount.currency.rawValue
        reason = forAdmin ? refund.reason : nil
        status = refund.status.rawValue
        providerRefundId = refund.providerRefundId
        failureReason = refund.failureReason
        createdAt = refund.createdAt
    }
}

/// An admin's refund request, as the store reserves it.
public struct RefundRequest: Sendable {
    /// The id the refund gets if this request makes it.
    public let id: String
    public let paymentId: PaymentID
    /// nil: everything that is left.
    public let amount: Int64?
    public let reason: String
    public let idempotencyKey: String
    public let requestHash: String
    public let requestedBy: String
    public let now: String
}

/// What reserving a refund came to.
public enum RefundReservation: Sendable, Equatable {
    /// A new PENDING refund: call the provider.
    case reserved(Refund, Payment)
    /// The key was used before with the same body: that refund (PENDING: call the provider again).
    case existing(Refund, Payment)
    /// The key was used before with another body.
    case keyReused
    case paymentNotFound
    /// The payment is not captured, or nothing is left of it.
    case notRefundable(PledgeStatus)
    /// More than what is left was asked for.
    case exceedsPayment(left: Money)
}
