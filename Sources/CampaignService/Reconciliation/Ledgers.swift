import AsyncHTTPClient
import Contracts
import Foundation
import HTTPSupport
import NIOCore
import NIOFoundationEssentialsCompat
import ServiceClient
import Signatures

/// The publishers reconciliation compares the read model with.
public enum LedgerSource: String, Sendable, CaseIterable, Codable {
    case pledges
    case payments
}

/// Asks pledge- and payment-service what they record of a campaign, and asks them to send a
/// pledge's events again.
public protocol CampaignLedgers: Sendable {
    /// The summary, with one page of per-pledge entries after `after` when `entries`.
    func ledger(_ source: LedgerSource, campaignId: CampaignID, entries: Bool, after: PledgeID?) async throws -> CampaignLedger
    /// How many outbox rows the publisher put back.
    func resend(_ source: LedgerSource, pledgeIds: [PledgeID]) async throws -> Int
}

extension CampaignLedgers {
    /// Every per-pledge entry, page by page (bounded).
    func allEntries(_ source: LedgerSource, campaignId: CampaignID) async throws -> [LedgerEntry] {
        var entries: [LedgerEntry] = []
        var after: PledgeID?
        for _ in 0..<1000 {
            let page = try await ledger(source, campaignId: campaignId, entries: true, after: after)
            entries += page.entries ?? []
            guard let next = page.nextAfter else { break }
            after = next
        }
        return entries
    }
}

/// The signed internal routes, over HTTP.
public struct HTTPCampaignLedgers: CampaignLedgers {
    let urls: [LedgerSource: String]
    let signatures: [LedgerSource: SignatureScheme]
    let client: HTTPClient

    public init(pledgeServiceURL: String, pledgeSignatures: SignatureScheme, paymentServiceURL: String, paymentSignatures: SignatureScheme,
                client: HTTPClient = .betweenServices) {
        urls = [.pledges: pledgeServiceURL + "/pledges", .payments: paymentServiceURL + "/payments"]
        signatures = [.pledges: pledgeSignatures, .payments: paymentSignatures]
        self.client = client
    }

    public func ledger(_ source: LedgerSource, campaignId: CampaignID, entries: Bool, after: PledgeID?) async throws -> CampaignLedger {
        var query = "campaign_id=" + PercentEncoding.encode(campaignId.rawValue)
        if entries { query += "&entries=true&limit=500" + (after.map { "&after=" + PercentEncoding.encode($0.rawValue) } ?? "") }
        let (status, body) = try await client.getSigned(urls[source]! + "/internal/summary?" + query, signatures: signatures[source]!, timeout: .seconds(10))
        guard status == 200 else { throw LedgerError.answered(source, status) }
        return try WireCoding.decoder.decode(CampaignLedger.self, from: Data(buffer: body))
    }

    public func resend(_ source: LedgerSource, pledgeIds: [PledgeID]) async throws -> Int {
        let body = try WireCoding.encoder.encode(ResendRequest(pledgeIds: pledgeIds))
        let (status, answer) = try await client.postSigned(body, to: urls[source]! + "/internal/resend", signatures: signatures[source]!, timeout: .seconds(10))
        guard status == 200 else { throw LedgerError.answered(source, status) }
        return try WireCoding.decoder.decode(ResendAnswer.self, from: Data(buffer: answer)).resent
    }
}

public enum LedgerError: Error, CustomStringConvertible {
    case answered(LedgerSource, Int)

    public var description: String {
        switch self {
        case .answered(let source, let status): "\(source.rawValue) answered HTTP \(status)"
        }
    }
}
