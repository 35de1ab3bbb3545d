import Contracts
import Foundation
import Signatures
import Testing
@testable import PaymentService

@Suite("Stripe webhooks: signatures, events and the status mapping")
struct StripeWebhookTests {
    // Computed by the official `stripe` Python library (16.1.0):
    // WebhookSignature._compute_signature("1700000000." + payload, "whsec_test_secret"),
    // and accepted by its WebhookSignature.verify_header.
    static let payload = #"{"id":"evt_1","type":"payment_intent.succeeded"}"#
    static let vector = "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31"

    @Test("our signature scheme accepts the Stripe library's signature and makes the same one")
    func stripeVector() throws {
        let scheme = SignatureScheme.stripe(secret: "whsec_test_secret")
        let signedAt = Date(timeIntervalSince1970: 1_700_000_000)
        try scheme.verify(header: "t=1700000000,v1=\(Self.vector)", body: Data(Self.payload.utf8), now: signedAt.addingTimeInterval(60))
        #expect(scheme.sign(body: Data(Self.payload.utf8), at: signedAt) == "t=1700000000,v1=\(Self.vector)")
        #expect(throws: SignatureError.expired) {
            try scheme.verify(header: "t=1700000000,v1=\(Self.vector)", body: Data(Self.payload.utf8), now: signedAt.addingTimeInterval(301))
        }
    }

    static func event(_ type: String, intent: String = "pi_123", object: String = "payment_intent") -> Data {
        Data(#"{"id": "evt_9", "type": "\#(type)", "created": 1700000000, "data": {"object": {"id": "\#(intent)", "object": "\#(object)", "status": "succeeded", "amount": 2500, "currency": "usd", "metadata": {"pledge_id": "p1"}}}}"#.utf8)
    }

    @Test("payment_intent events name their intent; other types are kept but name none", arguments: [
        "payment_intent.amount_capturable_updated", "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
    ])
    func parsesIntentEvents(type: String) throws {
        let event = try StripeEvent(json: Self.event(type))
        #expect(event == StripeEvent(id: "evt_9", type: type, paymentIntentId: "pi_123"))
    }

    @Test("an unrelated event type parses with no intent")
    func otherTypes() throws {
        let event = try StripeEvent(json: Data(#"{"id": "evt_2", "type": "customer.created", "data": {"object": {"id": "cus_1", "object": "customer"}}}"#.utf8))
        #expect(event.paymentIntentId == nil && event.type == "customer.created")
    }

    @Test("malformed events are refused", arguments: [
        Data("not json".utf8), Data("{}".utf8), Data(#"{"id": "evt_1"}"#.utf8), Data(#"{"type": "payment_intent.succeeded"}"#.utf8),
        StripeWebhookTests.event("payment_intent.succeeded", object: "charge"), StripeWebhookTests.event("payment_intent.succeeded", intent: ""),
    ])
    func malformed(body: Data) {
        #expect(throws: StripeEventError.self) { try StripeEvent(json: body) }
    }

    @Test("every intent status maps to the pledge status DESIGN.md gives, or to nothing while unsettled")
    func statusMapping() {
        let expected: [PaymentIntentStatus: (PledgeStatus?, PledgeStatus?)] = [
            // (without a payment error, with one)
            .requiresCapture: (.authorized, .authorized),
            .succeeded: (.captured, .captured),
            .canceled: (.failed, .failed),
            .requiresPaymentMethod: (nil, .failed),
            .requiresConfirmation: (nil, nil),
            .requiresAction: (nil, nil),
            .processing: (nil, nil),
        ]
        #expect(Set(expected.keys) == Set(PaymentIntentStatus.allCases))
        for (status, (clean, withError)) in expected {
            #expect(status.pledgeStatus(hasPaymentError: false) == clean, "\(status)")
            #expect(status.pledgeStatus(hasPaymentError: true) == withError, "\(status)")
        }
        let declined = ProviderIntent(id: "pi", status: .requiresPaymentMethod, amount: 1, currency: "usd", pledgeId: "p", failureReason: "card_declined")
        #expect(declined.pledgeStatus == .failed)
    }

    @Test("the charge key is deterministic, and differs when any part of the charge differs")
    func chargeKey() {
        let usd = Currency(rawValue: "USD")!
        let key = ChargeKey.make(userId: "u1", pledgeId: "p1", campaignId: "c1", amount: 2500, currency: usd)
        #expect(key == ChargeKey.make(userId: "u1", pledgeId: "p1", campaignId: "c1", amount: 2500, currency: usd))
        #expect(key.count == 64)
        let variants = [
            ChargeKey.make(userId: nil, pledgeId: "p1", campaignId: "c1", amount: 2500, currency: usd),
            ChargeKey.make(userId: "u1", pledgeId: "p2", campaignId: "c1", amount: 2500, currency: usd),
            ChargeKey.make(userId: "u1", pledgeId: "p1", campaignId: "c2", amount: 2500, currency: usd),
            ChargeKey.make(userId: "u1", pledgeId: "p1", campaignId: "c1", amount: 2501, currency: usd),
            ChargeKey.make(userId: "u1", pledgeId: "p1", campaignId: "c1", amount: 2500, currency: Currency(rawValue: "EUR")!),
        ]
        #expect(Set(variants + [key]).count == 6)
    }
}
