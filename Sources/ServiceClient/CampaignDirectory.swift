import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1

/// What pledge-service needs to know of a campaign before taking a pledge, and payment-service
/// before charging one.
public struct CampaignSummary: Sendable, Equatable, Decodable {
    public let id: String
    public let status: String
    public let currency: String
    /// For receipts; optional so that an answer without it still reads.
    public let title: String?

    public init(id: String, status: String, currency: String, title: String? = nil) {
        self.id = id
        self.status = status
        self.currency = currency
        self.title = title
    }
}

/// Looks campaigns up in campaign-service.
public protocol CampaignDirectory: Sendable {
    /// The campaign, nil when campaign-service says there is none; throws when it cannot be asked.
    func campaign(id: String) async throws -> CampaignSummary?
}

/// Asks campaign-service's public `GET /campaigns/{id}` with a short timeout, and remembers the
/// answer for `cacheFor` (pledge-service: a few seconds, so a burst of pledges to one campaign
/// costs one lookup; payment-service: not at all, so a campaign paused a moment ago is not charged).
public actor HTTPCampaignDirectory: CampaignDirectory {
    let baseURL: String
    let client: HTTPClient
    let timeout: TimeAmount
    let cacheFor: Duration
    private var cache: [String: (summary: CampaignSummary?, at: ContinuousClock.Instant)] = [:]
    /// Made once: decoding with it is safe from any thread.
    static let decoder = JSONDecoder()

    public init(baseURL: String, client: HTTPClient = .betweenServices, timeout: TimeAmount = .seconds(2), cacheFor: Duration = .seconds(5)) {
        self.baseURL = baseURL
        self.client = client
        self.timeout = timeout
        self.cacheFor = cacheFor
    }

    public func campaign(id: String) async throws -> CampaignSummary? {
        if let cached = cache[id], ContinuousClock.now - cached.at < cacheFor { return cached.summary }
        guard let escaped = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) else {
            return nil
        }
        let summary: CampaignSummary?
        do {
            var request = HTTPClientRequest(url: "\(baseURL)/campaigns/\(escaped)")
            // Not cached here: not from campaign-service's read cache either.
            if cacheFor == .zero { request.headers.add(name: "Cache-Control", value: "no-cache") }
            let response = try await client.tracedExecute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 1 << 20)
            switch response.status.code {
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
