import Contracts
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import TestSupport
import SQLKit
import ServiceLifecycle
@testable import PaymentService

@Suite("Provider webhooks, reconciliation and recovery")
struct WebhookReconciliationTests {
    @Test("the signature is checked on the raw body: missing, wrong or stale is 400; a malformed event is 400")
    func signatures() async throws {
        try await withPaymentService(.sqlite) { service in
            let event = stripeEvent(type: "payment_intent.succeeded", intentId: "pi_x")
            let unsigned = try await service.webhook(event, secret: nil)
            #expect(unsigned.status == .badRequest && unsigned.errorCode == "invalid_signature")
            #expect(try await service.webhook(event, secret: "whsec_wrong").status == .badRequest)
            #expect(try await service.webhook(event, timestamp: Date().addingTimeInterval(-600)).status == .badRequest)
            let malformed = try await service.webhook(["type": "payment_intent.succeeded"])
            #expect(malformed.status == .badRequest && malformed.errorCode == "invalid_event")
            let unknown = try await service.webhook(event)
            #expect(unknown.status == .ok && unknown.text.contains("unknown_intent"))
        }
    }

    @Test("the sandbox's webhooks arrive over HTTP with a valid Stripe-Signature; chaos copies are deduplicated", arguments: TestDatabase.all)
    func sandboxWebhooks(database: TestDatabase) async throws {
        try await withPaymentService(database, provider: .sandbox(chaos: false, sendsWebhooks: false)) { service in
            let pledgeId = service.pledges.add(userId: "donor-1")
            let payment = try await service.pay(pledgeId, token: service.donorToken).json(PaymentResponse.self)
            #expect(payment.status == "CAPTURED")
            // The sender the sandbox uses, aimed at this test server's port, in chaos mode: every
            // event 2-3 times, out of order.
            let port = try #require(service.client.port)
            let sender = SandboxWebhookSender(
                url: "http://127.0.0.1:\(port)/payments/webhooks/stripe", secret: webhookSecret, chaos: true,
                maximumChaosDelay: .milliseconds(500), logger: TestLogging.logger
            )
            let intent = try await service.provider.retrieve(intentId: try #require(payment.providerPaymentId))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await sender.run() }
                sender.send(type: "payment_intent.amount_capturable_updated", intent: intent)
                sender.send(type: "payment_intent.succeeded", intent: intent)
                let arrived = try await eventually(timeout: .seconds(10)) {
                    try await service.count("SELECT COUNT(*) AS n FROM provider_events") == 2
                }
                #expect(arrived)
                group.cancelAll()
            }
            let results = try await service.rows("SELECT type, result FROM provider_events ORDER BY type") {
                "\(try $0.decode(column: "type", as: String.self)) \(try $0.decode(column: "result", as: String.self))"
            }
            #expect(results == ["payment_intent.amount_capturable_updated ignored", "payment_intent.succeeded ignored"])
            #expect(try await service.outbox().filter { $0.hasSuffix("PAYMENT_CAPTURED") }.count == 1)
        }
    }

    /// Its deliveries go to payment-service's own server, which stops first; each one retried
    /// for about 12 s, and the sender waited for them, so a stop took over 30 s.
    @Test("a graceful shutdown stops the sandbox's sender at once, deliveries still retrying included")
    func senderStopsAtOnce() async throws {
        let sender = SandboxWebhookSender(
            url: "http://127.0.0.1:\(try FreePort.next())/payments/webhooks/stripe", secret: webhookSecret, chaos: true,
            maximumChaosDelay: .milliseconds(50), logger: TestLogging.logger
        )
        let intent = ProviderIntent(id: "pi_stop", status: .succeeded, amount: 1000, currency: "USD", pledgeId: "p1")
        // More than the 64 deliveries in flight, all failing against a port nobody listens on.
        for _ in 0..<100 { sender.send(type: "payment_intent.succeeded", intent: intent) }
        let group = ServiceGroup(configuration: .init(services: [sender], logger: TestLogging.logger))
        Task {
            try await Task.sleep(for: .milliseconds(500))
            await group.triggerGracefulShutdown()
        }
        try await within(seconds: 6) { try await group.run() }
    }

