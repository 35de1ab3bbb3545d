import ServiceKit
import Auth
import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Persistence
import PlatformConfig
import Signatures
import TestSupport
@testable import CampaignService
import NIOFoundationEssentialsCompat

let internalSecret = "test-internal-secret"

/// A running campaign-service router with the tokens and signatures a test needs.
struct CampaignHarness: Sendable {
    let client: any TestClientProtocol
    let adminToken: String
    let donorToken: String
    let databaseURL: DatabaseURL

    /// POSTs events to the internal route, signed with `secret` (the right one unless a test says otherwise).
    func send(_ events: [EventEnvelope], batch: Bool? = nil, secret: String = internalSecret, signedAt: Date = Date()) async throws -> TestResponse {
        let body: Data
        if events.count == 1 && batch != true {
            body = try WireCoding.encoder.encode(events[0])
        } else {
            body = try WireCoding.encoder.encode(["events": events])
        }
        return try await sendRaw(body, secret: secret, signedAt: signedAt)
    }

    func sendRaw(_ body: Data, secret: String? = internalSecret, signedAt: Date = Date()) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let secret {
            headers[.careForAllSignature] = SignatureScheme(secret: secret).sign(path: "/campaigns/events", body: body, at: signedAt)
        }
        return try await client.execute(uri: "/campaigns/events", method: .post, headers: headers, body: ByteBuffer(data: body))
    }

    func createCampaign(_ fields: [String: any Sendable] = [:]) async throws -> CampaignResponse {
        var body: [String: any Sendable] = ["title": "Clean water", "goal_amount": 100_000, "currency": "USD"]
        body.merge(fields) { _, new in new }
        let response = try await client.execute(uri: "/campaigns", method: .post, headers: .bearer(adminToken), body: ByteBuffer(json: body))
        guard response.status == .created else { throw HarnessError.unexpected(response.status, response.text) }
        return try response.json(CampaignResponse.self)
    }

    func campaign(_ id: CampaignID, token: String? = nil) async throws -> CampaignResponse {
        let response = try await client.execute(uri: "/campaigns/\(id)", method: .get, headers: token.map { .bearer($0) } ?? [:])
        guard response.status == .ok else { throw HarnessError.unexpected(response.status, response.text) }
        return try response.json(CampaignResponse.self)
    }
}

enum HarnessError: Error {
    case unexpected(HTTPResponse.Status, String)
}

func withCampaignService<Value: Sendable>(
    _ database: TestDatabase,
    live: Bool = false,
    streams: StreamConfig = StreamConfig(),
    readCacheMaximumAge: Duration = .seconds(1),
    _ test: @escaping @Sendable (CampaignHarness) async throws -> Value
) async throws -> Value {
    let issuer = try await TokenIssuer(privateKeyPEM: TestKeys.signingKeyPEM, timeToLive: 900)
    let adminToken = try await issuer.issue(for: Principal(userID: "admin-1", email: "admin@example.org", name: "Admin", role: .admin))
    let donorToken = try await issuer.issue(for: Principal(userID: "donor-1", email: "donor@example.org", name: "Donor", role: .donor))
    return try await database.withFreshDatabase { url in
        var config = CampaignServiceConfig(
            database: url, secrets: InternalSecrets(shared: internalSecret), jwksURL: "http://127.0.0.1:9/unused", streams: streams,
            logLevel: TestLogging.level
        )
        config.readCacheMaximumAge = readCacheMaximumAge
        let app = try await CampaignServiceApp.buildApplication(
            config: config, overrides: ServiceOverrides(jwks: StaticJWKSSource(issuer.jwks), tokenVersions: StaticTokenVersions())
        )
        return try await app.test(live ? .live : .router) { client in
            try await test(CampaignHarness(client: client, adminToken: adminToken, donorToken: donorToken, databaseURL: url))
        }
    }
}

/// Builds the events of one pledge's life as the publishers would send them.
struct PledgeEvents {
    let campaignId: CampaignID
    let pledgeId: PledgeID
    let amount: Int64
    var currency = Currency(rawValue: "USD")!
    var paymentId = PaymentID.new()
    var donorName: String? = "Grace"
    var anonymous = false
    var message: String? = "Good luck!"

    init(campaignId: CampaignID, pledgeId: PledgeID = .new(), amount: Int64) {
        self.campaignId = campaignId
        self.pledgeId = pledgeId
        self.amount = amount
    }

    func envelope(_ data: EventData, at time: Date) -> EventEnvelope {
        EventEnvelope(
            eventId: UUID().uuidString.lowercased(), type: data.type, source: "test",
            occurredAt: Timestamp.format(time), data: data
        )
    }

    func created(at time: Date = Date()) -> EventEnvelope {
        envelope(.pledgeCreated(PledgeCreated(
            pledgeId: pledgeId, campaignId: campaignId, userId: nil, amount: amount, currency: currency,
            anonymous: anonymous, donorName: donorName, message: message
        )), at: time)
    }

    func changed(_ from: PledgeStatus, _ to: PledgeStatus, at time: Date = Date()) -> EventEnvelope {
        envelope(.pledgeStatusChanged(PledgeStatusChanged(
            pledgeId: pledgeId, campaignId: campaignId, previousStatus: from, newStatus: to, amount: amount, currency: currency
        )), at: time)
    }

    func captured(at time: Date = Date()) -> EventEnvelope {
        envelope(.paymentCaptured(PaymentCaptured(paymentId: paymentId, pledgeId: pledgeId, campaignId: campaignId, amount: amount, currency: currency)), at: time)
    }

    /// PAYMENT_REFUNDED: `cumulative` given back so far.
    func refunded(cumulative: Int64, at time: Date = Date()) -> EventEnvelope {
        envelope(.paymentRefunded(PaymentRefunded(
            paymentId: paymentId, pledgeId: pledgeId, campaignId: campaignId, amount: amount, refundedAmount: cumulative, currency: currency,
            refundId: "re_\(cumulative)"
        )), at: time)
    }

    func failed(at time: Date = Date()) -> EventEnvelope {
        envelope(.paymentFailed(PaymentFailed(
            paymentId: paymentId, pledgeId: pledgeId, campaignId: campaignId, amount: amount, currency: currency, error: "card_declined"
        )), at: time)
    }
}

extension CampaignResponse {
    var totals: CampaignTotals {
        CampaignTotals(
            pendingAmount: pendingAmount, authorizedAmount: authorizedAmount, capturedAmount: capturedAmount,
            failedAmount: failedAmount, totalPledges: totalPledges, totalPayments: totalPayments, refundedAmount: refundedAmount
        )
    }
}
