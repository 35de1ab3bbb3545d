import Contracts
import Foundation
import Observability
import Persistence
import SQLKit
import Synchronization
import Testing
import TestSupport
@testable import Outbox

/// A destination that records what it receives, can be switched off, and refuses for good the
/// messages named in `refusing`.
final class RecordingTransport: OutboxTransport {
    private let state = Mutex<(received: [String], down: Bool, refusing: Set<String>)>(([], false, []))

    @discardableResult
    func deliver(_ messages: [OutboxMessage], to destination: OutboxDestination) async throws -> [String: DeliveryResult] {
        try state.withLock { state in
            if state.down { throw Unavailable() }
            var results: [String: DeliveryResult] = [:]
            for message in messages {
                if state.refusing.contains(message.id) {
                    results[message.id] = .dead(reason: "HTTP 413: too large")
                } else {
                    state.received.append(message.id)
                    results[message.id] = .delivered
                }
            }
            return results
        }
    }

    var received: [String] { state.withLock { $0.received } }
    func setDown(_ down: Bool) { state.withLock { $0.down = down } }
    func refuse(_ id: String) { state.withLock { _ = $0.refusing.insert(id) } }
    func accept(_ id: String) { state.withLock { _ = $0.refusing.remove(id) } }
    struct Unavailable: Error {}
}

/// A destination that takes `delay` to answer and counts how many deliveries it holds at once.
/// With `gate`, it holds each delivery until that many are in flight (or a second has passed),
/// so a slow machine cannot make the relay look more serial than it is.
final class SlowTransport: OutboxTransport {
    private let state = Mutex<(received: [String], current: Int, most: Int)>(([], 0, 0))
    let delay: Duration
    let gate: Int

    init(delay: Duration, gate: Int = 1) {
        self.delay = delay
        self.gate = gate
    }

    func deliver(_ messages: [OutboxMessage], to destination: OutboxDestination) async throws -> [String: DeliveryResult] {
        state.withLock { state in
            state.current += 1
            state.most = max(state.most, state.current)
        }
        let until = ContinuousClock.now + .seconds(1)
        while state.withLock({ $0.current }) < gate, ContinuousClock.now < until {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await Task.sleep(for: delay)
        state.withLock { state in
            state.current -= 1
            state.received += messages.map(\.id)
        }
        return Dictionary(uniqueKeysWithValues: messages.map { ($0.id, .delivered) })
    }

    var received: [String] { state.withLock { $0.received } }
    var mostAtOnce: Int { state.withLock { $0.most } }
}

func event(_ index: Int = 0) -> EventEnvelope {
    EventEnvelope(
        eventId: UUID().uuidString.lowercased(), type: .paymentCaptured, source: "test", occurredAt: Timestamp.format(Date()),
        data: .paymentCaptured(PaymentCaptured(paymentId: "pay-\(index)", pledgeId: "p-\(index)", campaignId: "c", amount: Int64(100 + index), currency: Currency(rawValue: "USD")!))
    )
}

func migrated(_ client: any DatabaseClient) async throws {
    try await Migrator(service: "outbox-test", migrations: OutboxSchema.migrations, logger: TestLogging.logger).migrate(client)
}

func enqueue(_ events: [EventEnvelope], _ client: any DatabaseClient, at time: Date = Date()) async throws {
    try await client.transaction { db in
        for event in events { try await Outbox.enqueue([try OutboxEntry(event, destination: .campaignEvents)], on: db, now: Timestamp.format(time)) }
    }
}

func pendingCount(_ client: any DatabaseClient) async throws -> Int {
    try await client.withConnection { db in
        try await db.raw("SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL").first()!.decode(column: "n", as: Int.self)
    }
}

func relay(_ client: any DatabaseClient, _ transport: RecordingTransport, metrics: ServiceMetrics = ServiceMetrics(), batchSize: Int = 100) -> OutboxRelay {
    var config = OutboxRelayConfig()
    config.batchSize = batchSize
    config.pollInterval = .seconds(30)
    return OutboxRelay(
        database: client, transport: transport, signal: QueueSignal(), clock: TestClock(), config: config, metrics: metrics, logger: TestLogging.logger
    )
}

/// One round of `relay` with its test clock at `time`: leases, backoffs and due times are all
/// judged by that clock, so a test moves it instead of waiting.
func round(_ relay: OutboxRelay, at time: Date) async throws -> Int {
    (relay.clock as! TestClock).set(time)
    return try await relay.relayOnce()
}

@Suite("The transactional outbox and its relay")
struct OutboxRelayTests {
    @Test("a row is written with its transaction or not at all", arguments: TestDatabase.all)
    func transactional(database: TestDatabase) async throws {
        struct Abort: Error {}
        try await database.withFreshClient { client in
            try await migrated(client)
            await #expect(throws: Abort.self) {
                try await client.transaction { db in
                    try await Outbox.enqueue([try OutboxEntry(event(), destination: .campaignEvents)], on: db, now: Timestamp.format(Date()))
                    throw Abort()
                }
            }
            #expect(try await pendingCount(client) == 0)
            try await enqueue([event()], client)
            #expect(try await pendingCount(client) == 1)
        }
    }

