import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Signatures

/// What pledge-service needs to know of a campaign before taking a pledge, and payment-service
/// before charging one.
public struct CampaignSummary: Sendable, Equatable, Decodable {
    public let id: String
    public let status: String
    public let currency: String
    /// For receipts; optional so that an answer without it still reads.
    public let title: String?
    /// In answers to `pledgeable`: the currency is fixed for good.
    public let currencyLocked: Bool?

    public init(id: String, status: String, currency: String, title: String? = nil, currencyLocked: Bool? = nil) {
        self.id = id
        self.status = status
        self.currency = currency
        self.title = title
        self.currencyLocked = currencyLocked
    }

    enum CodingKeys: String, CodingKey {
        case id, status, currency, title
        case currencyLocked = "currency_locked"
    }
}

/// pledge-service's question before it takes a pledge: does the campaign take pledges in this
/// currency? campaign-service's signed `POST /campaigns/internal/pledgeable` answers with the
/// campaign, and when it is active in that currency fixes the currency for good, so no pledge
/// taken on this answer can be left in a currency the campaign no longer has.
public struct PledgeableRequest: Sendable, Codable, Equatable {
    public let campaignId: String
    public let currency: String

    public init(campaignId: String, currency: String) {
        self.campaignId = campaignId
        self.currency = currency
    }

    enum CodingKeys: String, CodingKey {
        case campaignId = "campaign_id"
        case currency
    }
}

/// Looks campaigns up in campaign-service.
public protocol CampaignDirectory: Sendable {
    /// The campaign, nil when campaign-service says there is none; throws when it cannot be asked.
    func campaign(id: String) async throws -> CampaignSummary?
    /// The campaign, when pledge-service is about to take a pledge in `currency`: if it is active
    /// in that currency, the answer comes with the currency fixed (`currencyLocked`) for good.
    func pledgeable(id: String, currency: String) async throws -> CampaignSummary?
}

/// Asks campaign-service's public `GET /campaigns/{id}` (and, for pledges, its signed
/// `pledgeable` route) with a short timeout, and remembers the answer for `cacheFor`
/// (pledge-service: a few seconds, so a burst of pledges to one campaign costs one lookup;
/// payment-service: not at all, so a campaign paused a moment ago is not charged). A remembered
/// answer serves a pledge only if it says no, or if it came with the pledge's currency locked.
public actor HTTPCampaignDirectory: CampaignDirectory {
    let baseURL: String
    let client: HTTPClient
    let timeout: TimeAmount
    let cacheFor: Duration
    /// campaign-service's signing secret: needed for `pledgeable`.
    let signatures: SignatureScheme?
    private var cache: [String: (summary: CampaignSummary?, at: ContinuousClock.Instant)] = [:]
    /// Made once: decoding with it is safe from any thread.
    static let decoder = JSONDecoder()
    static let encoder = JSONEncoder()

    public init(
        baseURL: String, client: HTTPClient = .betweenServices, timeout: TimeAmount = .seconds(2), cacheFor: Duration = .seconds(5),
        signatures: SignatureScheme? = nil
    ) {
        self.baseURL = baseURL
        self.client = client
        self.timeout = timeout
        self.cacheFor = cacheFor
        self.signatures = signatures
    }

    public func campaign(id: String) async throws -> CampaignSummary? {
        if let cached = cached(id) { return cached.summary }
        guard let escaped = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) else {
            return nil
        }
        var request = HTTPClientRequest(url: "\(baseURL)/campaigns/\(escaped)")
        // Not cached here: not from campaign-service's read cache either.
        if cacheFor == .zero { request.headers.add(name: "Cache-Control", value: "no-cache") }
        let lookup = request
        return try await remember(id) {
            let response = try await self.client.tracedExecute(lookup, timeout: self.timeout)
            return (Int(response.status.code), try await response.body.collect(upTo: 1 << 20))
        }
    }

    public func pledgeable(id: String, currency: String) async throws -> CampaignSummary? {
        if let cached = cached(id) {
            guard let summary = cached.summary else { return nil }
            let refuses = summary.status != "active" || summary.currency != currency
            if refuses || summary.currencyLocked == true { return summary }
        }
        guard let signatures else { throw CampaignDirectoryError.unavailable }
        let body = try Self.encoder.encode(PledgeableRequest(campaignId: id, currency: currency))
        return try await remember(id) {
            try await self.client.postSigned(body, to: self.baseURL + "/campaigns/internal/pledgeable", signatures: signatures, timeout: self.timeout)
        }
    }

    private func cached(_ id: String) -> (summary: CampaignSummary?, at: ContinuousClock.Instant)? {
        guard let entry = cache[id], ContinuousClock.now - entry.at < cacheFor else { return nil }
        return entry
    }

    /// Asks, reads a 200 as the campaign and a 404 as none, and keeps the answer.
    private func remember(_ id: String, _ ask: @Sendable () async throws -> (status: Int, body: ByteBuffer)) async throws -> CampaignSummary? {
        let summary: CampaignSummary?
        do {
            let (status, body) = try await ask()
            switch status {
            case 200: summary = try Self.decoder.decode(CampaignSummary.self, from: Data(buffer: body))
            case 404: summary = nil
            default: throw CampaignDirectoryError.unavailable
            }
        } catch {
            throw CampaignDirectoryError.unavailable
        }
        if cache.count > 10_000 { cache.removeAll() }
        cache[id] = (summary, ContinuousClock.now)
        return summary
    }
}

public enum CampaignDirectoryError: Error {
    case unavailable
}
