import AsyncHTTPClient
import Contracts
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Testing
import TestSupport
import SQLKit
import ServiceClient
@testable import PaymentService

/// localstripe, a Stripe-compatible server from PyPI, started by `scripts/test`. Without it these
/// tests are skipped, unless `CAREFORALL_REQUIRE_LOCALSTRIPE=1` (as `scripts/test` sets), when
/// its absence is a failure.
enum LocalStripe {
    static let url = ProcessInfo.processInfo.environment["CAREFORALL_TEST_LOCALSTRIPE_URL"]
    static let required = ProcessInfo.processInfo.environment["CAREFORALL_REQUIRE_LOCALSTRIPE"] == "1"
    static let apiKey = "sk_test_careforall"
    static var enabled: Bool { url != nil || required }

    static func base() throws -> String {
        guard let url else { throw LocalStripeError.notRunning }
        return url
    }

    static func provider() throws -> StripeProvider {
        StripeProvider(apiKey: apiKey, baseURL: try base())
    }

    /// Points localstripe's webhooks (all of them: it has no per-endpoint filter by account) at `url`.
    static func registerWebhook(id: String, url: String, secret: String) async throws {
        var request = HTTPClientRequest(url: try base() + "/_config/webhooks/\(id)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "url=\(PercentEncoding.encode(url))&secret=\(PercentEncoding.encode(secret))"))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw LocalStripeError.registrationFailed(Int(response.status.code)) }
    }

    /// How many intents localstripe holds that were made under `chargeKey`.
    static func intents(chargeKey: String) async throws -> Int {
        var count = 0
        var after: String?
        for _ in 0..<200 {
            let query = "/v1/payment_intents?limit=100" + (after.map { "&starting_after=\($0)" } ?? "")
            let (_, body) = try await provider().call(.GET, query)
            let page = try StripeProvider.decode(StripeList<StripeIntent>.self, from: body)
            count += page.data.filter { $0.metadata?["charge_key"] == chargeKey }.count
            guard page.hasMore == true, let last = page.data.last?.id else { break }
            after = last
        }
        return count
    }
}

enum LocalStripeError: Error {
    case notRunning
    case registrationFailed(Int)
}

private let usd = Currency(rawValue: "USD")!
private func stripeProvider() throws -> PaymentServiceConfig.Provider {
    .stripe(apiKey: LocalStripe.apiKey, apiBase: try LocalStripe.base())
}

@Suite("The Stripe provider against localstripe", .enabled(if: LocalStripe.enabled, "set CAREFORALL_TEST_LOCALSTRIPE_URL (scripts/test does)"))
struct LocalStripeTests {
    @Test("create and confirm with manual capture, then capture, retrieve and find by charge key")
    func createCaptureFind() async throws {
        let provider = try LocalStripe.provider()
        let key = "key-\(UUID().uuidString)"
        let intent = try await provider.createIntent(
            amount: 2500, currency: usd, paymentMethod: "pm_card_visa", metadata: ["pledge_id": "p-1", "charge_key": key], idempotencyKey: key
        )
        #expect(intent.id.hasPrefix("pi_") && intent.status == .requiresCapture && intent.pledgeStatus == .authorized)
        #expect(intent.amount == 2500 && intent.currency == "usd" && intent.pledgeId == "p-1" && intent.clientSecret != nil)
        #expect(try await provider.findIntent(idempotencyKey: key, pledgeId: "p-1")?.id == intent.id)
        #expect(try await provider.findIntent(idempotencyKey: "no-such-key", pledgeId: "p-1") == nil)

        let captured = try await provider.capture(intentId: intent.id, idempotencyKey: "capture-" + key)
        #expect(captured.status == .succeeded && captured.pledgeStatus == .captured)
        #expect(try await provider.retrieve(intentId: intent.id).status == .succeeded)
        await #expect(throws: ProviderError.noSuchIntent("pi_missing")) { try await provider.retrieve(intentId: "pi_missing") }
    }