    @Test("due rows are delivered in order and marked delivered once", arguments: TestDatabase.all)
    func delivers(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            try await migrated(client)
            let start = Date()
            let events = (0..<5).map(event)
            for (index, event) in events.enumerated() { try await enqueue([event], client, at: start.addingTimeInterval(Double(index))) }
            let transport = RecordingTransport()
            let relay = relay(client, transport)
            #expect(try await round(relay, at: start.addingTimeInterval(10)) == 5)
            #expect(transport.received == events.map(\.eventId))
            #expect(try await round(relay, at: start.addingTimeInterval(20)) == 0)
            #expect(try await pendingCount(client) == 0)
        }
    }

    @Test("a destination down for a while gets every event once it is back", arguments: TestDatabase.all)
    func retriesWithBackoff(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            try await migrated(client)
            let start = Date()
            try await enqueue((0..<3).map(event), client, at: start)
            let transport = RecordingTransport()
            let metrics = ServiceMetrics()
            let relay = relay(client, transport, metrics: metrics)
            transport.setDown(true)
            var now = start
            for _ in 0..<3 {
                #expect(try await round(relay, at: now) == 0)
                // Not due again until its backoff has passed.
                #expect(try await round(relay, at: now.addingTimeInterval(0.1)) == 0)
                now = now.addingTimeInterval(120)
            }
            transport.setDown(false)
            #expect(try await round(relay, at: now) == 3)
            #expect(transport.received.count == 3)
            let attempts = try await client.withConnection { db in
                try await db.raw("SELECT attempts FROM outbox").all().map { try $0.decode(column: "attempts", as: Int.self) }
            }
            #expect(attempts == [4, 4, 4])
            let text = metrics.render()
            #expect(text.contains(#"outbox_delivery_failures_total{destination="campaign-events"} 9"#))
            #expect(text.contains(#"outbox_delivered_total{destination="campaign-events"} 3"#))
        }
    }

    @Test("a relay that dies after sending but before marking: the rows come back after the lease and are sent again", arguments: TestDatabase.all)
    func crashedRelay(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            try await migrated(client)
            let start = Date()
            let events = (0..<4).map(event)
            try await enqueue(events, client, at: start)
            let transport = RecordingTransport()
            let dying = relay(client, transport)
            // It claims and sends, then dies before marking anything.
            let claimed = try await dying.claim(now: start)
            try await transport.deliver(claimed, to: .campaignEvents)
            // While the lease runs, nobody else takes the rows.
            let survivor = relay(client, transport)
            #expect(try await round(survivor, at: start.addingTimeInterval(5)) == 0)
            // After it, they are delivered again: the consumer sees duplicates, which it drops by event id.
            #expect(try await round(survivor, at: start.addingTimeInterval(31)) == 4)
            #expect(transport.received.count == 8)
            #expect(Set(transport.received) == Set(events.map(\.eventId)))
            #expect(try await pendingCount(client) == 0)
        }
    }

    @Test("two relays on one database deliver 5,000 events, each once, none lost", arguments: TestDatabase.all)
    func twoRelays(database: TestDatabase) async throws {
        try await database.withFreshDatabase { url in
            try await Databases.withClient(url, logger: TestLogging.logger, maxConnections: 6) { client in
                try await migrated(client)
                let events = (0..<5000).map(event)
                for chunk in stride(from: 0, to: events.count, by: 500) {
                    try await enqueue(Array(events[chunk..<chunk + 500]), client)
                }
                let transport = RecordingTransport()
                let relays = [relay(client, transport, batchSize: 50), relay(client, transport, batchSize: 50)]
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for relay in relays {
                        group.addTask {
                            // Bounded: far more rounds than needed, stopping once nothing is pending.
                            for _ in 0..<1000 {
                                let delivered = try await relay.relayOnce()
                                if delivered == 0, try await pendingCount(client) == 0 { break }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(transport.received.count == 5000)
                #expect(Set(transport.received).count == 5000)
                #expect(try await pendingCount(client) == 0)
            }
        }
    }

    @Test("a commit signal wakes the running relay without waiting for the poll", arguments: TestDatabase.all)
    func wakesOnSignal(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            try await migrated(client)
            let transport = RecordingTransport()
            let signal = QueueSignal()
            var config = OutboxRelayConfig()
            config.pollInterval = .seconds(600)
            let clock = TestClock()
            let relay = OutboxRelay(database: client, transport: transport, signal: signal, clock: clock, config: config, metrics: ServiceMetrics(), logger: TestLogging.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await relay.run() }
                // Let the relay go idle, then commit and signal.
                try await Task.sleep(for: .milliseconds(200))
                let sent = event()
                try await enqueue([sent], client, at: clock.now())
                signal.notify()
                let delivered = try await eventually(timeout: .seconds(10)) { transport.received == [sent.eventId] }
                #expect(delivered)
                group.cancelAll()
            }
        }
    }

    @Test("a running relay keeps several batches in flight, never more than configured, each row sent once", arguments: TestDatabase.all)
    func batchesInFlight(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            try await migrated(client)
            let events = (0..<1000).map(event)
            try await enqueue(events, client)
            let transport = SlowTransport(delay: .milliseconds(50), gate: 3)
            var config = OutboxRelayConfig()
            config.batchSize = 100
            config.batchesInFlight = 3
            config.pollInterval = .milliseconds(100)
            let relay = OutboxRelay(database: client, transport: transport, signal: QueueSignal(), clock: TestClock(), config: config, metrics: ServiceMetrics(), logger: TestLogging.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await relay.run() }
                // Delivered and marked: the relay records a batch only after its answer.
                let done = try await eventually(timeout: .seconds(30)) { try await pendingCount(client) == 0 }
                #expect(done)
                group.cancelAll()
            }
            #expect(transport.received.count == 1000)
            #expect(Set(transport.received) == Set(events.map(\.eventId)))
            #expect(transport.mostAtOnce == 3, "ten full batches, each answered after 50 ms: three in flight at a time")
        }
    }

    @Test("a row refused for good is dead alone: the rows claimed with it are delivered, and it is never claimed again", arguments: TestDatabase.all)
    func deadLetter(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            try await migrated(client)
            let start = Date()
            let events = (0..<5).map(event)
            try await enqueue(events, client, at: start)
            let transport = RecordingTransport()
            transport.refuse(events[2].eventId)
            let metrics = ServiceMetrics()
            let relay = relay(client, transport, metrics: metrics)
            #expect(try await round(relay, at: start) == 4)
            #expect(Set(transport.received) == Set([0, 1, 3, 4].map { events[$0].eventId }))
            // Never claimed again, however long we wait, and not counted as pending.
            #expect(try await round(relay, at: start.addingTimeInterval(3600)) == 0)
            #expect(try await pendingCount(client) == 1, "delivered_at stays empty: the row is kept")
            let dead = try await client.withConnection { db in
                try await db.raw("SELECT id, last_error FROM outbox WHERE dead_at IS NOT NULL").all().map {
                    (try $0.decode(column: "id", as: String.self), try $0.decode(column: "last_error", as: String.self))
                }
            }
            #expect(dead.map(\.0) == [events[2].eventId])
            #expect(dead.first?.1.contains("413") == true)
            try await relay.recordBacklog()
            let text = metrics.render()
            #expect(text.contains("outbox_dead_rows 1"))
            #expect(text.contains("outbox_pending_rows 0"))
        }
    }

    @Test("backoff doubles from the first retry, with jitter, and is capped")
    func backoff() {
        let backoff = OutboxRelayConfig().backoff
        for _ in 0..<50 {
            let first = backoff.delay(afterAttempts: 1)
            #expect(first >= .milliseconds(250) && first <= .milliseconds(500))
            let third = backoff.delay(afterAttempts: 3)
            #expect(third >= .seconds(1) && third <= .seconds(2))
            #expect(backoff.delay(afterAttempts: 40) <= .seconds(60))
        }
    }
}
