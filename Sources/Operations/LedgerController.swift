import Contracts
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import NIOFoundationEssentialsCompat
import Observability
import Outbox
import Persistence
import Signatures

/// The signed routes campaign-service's reconciliation calls on a publisher (pledge- and
/// payment-service; the gateways refuse them):
/// - `GET /<segment>/internal/summary?campaign_id=&entries=true&after=&limit=`: the campaign's
///   counts and sums by status and its refunded sum, with a page of per-pledge entries when asked;
/// - `POST /<segment>/internal/resend {pledge_ids}`: the events about those pledges sent to
///   campaign-service again (it drops what it had), answered `{resent}`.
public struct LedgerController: Sendable {
    let database: any DatabaseClient
    let ledger: LedgerQuery
    let outbox: OutboxRows
    /// The outbox destination of the events campaign-service ingests.
    let destination: OutboxDestination
    let signatures: SignatureScheme
    let metrics: ServiceMetrics

    /// The ledger is read on the outbox's database (the service's own).
    public init(ledger: LedgerQuery, outbox: OutboxRows, destination: OutboxDestination = .campaignEvents, signatures: SignatureScheme, metrics: ServiceMetrics) {
        self.database = outbox.database
        self.ledger = ledger
        self.outbox = outbox
        self.destination = destination
        self.signatures = signatures
        self.metrics = metrics
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("internal/summary", use: summary)
        group.post("internal/resend", use: resend)
    }

    @Sendable func summary(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        let query = request.uri.queryParameters
        guard let raw = query["campaign_id"].map(String.init), !raw.isEmpty, raw.count <= 100 else {
            throw APIError.invalidParameter("campaign_id", "is required")
        }
        let campaignId = CampaignID(raw)
        let withEntries = query["entries"] == "true"
        let after = query["after"].map(String.init).flatMap { $0.isEmpty ? nil : PledgeID($0) }
        let limit = min(max(Int(query["limit"].map(String.init) ?? "") ?? 500, 1), 1000)
        let ledger = self.ledger
        let answer = try await database.withConnection { db -> CampaignLedger in
            var counts: [String: Int64] = [:]
            var amounts: [String: Int64] = [:]
            var refunded: Int64 = 0
            for group in try await ledger.summarize(campaignId: campaignId, on: db) {
                counts[group.status.rawValue] = group.count
                amounts[group.status.rawValue] = group.amount
                refunded += group.refunded
            }
            var result = CampaignLedger(campaignId: campaignId, counts: counts, amounts: amounts, refundedAmount: refunded)
            if withEntries {
                let rows = try await ledger.page(campaignId: campaignId, after: after, limit: limit, on: db)
                result.entries = rows.prefix(limit).map { row in
                    LedgerEntry(pledgeId: row.pledgeId, status: row.status, amount: row.amount, refundedAmount: row.refunded)
                }
                result.nextAfter = rows.count > limit ? result.entries?.last?.pledgeId : nil
            }
            return result
        }
        return try Self.json(answer)
    }

    @Sendable func resend(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        guard let asked = try? WireCoding.decoder.decode(ResendRequest.self, from: Data(buffer: body)), asked.pledgeIds.count <= 1000 else {
            throw APIError(.badRequest, code: "invalid_request", message: "The body must be {\"pledge_ids\": [...]} with at most 1,000 ids.")
        }
        let resent = try await outbox.resend(pledgeIds: asked.pledgeIds, destination: destination)
        context.logger.notice("events sent again for a reconciliation", metadata: [
            "pledges": .stringConvertible(asked.pledgeIds.count), "rows": .stringConvertible(resent),
        ])
        return try Self.json(ResendAnswer(resent: resent))
    }

    /// A plain JSON answer with the contract's own keys.
    static func json(_ value: some Encodable) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: try WireCoding.encoder.encode(value)))
        )
    }
}
