import Contracts
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing
import TestSupport
@testable import PaymentService

extension PaymentHarness {
    /// `POST /payments/{id}/refunds` as the admin (or with `token`), under `key`.
    func refund(_ paymentId: PaymentID, amount: Int64? = nil, reason: String? = "donor asked", key: String? = "refund-1", token: String? = nil)
        async throws -> TestResponse
    {
        var body: [String: any Sendable] = [:]
        if let amount { body["amount"] = amount }
        if let reason { body["reason"] = reason }
        var headers: HTTPFields = .bearer(token ?? adminToken)
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await client.execute(uri: "/payments/\(paymentId)/refunds", method: .post, headers: headers, body: ByteBuffer(json: body))
    }

    /// A captured payment of `amount` USD by donor-1.
    func capturedPayment(amount: Int64) async throws -> PaymentResponse {
        let pledgeId = pledges.add(userId: "donor-1", amount: amount)
        let payment = try await pay(pledgeId, token: donorToken).json(PaymentResponse.self)
        #expect(payment.status == "CAPTURED")
        return payment
    }

    func read(_ paymentId: PaymentID) async throws -> PaymentResponse {
        try await client.execute(uri: "/payments/\(paymentId)", method: .get, headers: .bearer(adminToken)).json(PaymentResponse.self)
    }

    /// The `refunded_amount` of each `PAYMENT_REFUNDED` in the outbox, oldest first.
    func refundEvents() async throws -> [Int64] {
        try await rows("SELECT payload FROM outbox WHERE event_type = 'PAYMENT_REFUNDED' ORDER BY created_at") {
            let envelope = try JSONDecoder().decode(EventEnvelope.self, from: Data(try $0.decode(column: "payload", as: String.self).utf8))
            guard case .paymentRefunded(let refund) = envelope.data else { return -1 }
            return refund.refundedAmount
        }.sorted()
    }

    /// The `refunded_amount` of each notice to pledge-service that carries one.
    func refundNotices() async throws -> [Int64] {
        try await rows("SELECT payload FROM outbox WHERE event_type = 'PAYMENT_STATUS_NOTICE' ORDER BY created_at") {
            try JSONDecoder().decode(PaymentStatusNotice.self, from: Data(try $0.decode(column: "payload", as: String.self).utf8)).refundedAmount ?? 0
        }.filter { $0 > 0 }.sorted()
    }
}

/// A signed `charge.refunded` as Stripe sends it: the charge with its intent and cumulative refunds.
func chargeRefunded(id: String = "evt_\(UUID().uuidString)", intentId: String, amountRefunded: Int64) -> [String: Any] {
    [
        "id": id, "object": "event", "type": "charge.refunded",
        "data": ["object": ["id": "ch_test", "object": "charge", "payment_intent": intentId, "amount_refunded": amountRefunded, "refunded": true]],
    ]
}

