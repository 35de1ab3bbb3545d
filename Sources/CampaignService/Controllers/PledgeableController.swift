import Contracts
import Foundation
import HTTPSupport
import Hummingbird
import Observability
import Signatures
import NIOFoundationEssentialsCompat

/// Internal `POST /campaigns/internal/pledgeable` (signed): pledge-service asks before it takes a
/// pledge. An active campaign in the pledge's currency has that currency fixed from then on
/// (`currency_locked`), because the pledge's own event may arrive here much later.
public struct PledgeableController: Sendable {
    let store: any CampaignStore
    let signatures: SignatureScheme
    let metrics: ServiceMetrics

    public init(store: any CampaignStore, signatures: SignatureScheme, metrics: ServiceMetrics) {
        self.store = store
        self.signatures = signatures
        self.metrics = metrics
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("internal/pledgeable", use: pledgeable)
    }

    @Sendable func pledgeable(_ request: Request, context: AppRequestContext) async throws -> CampaignSummary {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        guard let question = try? WireCoding.decoder.decode(PledgeableRequest.self, from: Data(buffer: body)),
            let currency = Currency(rawValue: question.currency)
        else { throw APIError(.badRequest, code: "invalid_request", message: "A campaign_id and a currency are required.") }
        guard let campaign = try await store.lockCurrency(id: question.campaignId, currency: currency) else {
            throw CampaignServiceError.campaignNotFound
        }
        return CampaignSummary(
            id: campaign.id, status: campaign.status.rawValue, currency: campaign.currency.rawValue, title: campaign.title,
            currencyLocked: campaign.currencyLocked
        )
    }
}

extension CampaignSummary: ResponseEncodable {}
