import HTTPSupport
import HTTPTypes

/// Every way a campaign-service request can fail, each with its status and stable code.
public enum CampaignServiceError: Error, Equatable, APIErrorConvertible {
    case campaignNotFound
    case invalidTitle
    case invalidDescription
    case invalidGoalAmount
    case invalidCurrency
    case invalidStatus
    case campaignClosed
    case currencyLocked
    case invalidEvent(index: Int, reason: String)

    public var apiError: APIError {
        switch self {
        case .campaignNotFound:
            APIError(.notFound, code: "not_found", message: "No such campaign.")
        case .invalidTitle:
            APIError(.badRequest, code: "invalid_title", message: "The title must be 1 to 200 characters (at most 800 bytes of UTF-8).")
        case .invalidDescription:
            APIError(.badRequest, code: "invalid_description", message: "The description must be at most 10000 characters (40000 bytes of UTF-8).")
        case .invalidGoalAmount:
            APIError(.badRequest, code: "invalid_goal_amount", message: "The goal_amount must be a positive integer of minor units.")
        case .invalidCurrency:
            APIError(.badRequest, code: "invalid_currency", message: "The currency must be a supported ISO-4217 code, such as USD or EUR.")
        case .invalidStatus:
            APIError(.badRequest, code: "invalid_status", message: "The status must be one of draft, active, paused, closed.")
        case .campaignClosed:
            APIError(.conflict, code: "campaign_closed", message: "The campaign is closed; its history is kept but it cannot change.")
        case .currencyLocked:
            APIError(.conflict, code: "currency_locked", message: "The currency cannot change once the campaign has pledges.")
        case .invalidEvent(let index, let reason):
            APIError(.badRequest, code: "invalid_event", message: "Event \(index) is malformed: \(reason). Nothing was applied.")
        }
    }
}
