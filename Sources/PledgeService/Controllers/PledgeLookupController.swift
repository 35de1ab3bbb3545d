import Auth
import Contracts
import Foundation
import HTTPSupport
import Hummingbird
import NIOFoundationEssentialsCompat
import Observability
import Signatures

/// Internal `POST /pledges/internal/lookup` (signed; the gateway refuses it): what payment-service
/// may charge for a pledge, and whether a guest's receipt token is the pledge's.
public struct PledgeLookupController: Sendable {
    let store: any PledgeStore
    let signatures: SignatureScheme
    let metrics: ServiceMetrics

    public init(store: any PledgeStore, signatures: SignatureScheme, metrics: ServiceMetrics) {
        self.store = store
        self.signatures = signatures
        self.metrics = metrics
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("internal/lookup", use: lookup)
    }

    @Sendable func lookup(_ request: Request, context: AppRequestContext) async throws -> PledgeLookupResponse {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        guard let query = try? WireCoding.decoder.decode(PledgeLookupRequest.self, from: Data(buffer: body)), query.pledgeId.isWithinLimits else {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be {\"pledge_id\": ..., \"receipt_token\"?: ...}.")
        }
        // Not a UUID names no pledge (and a NUL byte would not even reach PostgreSQL's text).
        guard query.pledgeId.isUUID, let pledge = try await store.pledge(id: query.pledgeId) else {
            throw PledgeServiceError.pledgeNotFound
        }
        return PledgeLookupResponse(
            id: pledge.id, campaignId: pledge.campaignId, userId: pledge.userId, amount: pledge.amount.minorUnits, currency: pledge.currency,
            status: pledge.status, receiptTokenValid: query.receiptToken.map { ReceiptToken.matches($0, hash: pledge.receiptTokenHash) } ?? false
        )
    }
}

extension PledgeLookupResponse: ResponseEncodable {}
