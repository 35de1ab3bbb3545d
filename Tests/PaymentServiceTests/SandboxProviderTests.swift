import Contracts
import Foundation
import Persistence
import Testing
import TestSupport
@testable import PaymentService

private let usd = Currency(rawValue: "USD")!

private func sandbox(_ client: any DatabaseClient) async throws -> SandboxProvider {
    try await Migrator(service: "sandbox-test", migrations: [SandboxSchema.migration], logger: TestLogging.logger).migrate(client)
    return SandboxProvider(database: client, clock: TestClock())
}

@Suite("The sandbox payment provider")
struct SandboxProviderTests {
    @Test("pm_card_visa is authorized, then captured; a second capture changes nothing", arguments: TestDatabase.all)
    func approve(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let provider = try await sandbox(client)
            let intent = try await provider.createIntent(amount: 2500, currency: usd, paymentMethod: "pm_card_visa", metadata: ["pledge_id": "p1"], idempotencyKey: "k1")
            #expect(intent.status == .requiresCapture && intent.pledgeStatus == .authorized)
            #expect(intent.amount == 2500 && intent.currency == "usd" && intent.pledgeId == "p1" && intent.clientSecret != nil)
            let captured = try await provider.capture(intentId: intent.id, idempotencyKey: "k1-capture")
            #expect(captured.status == .succeeded && captured.pledgeStatus == .captured)
            #expect(try await provider.capture(intentId: intent.id, idempotencyKey: "k1-capture") == captured)
            #expect(try await provider.retrieve(intentId: intent.id) == captured)
        }
    }

    @Test("declining test cards fail and cannot be captured", arguments: ["pm_card_visa_chargeDeclined", "pm_card_chargeDeclined"])
    func decline(method: String) async throws {
        try await TestDatabase.sqlite.withFreshClient { client in
            let provider = try await sandbox(client)
            let intent = try await provider.createIntent(amount: 100, currency: usd, paymentMethod: method, metadata: [:], idempotencyKey: method)
            #expect(intent.status == .requiresPaymentMethod && intent.failureReason == "card_declined" && intent.pledgeStatus == .failed)
            await #expect(throws: ProviderError.cannotCapture(.requiresPaymentMethod)) {
                try await provider.capture(intentId: intent.id, idempotencyKey: "c")
            }
        }
    }

    @Test("the same idempotency key returns the first intent, even from concurrent calls, and survives a restart", arguments: TestDatabase.all)
    func idempotentCreate(database: TestDatabase) async throws {
        try await database.withFreshDatabase { url in
            let first = try await Databases.withClient(url, logger: TestLogging.logger, maxConnections: 8) { client in
                let provider = try await sandbox(client)
                let intents = try await withThrowingTaskGroup(of: ProviderIntent.self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            try await provider.createIntent(amount: 700, currency: usd, paymentMethod: "pm_card_visa", metadata: [:], idempotencyKey: "same")
                        }
                    }
                    return try await group.reduce(into: [ProviderIntent]()) { $0.append($1) }
                }
                #expect(Set(intents.map(\.id)).count == 1)
                return intents[0]
            }
            // A new provider on the same database: the sandbox's state was not in memory.
            try await Databases.withClient(url, logger: TestLogging.logger) { client in
                let provider = SandboxProvider(database: client, clock: TestClock())
                #expect(try await provider.retrieve(intentId: first.id) == first)
                let again = try await provider.createIntent(amount: 700, currency: usd, paymentMethod: "pm_card_visa", metadata: [:], idempotencyKey: "same")
                #expect(again.id == first.id)
            }
        }
    }

    @Test("unknown payment methods and intents are refused")
    func refusals() async throws {
        try await TestDatabase.sqlite.withFreshClient { client in
            let provider = try await sandbox(client)
            await #expect(throws: ProviderError.noSuchPaymentMethod("pm_card_unknown")) {
                try await provider.createIntent(amount: 1, currency: usd, paymentMethod: "pm_card_unknown", metadata: [:], idempotencyKey: "x")
            }
            await #expect(throws: ProviderError.noSuchIntent("pi_missing")) { try await provider.retrieve(intentId: "pi_missing") }
        }
    }
}
