import Contracts
import HTTPSupport
import HTTPTypes

/// Every way a pledge-service request can fail, each with its status and stable code.
public enum PledgeServiceError: Error, Equatable, APIErrorConvertible {
    case invalidCampaign
    case invalidAmount(maximum: Int64?, currency: Currency?)
    case invalidCurrency
    case invalidMessage
    case invalidAnonymous
    case donorRequired
    case invalidDonor
    case campaignNotOpen
    case currencyMismatch
    case campaignServiceUnavailable
    case pledgeNotFound
    case noReceipt
    case invalidWebhook(String)

    public var apiError: APIError {
        switch self {
        case .invalidCampaign:
            APIError(.badRequest, code: "invalid_campaign_id", message: "campaign_id is required.")
        case .invalidAmount(let maximum, let currency):
            APIError(
                .badRequest, code: "invalid_amount",
                message: "amount must be a positive integer of minor units"
                    + (maximum.map { maximum in ", at most \(maximum)" + (currency.map { " (\($0.format(maximum)))" } ?? "") } ?? "") + "."
            )
        case .invalidCurrency:
            APIError(.badRequest, code: "invalid_currency", message: "currency must be a supported ISO-4217 code.")
        case .invalidMessage:
            APIError(.badRequest, code: "invalid_message", message: "message must be a string of at most 500 characters (2000 bytes of UTF-8).")
        case .invalidAnonymous:
            APIError(.badRequest, code: "invalid_anonymous", message: "anonymous must be true or false.")
        case .donorRequired:
            APIError(.badRequest, code: "donor_required", message: "Without signing in, donor {name, email} is required.")
        case .invalidDonor:
            APIError(.badRequest, code: "invalid_donor", message: "donor needs a name (1 to 200 characters, at most 800 bytes of UTF-8) and a valid email.")
        case .campaignNotOpen:
            APIError(.unprocessableContent, code: "campaign_not_open", message: "The campaign does not exist or is not taking pledges.")
        case .currencyMismatch:
            APIError(.unprocessableContent, code: "currency_mismatch", message: "The pledge's currency must be the campaign's currency.")
        case .campaignServiceUnavailable:
            APIError(.serviceUnavailable, code: "campaign_service_unavailable", message: "The campaign could not be checked; nothing was written. Try again.")
        case .pledgeNotFound:
            APIError(.notFound, code: "not_found", message: "No such pledge.")
        case .noReceipt:
            APIError(.notFound, code: "no_receipt", message: "A receipt is issued once the payment is captured; this pledge has none yet.")
        case .invalidWebhook(let reason):
            APIError(.badRequest, code: "invalid_webhook", message: "The payment webhook is malformed: \(reason).")
        }
    }
}
