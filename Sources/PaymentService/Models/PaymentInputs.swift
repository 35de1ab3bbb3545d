import Contracts
import Foundation
import HTTPSupport

/// A `POST /payments` body: the pledge to pay, with which method, and (for a guest) the pledge's
/// receipt token, which may also come in the query. Nothing else a client sends counts: the
/// amount, currency and campaign come from pledge-service.
struct PaymentInput: Decodable {
    let pledgeId: PledgeID
    /// Nil: the provider's default (the sandbox's `pm_card_visa`; Stripe needs one given).
    let paymentMethod: String?
    let receiptToken: String?

    /// As the request decoder sees them (it converts the body's snake_case keys).
    enum Keys: String, CodingKey {
        case pledgeId, paymentMethod, receiptToken
    }

    init(from decoder: any Decoder) throws {
        let body = try decoder.container(keyedBy: Keys.self)
        guard let pledgeId = try? body.decode(String.self, forKey: .pledgeId), UUID(uuidString: pledgeId) != nil else {
            throw PaymentServiceError.invalidPledge
        }
        self.pledgeId = PledgeID(pledgeId)
        if body.contains(.paymentMethod), try !body.decodeNil(forKey: .paymentMethod) {
            guard let method = try? body.decode(String.self, forKey: .paymentMethod), (1...255).contains(method.count) else {
                throw PaymentServiceError.invalidPaymentMethod
            }
            self.paymentMethod = method
        } else {
            self.paymentMethod = nil
        }
        self.receiptToken = try? body.decodeIfPresent(String.self, forKey: .receiptToken)
    }
}

/// A `POST /payments/{id}/refunds` body: how much (nil: all that is left) and why (an admin's
/// note, kept internal).
struct RefundInput: Decodable {
    let amount: Int64?
    let reason: String

    static let reasonLimit = TextLimit(characters: 500)

    enum Keys: String, CodingKey {
        case amount, reason
    }

    init(from decoder: any Decoder) throws {
        let body = try decoder.container(keyedBy: Keys.self)
        if body.contains(.amount), try !body.decodeNil(forKey: .amount) {
            guard let amount = try? body.decode(Int64.self, forKey: .amount), amount > 0 else { throw PaymentServiceError.invalidRefundAmount }
            self.amount = amount
        } else {
            self.amount = nil
        }
        guard let reason = (try? body.decode(String.self, forKey: .reason))?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty,
            Self.reasonLimit.allows(reason)
        else { throw PaymentServiceError.invalidRefundReason }
        self.reason = reason
    }
}
