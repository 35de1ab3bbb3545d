import ServiceKit
import Auth
import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Outbox
import Persistence
import PlatformConfig
import ServiceClient
import Signatures
import SQLKit
import Synchronization
import TestSupport
@testable import PledgeService
import NIOFoundationEssentialsCompat

let pledgeSecret = "pledge-test-secret"

/// Campaigns as campaign-service would describe them; can be switched off.
struct PledgeHarness: Sendable {
    let client: any TestClientProtocol
    let campaigns: StubCampaigns
    let campaignId: CampaignID
    let donorToken: String
    let otherDonorToken: String
    let adminToken: String
    let databaseURL: DatabaseURL

    func pledge(key: String = UUID().uuidString, token: String? = nil, _ fields: [String: any Sendable] = [:]) async throws -> TestResponse {
        var body: [String: any Sendable] = ["campaign_id": campaignId.rawValue, "amount": 2500, "currency": "USD", "anonymous": false]
        if token == nil { body["donor"] = ["name": "Guest Gita", "email": "gita@example.org"] as [String: any Sendable] }
        body.merge(fields) { _, new in new }
        var headers: HTTPFields = token.map { .bearer($0) } ?? .json
        headers[HTTPField.Name("Idempotency-Key")!] = key
        return try await client.execute(uri: "/pledges", method: .post, headers: headers, body: ByteBuffer(json: body))
    }

    func webhook(_ pledgeId: PledgeID, _ status: String, eventId: String = UUID().uuidString, secret: String? = pledgeSecret) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: [
            "event_id": eventId, "pledge_id": pledgeId.rawValue, "payment_id": "pay-\(pledgeId)", "status": status, "occurred_at": Timestamp.format(Date()),
        ])
        var headers: HTTPFields = [.contentType: "application/json"]
        if let secret { headers[.careForAllSignature] = SignatureScheme(secret: secret).sign(path: "/pledges/webhooks/payment", body: body) }
        return try await client.execute(uri: "/pledges/webhooks/payment", method: .post, headers: headers, body: ByteBuffer(data: body))
    }

    /// `{notices: [...]}`, signed.
    func notices(_ notices: [[String: any Sendable]]) async throws -> TestResponse {
        try await signedWebhook(try jsonData(["notices": notices]))
    }

    func signedWebhook(_ body: Data, traceParent: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let traceParent { headers[.traceparent] = traceParent }
        headers[.careForAllSignature] = SignatureScheme(secret: pledgeSecret).sign(path: "/pledges/webhooks/payment", body: body)
        return try await client.execute(uri: "/pledges/webhooks/payment", method: .post, headers: headers, body: ByteBuffer(data: body))
    }

    func outboxTypes() async throws -> [String] {
        try await Databases.withClient(databaseURL, logger: TestLogging.logger) { client in
            try await client.withConnection { db in
                try await db.raw("SELECT event_type FROM outbox ORDER BY created_at, event_type").all().map { try $0.decode(column: "event_type", as: String.self) }
            }
        }
    }
}

func withPledgeService<Value: Sendable>(
    _ database: TestDatabase, maxConnections: Int = 10,
    _ test: @escaping @Sendable (PledgeHarness) async throws -> Value
) async throws -> Value {
    let issuer = try await TokenIssuer(privateKeyPEM: TestKeys.signingKeyPEM, timeToLive: 900)
    let donor = try await issuer.issue(for: Principal(userID: "donor-1", email: "dora@example.org", name: "Dora", role: .donor))
    let other = try await issuer.issue(for: Principal(userID: "donor-2", email: "omar@example.org", name: "Omar", role: .donor))
    let admin = try await issuer.issue(for: Principal(userID: "admin-1", email: "ada@example.org", name: "Ada", role: .admin))
    let campaigns = StubCampaigns()
    let campaignId = CampaignID.new()
    campaigns.set(campaignId)
    return try await database.withFreshDatabase { url in
        var relay = OutboxRelayConfig()
        relay.pollInterval = .seconds(600)  // nothing listens at the dispatch URL here
        let config = PledgeServiceConfig(
            database: url, secrets: InternalSecrets(shared: pledgeSecret), jwksURL: "http://127.0.0.1:9/unused",
            campaignServiceURL: "http://127.0.0.1:9", eventDispatchURL: "http://127.0.0.1:9/campaigns/events",
            maximumMajorUnits: 10_000, relay: relay, logLevel: TestLogging.level
        )
        let app = try await PledgeServiceApp.buildApplication(
            config: config, campaigns: campaigns, overrides: ServiceOverrides(jwks: StaticJWKSSource(issuer.jwks), tokenVersions: StaticTokenVersions())
        )
        return try await app.test(.router) { client in
            try await test(PledgeHarness(
                client: client, campaigns: campaigns, campaignId: campaignId, donorToken: donor, otherDonorToken: other,
                adminToken: admin, databaseURL: url
            ))
        }
    }
}
