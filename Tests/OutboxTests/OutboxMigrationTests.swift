import Contracts
import Foundation
import Persistence
import SQLKit
import Testing
import TestSupport
@testable import Outbox

@Suite("The outbox's migrations")
struct OutboxMigrationTests {
    @Test("rows written before aggregate_id existed get it from their payload: an envelope's pledge, campaign or run; a notice's pledge", arguments: TestDatabase.all)
    func aggregateBackfill(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let before = Migrator(service: "outbox-test", migrations: [OutboxSchema.migration, OutboxSchema.deadLetters], logger: TestLogging.logger)
            try await before.migrate(client)
            let now = Timestamp.format(Date())
            let captured = EventEnvelope(
                eventId: "e-pledge", source: "test", occurredAt: now,
                data: .paymentCaptured(PaymentCaptured(paymentId: "pay", pledgeId: "p-1", campaignId: "c-1", amount: 100, currency: Currency(rawValue: "USD")!))
            )
            let goal = NotificationEnvelope(
                eventId: "e-goal", source: "test", occurredAt: now,
                data: .campaignGoalReached(CampaignGoalReached(campaignId: "c-2", title: "T", goalAmount: 1, capturedAmount: 1, currency: Currency(rawValue: "USD")!))
            )
            let notice = PaymentStatusNotice(eventId: "e-notice", pledgeId: "p-3", paymentId: "pay-3", status: .captured, occurredAt: now, reason: nil)
            // As the previous schema stored them: no aggregate_id column yet.
            try await client.withConnection { db in
                for (id, destination, payload) in [
                    ("e-pledge", "campaign-events", try WireCoding.text(captured)), ("e-goal", "notification-events", try WireCoding.text(goal)),
                    ("e-notice", "pledge-webhook", try WireCoding.text(notice)),
                ] {
                    try await db.raw("""
                        INSERT INTO outbox (id, destination, event_type, payload, created_at, next_attempt_at)
                        VALUES (\(bind: id), \(bind: destination), 'T', \(bind: payload), \(bind: now), \(bind: now))
                        """).run()
                }
            }
            try await Migrator(service: "outbox-test", migrations: OutboxSchema.migrations, logger: TestLogging.logger).migrate(client)
            let aggregates = try await client.withConnection { db in
                try await db.raw("SELECT id, aggregate_id FROM outbox ORDER BY id").all().map {
                    [try $0.decode(column: "id", as: String.self): try $0.decode(column: "aggregate_id", as: String?.self) ?? "none"]
                }
            }
            #expect(aggregates == [["e-goal": "c-2"], ["e-notice": "p-3"], ["e-pledge": "p-1"]])
            // What is written now carries its own.
            try await client.transaction { db in
                try await Outbox.enqueue([try OutboxEntry(captured.with(eventId: "e-new"), destination: .campaignEvents)], on: db, now: now)
            }
            let resent = try await OutboxRows(database: client, signal: QueueSignal(), clock: TestClock()).resend(pledgeIds: ["p-1"], destination: .campaignEvents)
            #expect(resent == 2)
        }
    }
}

extension Envelope {
    func with(eventId: String) -> Self {
        var copy = self
        copy.eventId = eventId
        return copy
    }
}
