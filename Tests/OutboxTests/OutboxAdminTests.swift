import Contracts
import Foundation
import HTTPSupport
import Observability
import Persistence
import SQLKit
import Testing
import TestSupport
@testable import Outbox

@Suite("The outbox's admin tools: dead and waiting rows, retry, park")
struct OutboxAdminTests {
    @Test("a refused row is listed dead with its error; retried once the cause is fixed, it is delivered; a waiting row is listed pending with its next attempt", arguments: TestDatabase.all)
    func deadRetried(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            try await migrated(client)
            let start = Date()
            let events = (0..<3).map(event)
            try await enqueue(events, client, at: start)
            let transport = RecordingTransport()
            transport.refuse(events[1].eventId)
            let relay = relay(client, transport)
            let clock = relay.clock as! TestClock
            let rows = OutboxRows(database: client, signal: QueueSignal(), clock: clock)
            #expect(try await round(relay, at: start) == 2)

            let dead = try await rows.list(.dead, limit: 10, after: nil)
            #expect(dead.map(\.eventId) == [events[1].eventId])
            #expect(dead.first?.lastError?.contains("413") == true && dead.first?.nextAttemptAt == nil && dead.first?.destination == "campaign-events")
            #expect(try await rows.list(.pending, limit: 10, after: nil).isEmpty)

            // Fixed at the destination: retried, it is claimed at once and delivered.
            transport.accept(events[1].eventId)
            clock.set(start.addingTimeInterval(1))
            let retried = try await rows.retry(id: events[1].eventId)
            #expect(retried.deadAt == nil && retried.nextAttemptAt != nil)
            #expect(try await rows.list(.pending, limit: 10, after: nil).map(\.id) == [events[1].eventId])
            #expect(try await round(relay, at: start.addingTimeInterval(2)) == 1)
            #expect(try await rows.find(id: events[1].eventId)?.deliveredAt != nil)
            await #expect(throws: OutboxRows.Refusal.delivered) { try await rows.retry(id: events[1].eventId) }
            await #expect(throws: OutboxRows.Refusal.notFound) { try await rows.retry(id: "no-such-row") }

            // The destination down: the row waits with backoff, visible as pending with its error.
            let late = event(9)
            try await enqueue([late], client, at: start.addingTimeInterval(3))
            transport.setDown(true)
            #expect(try await round(relay, at: start.addingTimeInterval(3)) == 0)
            let pending = try #require(try await rows.list(.pending, limit: 10, after: nil).first)
            #expect(pending.id == late.eventId && pending.attempts == 1 && pending.lastError != nil)
            #expect(try #require(pending.nextAttemptAt) > Timestamp.format(start.addingTimeInterval(3)))
        }
    }

    @Test("a parked row is dead with its reason and never sent, until retried; pages of dead rows, newest first", arguments: TestDatabase.all)
    func parked(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            try await migrated(client)
            let start = Date()
            let events = (0..<5).map(event)
            try await enqueue(events, client, at: start)
            let clock = TestClock(start)
            let rows = OutboxRows(database: client, signal: QueueSignal(), clock: clock)
            for (index, event) in events.enumerated() {
                clock.set(start.addingTimeInterval(Double(index)))
                let parked = try await rows.park(id: event.eventId, reason: "bad data \(index)")
                #expect(parked.lastError == "parked: bad data \(index)" && parked.deadAt != nil)
            }
            await #expect(throws: OutboxRows.Refusal.dead) { try await rows.park(id: events[0].eventId, reason: "again") }
            let transport = RecordingTransport()
            #expect(try await round(relay(client, transport), at: start.addingTimeInterval(60)) == 0)
            let first = try await rows.list(.dead, limit: 3, after: nil)
            #expect(first.prefix(3).map(\.id) == [4, 3, 2].map { events[$0].eventId })
            let cursor = PageCursor(sortKey: first[2].deadAt ?? "", id: first[2].id)
            let second = try await rows.list(.dead, limit: 3, after: cursor)
            #expect(second.map(\.id) == [1, 0].map { events[$0].eventId })
        }
    }
}