@Suite("Refunds")
struct RefundTests {
    @Test("an admin refunds part, then the rest: PAYMENT_REFUNDED and a notice each time with the cumulative amount; REFUNDED at the end", arguments: TestDatabase.all)
    func partialThenRest(database: TestDatabase) async throws {
        try await withPaymentService(database) { service in
            let payment = try await service.capturedPayment(amount: 5000)
            let first = try await service.refund(payment.id, amount: 2000, key: "k-1")
            #expect(first.status == .created)
            let refund = try first.json(RefundResponse.self)
            #expect(refund.paymentId == payment.id && refund.amount == 2000 && refund.currency == "USD" && refund.status == "SUCCEEDED")
            #expect(refund.reason == "donor asked" && refund.providerRefundId?.hasPrefix("re_sandbox_") == true)
            var read = try await service.read(payment.id)
            #expect(read.status == "CAPTURED" && read.refundedAmount == 2000 && read.refunds?.map(\.id) == [refund.id])

            // The same request again is the same refund; the same key with another body is refused.
            let again = try await service.refund(payment.id, amount: 2000, key: "k-1")
            #expect(try again.status == .created && again.json(RefundResponse.self) == refund)
            let reused = try await service.refund(payment.id, amount: 1000, key: "k-1")
            #expect(reused.status == .unprocessableContent && reused.errorCode == "idempotency_key_reused")
            let tooMuch = try await service.refund(payment.id, amount: 3001, key: "k-2")
            #expect(tooMuch.status == .unprocessableContent && tooMuch.errorCode == "refund_exceeds_payment")
            #expect(tooMuch.text.contains("3000") && tooMuch.text.contains("30.00 USD"))

            // No amount: what is left.
            let rest = try await service.refund(payment.id, key: "k-3")
            #expect(try rest.status == .created && rest.json(RefundResponse.self).amount == 3000)
            read = try await service.read(payment.id)
            #expect(read.status == "REFUNDED" && read.refundedAmount == 5000 && read.refunds?.count == 2)
            let done = try await service.refund(payment.id, key: "k-4")
            #expect(done.status == .conflict && done.errorCode == "payment_not_refundable")

            #expect(service.provider.count("refund") == 2)
            #expect(try await service.count("SELECT COUNT(*) AS n FROM sandbox_refunds") == 2)
            #expect(try await service.refundEvents() == [2000, 5000])
            #expect(try await service.refundNotices() == [2000, 5000])
            // The provider's charge.refunded about our own refunds changes nothing more.
            let echo = try await service.webhook(chargeRefunded(intentId: try #require(payment.providerPaymentId), amountRefunded: 5000))
            #expect(echo.status == .ok && echo.text.contains("ignored"))
            #expect(try await service.refundEvents() == [2000, 5000])
            #expect(try await service.count("SELECT COUNT(*) AS n FROM refunds") == 2)
        }
    }

    @Test("only admins refund, only captured payments, only with a key and a reason, only what is left")
    func refusals() async throws {
        try await withPaymentService(.sqlite) { service in
            let payment = try await service.capturedPayment(amount: 1000)
            #expect(try await service.refund(payment.id, token: service.donorToken).status == .forbidden)
            let anonymous = try await service.client.execute(uri: "/payments/\(payment.id)/refunds", method: .post, headers: .json, body: ByteBuffer(json: ["reason": "x"]))
            #expect(anonymous.status == .unauthorized)
            #expect(try await service.refund(payment.id, key: nil).errorCode == "idempotency_key_required")
            #expect(try await service.refund(payment.id, key: String(repeating: "k", count: 256)).errorCode == "invalid_idempotency_key")
            for amount: any Sendable in [0, -5, "100", 1.5] {
                let response = try await service.client.execute(
                    uri: "/payments/\(payment.id)/refunds", method: .post,
                    headers: [.authorization: "Bearer \(service.adminToken)", .contentType: "application/json", HTTPField.Name("Idempotency-Key")!: "k"],
                    body: ByteBuffer(json: ["amount": amount, "reason": "x"])
                )
                #expect(response.status == .badRequest && response.errorCode == "invalid_amount", "amount \(amount)")
            }
            for reason in [nil, "", "   ", String(repeating: "r", count: 501)] {
                #expect(try await service.refund(payment.id, reason: reason).errorCode == "invalid_reason")
            }
            #expect(try await service.refund("no-such-payment").status == .notFound)

            let declined = try await service.pay(service.pledges.add(userId: "donor-1"), method: "pm_card_chargeDeclined", token: service.donorToken)
                .json(PaymentResponse.self)
            let failed = try await service.refund(declined.id)
            #expect(failed.status == .conflict && failed.errorCode == "payment_not_refundable" && failed.text.contains("FAILED"))
            #expect(service.provider.count("refund") == 0)
            #expect(try await service.count("SELECT COUNT(*) AS n FROM refunds") == 0)
        }
    }

    @Test("10 admins refund everything at once under different keys: one refund; under one key: one refund, the same answer", arguments: TestDatabase.all)
    func concurrentRefunds(database: TestDatabase) async throws {
        try await withPaymentService(database) { service in
            let payment = try await service.capturedPayment(amount: 2500)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<10 {
                    group.addTask { try await service.refund(payment.id, key: "key-\(index)").status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1)
            #expect(statuses.filter { $0 == .conflict }.count == 9, "\(statuses)")

            let other = try await service.capturedPayment(amount: 700)
            let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let response = try await service.refund(other.id, amount: 300, key: "same")
                        return (response.status, try? response.json(RefundResponse.self).id)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.0 == .created }, "\(answers.map(\.0))")
            #expect(Set(answers.compactMap(\.1)).count == 1)
            #expect(try await service.count("SELECT COUNT(*) AS n FROM sandbox_refunds") == 2)
            #expect(try await service.read(payment.id).refundedAmount == 2500)
            #expect(try await service.read(other.id).refundedAmount == 300)
        }
    }

    @Test("the provider's answer is lost: the refund stays PENDING and counts against what is left; the same request again finishes it, refunding once", arguments: TestDatabase.all)
    func lostAnswer(database: TestDatabase) async throws {
        try await withPaymentService(database) { service in
            let payment = try await service.capturedPayment(amount: 4000)
            service.provider.loseRefundAnswers(true)
            let lost = try await service.refund(payment.id, amount: 1500, key: "lost")
            #expect(lost.status == .badGateway && lost.errorCode == "provider_unavailable")
            service.provider.loseRefundAnswers(false)
            let retried = try await service.refund(payment.id, amount: 1500, key: "lost")
            #expect(try retried.status == .created && retried.json(RefundResponse.self).status == "SUCCEEDED")
            #expect(try await service.count("SELECT COUNT(*) AS n FROM sandbox_refunds") == 1)
            let read = try await service.read(payment.id)
            #expect(read.refundedAmount == 1500 && read.refunds?.count == 1)
            #expect(try await service.refundEvents() == [1500])
        }
    }

    @Test("a refund made at the provider (its dashboard) arrives as charge.refunded and is reconciled from the provider's refunds; a redelivery is a duplicate", arguments: TestDatabase.all)
    func dashboardRefund(database: TestDatabase) async throws {
        try await withPaymentService(database) { service in
            let payment = try await service.capturedPayment(amount: 3000)
            let intentId = try #require(payment.providerPaymentId)
            // Made at the provider directly, which then sends charge.refunded.
            _ = try await service.provider.wrapped.refund(intentId: intentId, amount: 1000, metadata: [:], idempotencyKey: "dashboard-1")
            #expect(try await service.read(payment.id).refundedAmount == 0)
            // The event's own figures are not taken (this one claims all of it); the provider's list is.
            let event = chargeRefunded(id: "evt_dashboard_1", intentId: intentId, amountRefunded: 3000)
            let first = try await service.webhook(event)
            #expect(first.status == .ok && first.text.contains("applied"))
            let read = try await service.read(payment.id)
            #expect(read.status == "CAPTURED" && read.refundedAmount == 1000)
            #expect(read.refunds?.first?.reason == "refunded at the provider" && read.refunds?.first?.status == "SUCCEEDED")
            let again = try await service.webhook(event)
            #expect(again.status == .ok && again.text.contains("duplicate"))
            let later = try await service.webhook(chargeRefunded(intentId: intentId, amountRefunded: 1000))
            #expect(later.status == .ok && later.text.contains("ignored"))
            #expect(try await service.read(payment.id).refundedAmount == 1000)
            let malformed = try await service.webhook(["id": "evt_bad", "type": "charge.refunded", "data": ["object": ["object": "charge"]]])
            #expect(malformed.status == .badRequest && malformed.errorCode == "invalid_event")

            // What is left after the dashboard's refund is what an admin may refund.
            #expect(try await service.refund(payment.id, amount: 2001, key: "after").errorCode == "refund_exceeds_payment")
            #expect(try await service.refund(payment.id, key: "after-2").status == .created)
            #expect(try await service.read(payment.id).status == "REFUNDED")
            #expect(try await service.refundEvents() == [1000, 3000])
        }
    }
}
