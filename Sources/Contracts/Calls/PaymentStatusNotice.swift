/// `POST /pledges/webhooks/payment` (pledge-service, signed): payment-service reports a payment's
/// status. Sent through payment-service's outbox, in batches (`{notices: [...]}`). The receiver
/// decodes exactly this type, which checks its own contract: a notice that breaks it throws a
/// `ContractViolation` naming the field, and is answered `rejected` alone.
public struct PaymentStatusNotice: Codable, Sendable, Equatable, BatchItem {
    public static var batchKey: String { "notices" }

    public var eventId: String
    public var pledgeId: PledgeID
    public var paymentId: PaymentID
    public var status: PledgeStatus
    public var occurredAt: String
    /// The provider's words on a failure; at most 500 characters are kept.
    public var reason: String?
    /// The trace of the change it reports: each notice carries its own, so a batch never lends one
    /// notice's trace to another.
    public var traceParent: String?
    /// The payment's cumulative refunded amount, on a notice about a refund.
    public var refundedAmount: Int64?

    public init(
        eventId: String, pledgeId: PledgeID, paymentId: PaymentID, status: PledgeStatus, occurredAt: String, reason: String?, traceParent: String? = nil,
        refundedAmount: Int64? = nil
    ) {
        self.eventId = eventId
        self.pledgeId = pledgeId
        self.paymentId = paymentId
        self.status = status
        self.occurredAt = occurredAt
        self.reason = reason
        self.traceParent = traceParent
        self.refundedAmount = refundedAmount
    }

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id", pledgeId = "pledge_id", paymentId = "payment_id", status, occurredAt = "occurred_at", reason
        case traceParent = "trace_parent", refundedAmount = "refunded_amount"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func identifier(_ key: CodingKeys) throws -> String {
            guard let value = try? container.decode(String.self, forKey: key), !value.isEmpty, value.count <= 200 else {
                throw ContractViolation("\(key.stringValue) is required")
            }
            return value
        }
        eventId = try identifier(.eventId)
        pledgeId = PledgeID(try identifier(.pledgeId))
        paymentId = PaymentID(try identifier(.paymentId))
        guard let status = (try? container.decode(String.self, forKey: .status)).flatMap(PledgeStatus.init(rawValue:)) else {
            throw ContractViolation("status must be one of \(PledgeStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.status = status
        occurredAt = try identifier(.occurredAt)
        // Free text from the provider: kept short, and a value of another type is no reason.
        reason = (try? container.decodeIfPresent(String.self, forKey: .reason)).flatMap { $0 }.map { String($0.prefix(500)) }
        traceParent = (try? container.decodeIfPresent(String.self, forKey: .traceParent)).flatMap { $0 }
        if try !container.contains(.refundedAmount) || container.decodeNil(forKey: .refundedAmount) {
            refundedAmount = nil
        } else {
            guard let refunded = try? container.decode(Int64.self, forKey: .refundedAmount), refunded >= 0 else {
                throw ContractViolation("refunded_amount must be a non-negative integer of minor units")
            }
            refundedAmount = refunded
        }
    }
}