    @Test("a declined card gives an intent that failed; an unknown payment method is refused")
    func declineAndUnknown() async throws {
        let provider = try LocalStripe.provider()
        let key = "key-\(UUID().uuidString)"
        let declined = try await provider.createIntent(
            amount: 900, currency: usd, paymentMethod: "pm_card_chargeCustomerFail", metadata: ["pledge_id": "p-2", "charge_key": key], idempotencyKey: key
        )
        #expect(declined.status == .requiresPaymentMethod && declined.failureReason == "card_declined" && declined.pledgeStatus == .failed)
        await #expect(throws: ProviderError.noSuchPaymentMethod("pm_card_nonexistent")) {
            try await provider.createIntent(amount: 900, currency: usd, paymentMethod: "pm_card_nonexistent", metadata: [:], idempotencyKey: UUID().uuidString)
        }
    }

    @Test("payment-service on Stripe: paid, captured, and localstripe's signed webhooks verified and recorded", arguments: TestDatabase.all)
    func webhooks(database: TestDatabase) async throws {
        try await withPaymentService(database, provider: try stripeProvider()) { service in
            let port = try #require(service.client.port)
            try await LocalStripe.registerWebhook(id: "careforall-\(UUID().uuidString)", url: "http://127.0.0.1:\(port)/payments/webhooks/stripe", secret: webhookSecret)

            let paid = try await service.pay(service.pledges.add(userId: "donor-1", amount: 1200), method: "pm_card_visa", token: service.donorToken)
            #expect(paid.status == .created)
            let payment = try paid.json(PaymentResponse.self)
            #expect(payment.status == "CAPTURED" && payment.provider == "stripe" && payment.providerPaymentId?.hasPrefix("pi_") == true)

            let failed = try await service.pay(service.pledges.add(userId: "donor-1", amount: 1300), method: "pm_card_chargeCustomerFail", token: service.donorToken)
            #expect(try failed.json(PaymentResponse.self).status == "FAILED")

            // localstripe signs its webhooks with the secret and sends them a second later.
            let delivered = try await eventually(timeout: .seconds(20)) {
                let types = try await service.rows("SELECT type FROM provider_events WHERE payment_intent_id IS NOT NULL") {
                    try $0.decode(column: "type", as: String.self)
                }
                return types.contains("payment_intent.succeeded") && types.contains("payment_intent.payment_failed")
            }
            #expect(delivered)
            #expect(try await service.outbox().filter { $0.hasPrefix("campaign-events") }.sorted() == [
                "campaign-events PAYMENT_CAPTURED", "campaign-events PAYMENT_FAILED",
            ])
        }
    }

    @Test("refunds through Stripe's refunds API: part, the rest, a lost answer retried once; a dashboard refund reconciled from charge.refunded", arguments: TestDatabase.all)
    func refunds(database: TestDatabase) async throws {
        try await withPaymentService(database, provider: try stripeProvider()) { service in
            let payment = try await service.pay(service.pledges.add(userId: "donor-1", amount: 6000), method: "pm_card_visa", token: service.donorToken)
                .json(PaymentResponse.self)
            #expect(payment.status == "CAPTURED")
            let intentId = try #require(payment.providerPaymentId)

            let part = try await service.refund(payment.id, amount: 1000, key: "stripe-1")
            #expect(part.status == .created)
            let refund = try part.json(RefundResponse.self)
            #expect(refund.status == "SUCCEEDED" && refund.providerRefundId?.hasPrefix("re_") == true)
            #expect(try await service.read(payment.id).refundedAmount == 1000)

            // The answer is lost after localstripe refunded; the retry finds that refund by its metadata.
            service.provider.loseRefundAnswers(true)
            #expect(try await service.refund(payment.id, amount: 2000, key: "stripe-2").status == .badGateway)
            service.provider.loseRefundAnswers(false)
            #expect(try await service.refund(payment.id, amount: 2000, key: "stripe-2").status == .created)
            #expect(try await LocalStripe.provider().refunds(intentId: intentId).count == 2)
            #expect(try await service.read(payment.id).refundedAmount == 3000)

            // In the dashboard: localstripe makes it (and sends no webhook); we post the one Stripe would.
            _ = try await LocalStripe.provider().refund(intentId: intentId, amount: 500, metadata: [:], idempotencyKey: UUID().uuidString)
            let event = try await service.webhook(chargeRefunded(intentId: intentId, amountRefunded: 3500))
            #expect(event.status == .ok && event.text.contains("applied"))
            var read = try await service.read(payment.id)
            #expect(read.refundedAmount == 3500 && read.refunds?.count == 3 && read.status == "CAPTURED")

            // More than is left is refused before the provider is asked (localstripe would not refuse it).
            #expect(try await service.refund(payment.id, amount: 2501, key: "stripe-3").errorCode == "refund_exceeds_payment")
            #expect(try await service.refund(payment.id, key: "stripe-4").status == .created)
            read = try await service.read(payment.id)
            #expect(read.refundedAmount == 6000 && read.status == "REFUNDED")
            #expect(try await service.refundEvents() == [1000, 3000, 3500, 6000])
        }
    }

    @Test("20 concurrent payments of one pledge make one localstripe intent, though localstripe ignores idempotency keys")
    func concurrentOnLocalStripe() async throws {
        try await withPaymentService(.sqlite, provider: try stripeProvider()) { service in
            let pledgeId = service.pledges.add(userId: "donor-1", amount: 1400)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<20 { group.addTask { try await service.pay(pledgeId, method: "pm_card_visa", token: service.donorToken).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1 && statuses.filter { $0 == .ok }.count == 19)
            let chargeKey = try #require(try await service.rows("SELECT charge_key FROM payments") { try $0.decode(column: "charge_key", as: String.self) }.first)
            #expect(try await LocalStripe.intents(chargeKey: chargeKey) == 1)
        }
    }

    @Test("crash after localstripe authorized: on restart the intent is found by its charge key and captured, not created again", arguments: TestDatabase.all)
    func crashAndRecover(database: TestDatabase) async throws {
        try await database.withFreshDatabase { url in
            let pledges = StubPledges()
            let pledgeId = pledges.add(userId: "donor-1", amount: 1500)
            try await withPaymentService(
                database, provider: try stripeProvider(), afterProviderCall: { _ in throw SimulatedCrash() }, databaseURL: url, pledges: pledges
            ) { (service: PaymentHarness) async throws in
                #expect(try await service.pay(pledgeId, method: "pm_card_visa", token: service.donorToken).status == .internalServerError)
            }
            var recovery = PaymentRecoveryConfig()
            recovery.interval = .milliseconds(200)
            recovery.settleAfter = .zero
            try await withPaymentService(database, provider: try stripeProvider(), recovery: recovery, databaseURL: url, pledges: pledges) { service in
                let settled = try await eventually(timeout: .seconds(20)) {
                    try await service.count("SELECT COUNT(*) AS n FROM payments WHERE status = 'CAPTURED'") == 1
                }
                #expect(settled)
                #expect(service.provider.count("create") == 0)
                let chargeKey = try #require(try await service.rows("SELECT charge_key FROM payments") { try $0.decode(column: "charge_key", as: String.self) }.first)
                #expect(try await LocalStripe.intents(chargeKey: chargeKey) == 1)
                #expect(try await service.outbox().filter { $0 == "campaign-events PAYMENT_CAPTURED" }.count == 1)
            }
        }
    }
}

@Suite("localstripe is there when scripts/test says it is")
struct LocalStripeRequirementTests {
    @Test("CAREFORALL_REQUIRE_LOCALSTRIPE=1 means the URL is set and localstripe answers")
    func required() async throws {
        guard LocalStripe.required else { return }
        let provider = try LocalStripe.provider()
        let (status, _) = try await provider.call(.GET, "/v1/payment_intents?limit=1")
        #expect(status == 200)
    }
}
