import Contracts
import HTTPSupport
import HTTPTypes

/// Every way a payment-service request can fail, each with its status and stable code.
public enum PaymentServiceError: Error, Equatable, APIErrorConvertible {
    case invalidPledge
    case invalidPaymentMethod
    case pledgeNotFound
    case paymentNotFound
    case pledgeNotPayable(status: String)
    case pledgeServiceUnavailable
    case paymentMethodRefused(String)
    case providerUnavailable
    case invalidEvent(String)
    case campaignNotOpen
    case campaignServiceUnavailable
    case paymentAttemptsExhausted
    case invalidRefundAmount
    case invalidRefundReason
    case refundExceedsPayment(left: Money)
    case paymentNotRefundable(status: PledgeStatus)
    case refundRefused(String)

    public var apiError: APIError {
        switch self {
        case .invalidPledge:
            APIError(.badRequest, code: "invalid_pledge_id", message: "pledge_id is required: a pledge's id.")
        case .invalidPaymentMethod:
            APIError(.badRequest, code: "invalid_payment_method", message: "payment_method must be a string of 1 to 255 characters.")
        case .pledgeNotFound:
            APIError(.notFound, code: "not_found", message: "No such pledge.")
        case .paymentNotFound:
            APIError(.notFound, code: "not_found", message: "No such payment.")
        case .pledgeNotPayable(let status):
            APIError(.conflict, code: "pledge_not_payable", message: "The pledge is \(status) and cannot be paid.")
        case .pledgeServiceUnavailable:
            APIError(.serviceUnavailable, code: "pledge_service_unavailable", message: "The pledge could not be checked; nothing was charged. Try again.")
        case .paymentMethodRefused(let reason):
            APIError(.unprocessableContent, code: "payment_method_refused", message: "The provider refused the payment method: \(reason).")
        case .providerUnavailable:
            APIError(.badGateway, code: "provider_unavailable", message: "The payment provider did not answer; the payment will be completed or failed shortly.")
        case .invalidEvent(let reason):
            APIError(.badRequest, code: "invalid_event", message: "The webhook event is malformed: \(reason).")
        case .campaignNotOpen:
            APIError(.conflict, code: "campaign_not_open", message: "The campaign of this pledge is no longer taking donations; nothing was charged.")
        case .campaignServiceUnavailable:
            APIError(.serviceUnavailable, code: "campaign_service_unavailable", message: "The campaign could not be checked; nothing was charged. Try again.")
        case .paymentAttemptsExhausted:
            APIError(
                .conflict, code: "payment_attempts_exhausted",
                message: "Too many payment methods were refused for this pledge; it takes no more attempts. Make a new pledge to try again."
            )
        case .invalidRefundAmount:
            APIError(.badRequest, code: "invalid_amount", message: "amount must be a positive integer of minor units, or left out to refund what is left.")
        case .invalidRefundReason:
            APIError(.badRequest, code: "invalid_reason", message: "reason is required: 1 to 500 characters.")
        case .refundExceedsPayment(let left):
            APIError(
                .unprocessableContent, code: "refund_exceeds_payment",
                message: "The refund is more than what is left of the payment: at most \(left.minorUnits) (\(left))."
            )
        case .paymentNotRefundable(let status):
            APIError(
                .conflict, code: "payment_not_refundable",
                message: status == .refunded ? "The payment is refunded in full already." : "The payment is \(status.rawValue); only a captured payment can be refunded."
            )
        case .refundRefused(let reason):
            APIError(.unprocessableContent, code: "refund_refused", message: "The provider refused the refund: \(reason).")
        }
    }
}
