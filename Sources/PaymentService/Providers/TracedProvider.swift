import Contracts
import Observability

/// A provider whose every call is a client span, `payment_provider.<call>`, naming the provider:
/// where a slow donation waited on Stripe shows in its trace. (Stripe's HTTP calls are child spans.)
struct TracedProvider: PaymentProvider {
    let base: any PaymentProvider

    var name: String { base.name }

    func call<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        try await Trace.span("payment_provider.\(operation)", kind: .client) { span in
            span.set("payment.provider", base.name)
            return try await body()
        }
    }

    func createIntent(
        amount: Int64, currency: Currency, paymentMethod: String, metadata: [String: String], idempotencyKey: String
    ) async throws -> ProviderIntent {
        try await call("create_intent") {
            try await base.createIntent(amount: amount, currency: currency, paymentMethod: paymentMethod, metadata: metadata, idempotencyKey: idempotencyKey)
        }
    }

    func capture(intentId: String, idempotencyKey: String) async throws -> ProviderIntent {
        try await call("capture") { try await base.capture(intentId: intentId, idempotencyKey: idempotencyKey) }
    }

    func retrieve(intentId: String) async throws -> ProviderIntent {
        try await call("retrieve") { try await base.retrieve(intentId: intentId) }
    }

    func findIntent(idempotencyKey: String, pledgeId: String) async throws -> ProviderIntent? {
        try await call("find_intent") { try await base.findIntent(idempotencyKey: idempotencyKey, pledgeId: pledgeId) }
    }

    func refund(intentId: String, amount: Int64, metadata: [String: String], idempotencyKey: String) async throws -> ProviderRefund {
        try await call("refund") { try await base.refund(intentId: intentId, amount: amount, metadata: metadata, idempotencyKey: idempotencyKey) }
    }

    func refunds(intentId: String) async throws -> [ProviderRefund] {
        try await call("list_refunds") { try await base.refunds(intentId: intentId) }
    }
}
