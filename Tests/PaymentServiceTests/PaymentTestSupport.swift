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
import Signatures
import SQLKit
import ServiceClient
import Synchronization
import TestSupport
@testable import PaymentService
import NIOFoundationEssentialsCompat

let paymentSecret = "payment-test-secret"
let webhookSecret = "whsec_payment_test"

/// Pledges as pledge-service would describe them.
final class StubPledges: PledgeDirectory {
    private let state = Mutex<(pledges: [PledgeID: PledgeLookupResponse], receipts: [PledgeID: String], down: Bool)>(([:], [:], false))

    func pledge(id: PledgeID, receiptToken: String?) async throws -> PledgeLookupResponse? {
        try state.withLock { state in
            if state.down { throw PledgeDirectoryError.unavailable }
            guard var pledge = state.pledges[id] else { return nil }
            pledge.receiptTokenValid = receiptToken != nil && state.receipts[id] == receiptToken
            return pledge
        }
    }

    /// A pending pledge of `amount` USD by `userId` (nil: a guest with `receipt`).
    @discardableResult
    func add(userId: UserID?, amount: Int64 = 2500, status: PledgeStatus = .pending, receipt: String? = nil) -> PledgeID {
        let id = PledgeID.new()
        state.withLock { state in
            state.pledges[id] = PledgeLookupResponse(
                id: id, campaignId: "campaign-1", userId: userId, amount: amount, currency: Currency(rawValue: "USD")!, status: status,
                receiptTokenValid: false
            )
            if let receipt { state.receipts[id] = receipt }
        }
        return id
    }

    func setDown(_ down: Bool) { state.withLock { $0.down = down } }
}

/// Counts what reaches the provider: the no-double-charge tests count creates. With `echo`, it
/// also sends the provider's webhooks for each create and capture to a sender the test aims at
/// its own server (the sandbox's own sender does not know the test server's port).
final class CountingProvider: PaymentProvider {
    let wrapped: any PaymentProvider
    private let counts = Mutex<[String: Int]>([:])
    private let echo = Mutex<SandboxWebhookSender?>(nil)
    private let losesRefundAnswers = Mutex(false)

    init(_ wrapped: any PaymentProvider) { self.wrapped = wrapped }

    func echo(to sender: SandboxWebhookSender) { echo.withLock { $0 = sender } }

    /// Makes each refund and then loses the answer, as a timeout after the provider acted would.
    func loseRefundAnswers(_ lose: Bool) { losesRefundAnswers.withLock { $0 = lose } }

    private func sendWebhook(_ type: String, _ intent: ProviderIntent) {
        echo.withLock { $0 }?.send(type: type, intent: intent)
    }

    var name: String { wrapped.name }
    func count(_ call: String) -> Int { counts.withLock { $0[call, default: 0] } }
    private func tally(_ call: String) { counts.withLock { $0[call, default: 0] += 1 } }

    func createIntent(amount: Int64, currency: Currency, paymentMethod: String, metadata: [String: String], idempotencyKey: String) async throws -> ProviderIntent {
        tally("create")
        let intent = try await wrapped.createIntent(amount: amount, currency: currency, paymentMethod: paymentMethod, metadata: metadata, idempotencyKey: idempotencyKey)
        sendWebhook(intent.status == .requiresCapture ? "payment_intent.amount_capturable_updated" : "payment_intent.payment_failed", intent)
        return intent
    }

    func capture(intentId: String, idempotencyKey: String) async throws -> ProviderIntent {
        tally("capture")
        let intent = try await wrapped.capture(intentId: intentId, idempotencyKey: idempotencyKey)
        sendWebhook("payment_intent.succeeded", intent)
        return intent
    }

    func retrieve(intentId: String) async throws -> ProviderIntent {
        tally("retrieve")
        return try await wrapped.retrieve(intentId: intentId)
    }

    func findIntent(idempotencyKey: String, pledgeId: String) async throws -> ProviderIntent? {
        tally("find")
        return try await wrapped.findIntent(idempotencyKey: idempotencyKey, pledgeId: pledgeId)
    }

    func refund(intentId: String, amount: Int64, metadata: [String: String], idempotencyKey: String) async throws -> ProviderRefund {
        tally("refund")
        let refund = try await wrapped.refund(intentId: intentId, amount: amount, metadata: metadata, idempotencyKey: idempotencyKey)
        if let sender = echo.withLock({ $0 }) {
            let refunded = try await wrapped.refunds(intentId: intentId).filter(\.succeeded).reduce(0) { $0 + $1.amount }
            sender.send(type: "charge.refunded", charge: try await wrapped.retrieve(intentId: intentId), amountRefunded: refunded)
        }
        if losesRefundAnswers.withLock({ $0 }) { throw ProviderError.unavailable("the answer was lost") }
        return refund
    }

    func refunds(intentId: String) async throws -> [ProviderRefund] {
        tally("refunds")
        return try await wrapped.refunds(intentId: intentId)
    }
}

/// What a test stops the create at, as a crash would.
struct SimulatedCrash: Error {}

struct PaymentHarness: Sendable {
    let client: any TestClientProtocol
    let pledges: StubPledges
    let campaigns: StubCampaigns
    let provider: CountingProvider
    let donorToken: String
    let otherDonorToken: String
    let adminToken: String
    let databaseURL: DatabaseURL