    @Test("create answers and the provider's own webhooks (duplicated, reordered) race: each payment is captured once, by the call that authorized it", arguments: TestDatabase.all)
    func answersRaceWebhooks(database: TestDatabase) async throws {
        try await withPaymentService(database, provider: .sandbox(chaos: false, sendsWebhooks: false)) { service in
            // The provider's webhooks, each 2-3 times after up to 50 ms: many arrive while the create is still answering.
            let sender = SandboxWebhookSender(
                url: "http://127.0.0.1:\(try #require(service.client.port))/payments/webhooks/stripe", secret: webhookSecret, chaos: true,
                maximumChaosDelay: .milliseconds(50), logger: TestLogging.logger
            )
            service.provider.echo(to: sender)
            let pledgeIds = (0..<10).map { _ in service.pledges.add(userId: "donor-1") }
            try await withThrowingTaskGroup(of: Void.self) { background in
                background.addTask { await sender.run() }
                let statuses = try await withThrowingTaskGroup(of: String.self) { group in
                    for pledgeId in pledgeIds {
                        group.addTask { try await service.pay(pledgeId, token: service.donorToken).json(PaymentResponse.self).status }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses == Array(repeating: "CAPTURED", count: 10))
                // Two events an intent (authorized, succeeded), each delivered 2-3 times: recorded once each.
                let arrived = try await eventually(timeout: .seconds(20)) {
                    try await service.count("SELECT COUNT(*) AS n FROM provider_events") == 20
                }
                #expect(arrived)
                background.cancelAll()
            }
            #expect(service.provider.count("capture") == 10, "one capture a payment, whoever saw the authorization first")
            let outbox = try await service.outbox()
            #expect(outbox.filter { $0 == "campaign-events PAYMENT_CAPTURED" }.count == 10)
            #expect(outbox.filter { $0 == "pledge-webhook PAYMENT_STATUS_NOTICE" }.count == 20, "AUTHORIZED, then CAPTURED, each once")
        }
    }

    @Test("a correctly signed payment_failed for a captured intent changes nothing; a redelivery is a duplicate", arguments: TestDatabase.all)
    func forgedFailure(database: TestDatabase) async throws {
        try await withPaymentService(database, provider: .sandbox(chaos: false, sendsWebhooks: false)) { service in
            let pledgeId = service.pledges.add(userId: "donor-1")
            let payment = try await service.pay(pledgeId, token: service.donorToken).json(PaymentResponse.self)
            #expect(payment.status == "CAPTURED")
            let before = try await service.outbox()

            let failed = stripeEvent(id: "evt_forged", type: "payment_intent.payment_failed", intentId: try #require(payment.providerPaymentId))
            let answer = try await service.webhook(failed)
            #expect(answer.status == .ok && answer.text.contains("\"ignored\""))
            #expect(try await service.webhook(failed).text.contains("\"duplicate\""))

            let after = try await service.client.execute(uri: "/payments/\(payment.id)", method: .get, headers: .bearer(service.adminToken))
            #expect(try after.json(PaymentResponse.self).status == "CAPTURED")
            #expect(try await service.outbox() == before, "no event was written")
        }
    }

    @Test("a webhook settles a payment whose create answer was never recorded")
    func webhookBeforeAnswer() async throws {
        try await withPaymentService(.sqlite, provider: .sandbox(chaos: false, sendsWebhooks: false), afterProviderCall: { _ in throw SimulatedCrash() }) { service in
            let pledgeId = service.pledges.add(userId: "donor-1")
            #expect(try await service.pay(pledgeId, token: service.donorToken).status == .internalServerError)
            #expect(try await service.count("SELECT COUNT(*) AS n FROM payments WHERE status = 'PENDING' AND provider_payment_id IS NULL") == 1)
            let intentId = try #require(try await service.rows("SELECT id FROM sandbox_intents") { try $0.decode(column: "id", as: String.self) }.first)

            let answer = try await service.webhook(stripeEvent(type: "payment_intent.amount_capturable_updated", intentId: intentId))
            #expect(answer.status == .ok && answer.text.contains("\"applied\""))
            #expect(try await service.count("SELECT COUNT(*) AS n FROM payments WHERE status = 'CAPTURED' AND provider_payment_id IS NOT NULL") == 1)
            #expect(service.provider.count("create") == 1)
        }
    }

    @Test("a webhook carries no trace: what it moves continues the trace the payment was created under", arguments: TestDatabase.all)
    func webhookContinuesTrace(database: TestDatabase) async throws {
        try await withPaymentService(database, provider: .sandbox(chaos: false, sendsWebhooks: false), afterProviderCall: { _ in throw SimulatedCrash() }) { service in
            let pledgeId = service.pledges.add(userId: "donor-1")
            let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
            var headers: HTTPFields = .bearer(service.donorToken)
            headers[HTTPField.Name("traceparent")!] = "00-\(trace)-00f067aa0ba902b7-01"
            let created = try await service.client.execute(
                uri: "/payments", method: .post, headers: headers, body: ByteBuffer(json: ["pledge_id": pledgeId, "payment_method": "pm_card_visa"])
            )
            #expect(created.status == .internalServerError)
            let intentId = try #require(try await service.rows("SELECT id FROM sandbox_intents") { try $0.decode(column: "id", as: String.self) }.first)
            // The provider's webhook, as Stripe sends it: no traceparent.
            #expect(try await service.webhook(stripeEvent(type: "payment_intent.amount_capturable_updated", intentId: intentId)).status == .ok)
            let traces = try await service.rows("SELECT event_type, trace_parent FROM outbox ORDER BY created_at") {
                (try $0.decode(column: "event_type", as: String.self), try $0.decode(column: "trace_parent", as: String?.self) ?? "")
            }
            #expect(traces.map(\.0).contains("PAYMENT_CAPTURED"))
            #expect(!traces.isEmpty && traces.allSatisfy { $0.1.contains(trace) }, "\(traces)")
        }
    }

    @Test("crash between the provider call and the commit: after a restart the payment is recovered, not recreated", arguments: TestDatabase.all)
    func crashAndRecover(database: TestDatabase) async throws {
        try await database.withFreshDatabase { url in
            let pledges = StubPledges()
            let pledgeId = pledges.add(userId: "donor-1", amount: 3100)
            // First life: the provider authorizes, then the process dies before recording the answer.
            try await withPaymentService(
                database, provider: .sandbox(chaos: false, sendsWebhooks: false), afterProviderCall: { _ in throw SimulatedCrash() },
                databaseURL: url, pledges: pledges
            ) { (service: PaymentHarness) async throws in
                #expect(try await service.pay(pledgeId, token: service.donorToken).status == .internalServerError)
                #expect(service.provider.count("create") == 1)
            }
            // Second life: no webhook ever comes; the recovery service finds the intent by its key.
            var recovery = PaymentRecoveryConfig()
            recovery.interval = .milliseconds(100)
            recovery.settleAfter = .zero
            try await withPaymentService(
                database, provider: .sandbox(chaos: false, sendsWebhooks: false), recovery: recovery, databaseURL: url, pledges: pledges
            ) { service in
                let settled = try await eventually(timeout: .seconds(15)) {
                    try await service.count("SELECT COUNT(*) AS n FROM payments WHERE status = 'CAPTURED'") == 1
                }
                #expect(settled)
                #expect(service.provider.count("create") == 0, "found by its charge key, not created again")
                #expect(service.provider.count("find") >= 1)
                #expect(try await service.count("SELECT COUNT(*) AS n FROM sandbox_intents") == 1)
                #expect(try await service.outbox().filter { $0 == "campaign-events PAYMENT_CAPTURED" }.count == 1)
                let again = try await service.pay(pledgeId, token: service.donorToken)
                #expect(try again.status == .ok && again.json(PaymentResponse.self).status == "CAPTURED")
            }
        }
    }

    @Test("a payment stuck AUTHORIZED (capture lost) is captured by the recovery service")
    func stuckAuthorization() async throws {
        try await TestDatabase.sqlite.withFreshDatabase { url in
            let pledges = StubPledges()
            let pledgeId = pledges.add(userId: "donor-1")
            try await withPaymentService(.sqlite, provider: .sandbox(chaos: false, sendsWebhooks: false), databaseURL: url, pledges: pledges) { service in
                #expect(try await service.pay(pledgeId, token: service.donorToken).status == .created)
                // Rewind to what a crash right after the authorization leaves behind.
                _ = try await service.rows("UPDATE sandbox_intents SET status = 'requires_capture' RETURNING id") { _ in 0 }
                _ = try await service.rows("UPDATE payments SET status = 'AUTHORIZED' RETURNING id") { _ in 0 }
            }
            var recovery = PaymentRecoveryConfig()
            recovery.interval = .milliseconds(100)
            recovery.settleAfter = .zero
            try await withPaymentService(.sqlite, provider: .sandbox(chaos: false, sendsWebhooks: false), recovery: recovery, databaseURL: url, pledges: pledges) { service in
                let settled = try await eventually(timeout: .seconds(15)) {
                    try await service.count("SELECT COUNT(*) AS n FROM payments WHERE status = 'CAPTURED'") == 1
                }
                #expect(settled)
                #expect(service.provider.count("capture") == 1 && service.provider.count("create") == 0)
            }
        }
    }
}
