import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Signatures

/// Looks campaigns up in campaign-service: the one client every service that needs a campaign uses.
public protocol CampaignDirectory: Sendable {
    /// The campaign, nil when campaign-service says there is none; throws when it cannot be asked.
    func campaign(id: CampaignID) async throws -> CampaignSummary?
    /// The campaign, when pledge-service is about to take a pledge in `currency`: if it is active
    /// in that currency, the answer comes with the currency fixed (`currencyLocked`) for good.
    func pledgeable(id: CampaignID, currency: String) async throws -> CampaignSummary?
}

/// How long an answer about a campaign may be used again, by what it is used for.
public struct CampaignFreshness: Sendable, Equatable {
    /// 0: asked afresh every time, past campaign-service's own read cache too.
    public let rememberFor: Duration

    /// pledge-service taking pledges: a burst to one campaign costs one look-up (and an answer
    /// serves a pledge only if it refused it or came with the pledge's currency locked).
    public static let pledges = CampaignFreshness(rememberFor: .seconds(5))
    /// payment-service before a charge: never remembered, so a campaign paused a moment ago is not charged.
    public static let charges = CampaignFreshness(rememberFor: .zero)
    /// Titles for mail and receipts: a title changes rarely, and a stale one harms nobody.
    public static let titles = CampaignFreshness(rememberFor: .seconds(300))
}

/// campaign-service's public `GET /campaigns/{id}` and, for pledges, its signed
/// `POST /campaigns/internal/pledgeable`, with a short timeout; answers are remembered as the
/// caller's `CampaignFreshness` says.
public actor HTTPCampaignDirectory: CampaignDirectory {
    let baseURL: String
    let client: HTTPClient
    let timeout: TimeAmount
    let freshness: CampaignFreshness
    /// campaign-service's signing secret: needed for `pledgeable`.
    let signatures: SignatureScheme?
    private var cache: [CampaignID: (summary: CampaignSummary?, at: ContinuousClock.Instant)] = [:]

    public init(
        baseURL: String, freshness: CampaignFreshness, signatures: SignatureScheme? = nil, client: HTTPClient = .betweenServices,
        timeout: TimeAmount = .seconds(2)
    ) {
        self.baseURL = baseURL
        self.client = client
        self.timeout = timeout
        self.freshness = freshness
        self.signatures = signatures
    }

    public func campaign(id: CampaignID) async throws -> CampaignSummary? {
        if let cached = cached(id) { return cached.summary }
        var request = HTTPClientRequest(url: "\(baseURL)/campaigns/\(PercentEncoding.encode(id.rawValue))")
        // Not remembered here: not from campaign-service's read cache either.
        if freshness.rememberFor == .zero { request.headers.add(name: "Cache-Control", value: "no-cache") }
        let lookup = request
        return try await remember(id) {
            let response = try await self.client.tracedExecute(lookup, timeout: self.timeout)
            return (Int(response.status.code), try await response.body.collect(upTo: 1 << 20))
        }
    }

    public func pledgeable(id: CampaignID, currency: String) async throws -> CampaignSummary? {
        if let cached = cached(id) {
            guard let summary = cached.summary else { return nil }
            let refuses = summary.status != "active" || summary.currency != currency
            if refuses || summary.currencyLocked == true { return summary }
        }
        guard let signatures else { throw CampaignDirectoryError.unavailable }
        let body = try WireCoding.encoder.encode(PledgeableRequest(campaignId: id, currency: currency))
        return try await remember(id) {
            try await self.client.postSigned(body, to: self.baseURL + "/campaigns/internal/pledgeable", signatures: signatures, timeout: self.timeout)
        }
    }

    private func cached(_ id: CampaignID) -> (summary: CampaignSummary?, at: ContinuousClock.Instant)? {
        guard let entry = cache[id], ContinuousClock.now - entry.at < freshness.rememberFor else { return nil }
        return entry
    }

    /// Asks, reads a 200 as the campaign and a 404 as none, and keeps the answer.
    private func remember(_ id: CampaignID, _ ask: @Sendable () async throws -> (status: Int, body: ByteBuffer)) async throws -> CampaignSummary? {
        let summary: CampaignSummary?
        do {
            let (status, body) = try await ask()
            switch status {
            case 200: summary = try WireCoding.decoder.decode(CampaignSummary.self, from: Data(buffer: body))
            case 404: summary = nil
            default: throw CampaignDirectoryError.unavailable
            }
        } catch {
            throw CampaignDirectoryError.unavailable
        }
        guard freshness.rememberFor > .zero else { return summary }
        if cache.count > 10_000 { cache.removeAll() }
        cache[id] = (summary, ContinuousClock.now)
        return summary
    }
}

public enum CampaignDirectoryError: Error {
    case unavailable
}