    func pay(_ pledgeId: PledgeID, method: String? = "pm_card_visa", token: String? = nil, receipt: String? = nil) async throws -> TestResponse {
        var body: [String: any Sendable] = ["pledge_id": pledgeId.rawValue]
        if let method { body["payment_method"] = method }
        let headers: HTTPFields = token.map { .bearer($0) } ?? .json
        let query = receipt.map { "?receipt_token=\($0)" } ?? ""
        return try await client.execute(uri: "/payments" + query, method: .post, headers: headers, body: ByteBuffer(json: body))
    }

    /// Posts a provider webhook, signed with `secret` at `timestamp` (nil: unsigned).
    func webhook(_ event: [String: Any], secret: String? = webhookSecret, timestamp: Date = Date()) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: event)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let secret {
            headers[HTTPField.Name("Stripe-Signature")!] = SignatureScheme.stripe(secret: secret).sign(body: body, at: timestamp)
        }
        return try await client.execute(uri: "/payments/webhooks/stripe", method: .post, headers: headers, body: ByteBuffer(data: body))
    }

    /// `destination event_type` of every outbox row, oldest first.
    func outbox() async throws -> [String] {
        try await rows("SELECT destination, event_type FROM outbox ORDER BY created_at, event_type") {
            "\(try $0.decode(column: "destination", as: String.self)) \(try $0.decode(column: "event_type", as: String.self))"
        }
    }

    func count(_ sql: String) async throws -> Int {
        try await rows(sql) { try $0.decode(column: "n", as: Int.self) }.first ?? 0
    }

    func rows<T: Sendable>(_ sql: String, _ map: @escaping @Sendable (any SQLRow) throws -> T) async throws -> [T] {
        try await Databases.withClient(databaseURL, logger: TestLogging.logger) { client in
            try await client.withConnection { db in try await db.raw(SQLQueryString(sql)).all().map(map) }
        }
    }
}

func stripeEvent(id: String = "evt_\(UUID().uuidString)", type: String, intentId: String) -> [String: Any] {
    ["id": id, "object": "event", "type": type, "data": ["object": ["id": intentId, "object": "payment_intent"]]]
}

/// payment-service on a real port (the sandbox posts its webhooks to it), with stub pledges.
func withPaymentService<Value: Sendable>(
    _ database: TestDatabase,
    provider: PaymentServiceConfig.Provider = .sandbox(chaos: false),
    afterProviderCall: AfterProviderCall? = nil,
    recovery: PaymentRecoveryConfig? = nil,
    databaseURL existing: DatabaseURL? = nil,
    pledges: StubPledges = StubPledges(),
    campaigns: StubCampaigns = StubCampaigns(everyOtherIs: "active"),
    _ test: @escaping @Sendable (PaymentHarness) async throws -> Value
) async throws -> Value {
    let issuer = try await TokenIssuer(privateKeyPEM: TestKeys.signingKeyPEM, timeToLive: 900)
    let donor = try await issuer.issue(for: Principal(userID: "donor-1", email: "dora@example.org", name: "Dora", role: .donor))
    let other = try await issuer.issue(for: Principal(userID: "donor-2", email: "omar@example.org", name: "Omar", role: .donor))
    let admin = try await issuer.issue(for: Principal(userID: "admin-1", email: "ada@example.org", name: "Ada", role: .admin))
    @Sendable func run(_ url: DatabaseURL) async throws -> Value {
        var relay = OutboxRelayConfig()
        relay.pollInterval = .seconds(600)  // nothing listens at the destinations here
        var recoveryConfig = PaymentRecoveryConfig()
        recoveryConfig.interval = .seconds(600)
        let config = PaymentServiceConfig(
            port: try FreePort.next(), database: url, secrets: InternalSecrets(shared: paymentSecret), jwksURL: "http://127.0.0.1:9/unused",
            pledgeServiceURL: "http://127.0.0.1:9", eventDispatchURL: "http://127.0.0.1:9/campaigns/events", provider: provider,
            webhookSecret: webhookSecret, relay: relay, recovery: recovery ?? recoveryConfig, logLevel: TestLogging.level
        )
        let counting = Mutex<CountingProvider?>(nil)
        let app = try await PaymentServiceApp.buildApplication(
            config: config, pledges: pledges, campaigns: campaigns,
            decorateProvider: { provider in
                let wrapped = CountingProvider(provider)
                counting.withLock { $0 = wrapped }
                return wrapped
            },
            afterProviderCall: afterProviderCall,
            overrides: ServiceOverrides(jwks: StaticJWKSSource(issuer.jwks), tokenVersions: StaticTokenVersions())
        )
        guard let provider = counting.withLock({ $0 }) else { throw SimulatedCrash() }
        return try await app.test(.live) { client in
            try await test(PaymentHarness(
                client: client, pledges: pledges, campaigns: campaigns, provider: provider, donorToken: donor, otherDonorToken: other, adminToken: admin,
                databaseURL: url
            ))
        }
    }
    if let existing { return try await run(existing) }
    return try await database.withFreshDatabase { try await run($0) }
}
