import Synchronization
import Testing
import TestSupport
@testable import Persistence

@Suite("Group commit")
struct GroupCommitTests {
    /// A writer that records its batches and, while `held`, waits before writing.
    final class Writer: Sendable {
        let batches = Mutex<[[String]]>([])
        let held = Mutex(true)
        let entered = Mutex(0)

        func write(_ items: [String]) async throws -> [String] {
            entered.withLock { $0 += 1 }
            while held.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            batches.withLock { $0.append(items) }
            if items.count > 1 && items.contains("bad") { throw Refused() }
            if items == ["bad"] { throw Refused() }
            return items.map { "wrote " + $0 }
        }

        struct Refused: Error {}
    }

    /// Until the first batch is being written (held).
    func waitForFirstWrite(_ writer: Writer) async throws {
        let writing = try await eventually(timeout: .seconds(5)) { writer.entered.withLock { $0 } == 1 }
        #expect(writing)
    }

    func waitFor(_ committer: GroupCommitter<String, String>, waiting count: Int) async throws {
        let queued = try await eventually(timeout: .seconds(5)) { committer.waiting == count }
        #expect(queued)
    }

    @Test("items that arrive while a batch is written go together in the next one; each caller gets its own output")
    func batches() async throws {
        let writer = Writer()
        let committer = GroupCommitter<String, String>(maximumWriters: 1, key: { $0 }, write: writer.write)
        try await withThrowingTaskGroup(of: (String, String).self) { group in
            group.addTask { ("first", try await committer.submit("first")) }
            try await waitForFirstWrite(writer)
            for n in 1...10 { group.addTask { ("item\(n)", try await committer.submit("item\(n)")) } }
            try await waitFor(committer, waiting: 10)
            writer.held.withLock { $0 = false }
            for try await (item, output) in group { #expect(output == "wrote " + item) }
        }
        let sizes = writer.batches.withLock { $0.map(\.count) }
        #expect(sizes == [1, 10])
    }

    @Test("items with the same key never share a batch: the later one is written after the earlier committed")
    func sameKey() async throws {
        let writer = Writer()
        let committer = GroupCommitter<String, String>(maximumWriters: 1, key: { String($0.prefix(1)) }, write: writer.write)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await committer.submit("x") }
            try await waitForFirstWrite(writer)
            for item in ["a1", "a2", "b1"] {
                group.addTask { _ = try await committer.submit(item) }
                try await waitFor(committer, waiting: ["a1": 1, "a2": 2, "b1": 3][item]!)
            }
            writer.held.withLock { $0 = false }
            try await group.waitForAll()
        }
        #expect(writer.batches.withLock { $0 } == [["x"], ["a1", "b1"], ["a2"]])
    }

    @Test("a batch that fails is written again item by item: only the bad item fails")
    func failureStaysWithItsItem() async throws {
        let writer = Writer()
        let committer = GroupCommitter<String, String>(maximumWriters: 1, key: { $0 }, write: writer.write)
        let outcomes = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            group.addTask { ("first", (try? await committer.submit("first")) != nil) }
            try await waitForFirstWrite(writer)
            for item in ["good1", "bad", "good2"] {
                group.addTask { (item, (try? await committer.submit(item)) != nil) }
            }
            try await waitFor(committer, waiting: 3)
            writer.held.withLock { $0 = false }
            return try await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes == ["first": true, "good1": true, "bad": false, "good2": true])
    }
}

@Suite("Background connections")
struct BackgroundPoolTests {
    @Test("on PostgreSQL background work has a pool of its own: it gets a connection while every request connection is busy; on SQLite it shares the client", arguments: TestDatabase.all)
    func ownPool(database: TestDatabase) async throws {
        try await database.withFreshDatabase { url in
            let pools = try await Databases.openPools(url, logger: TestLogging.logger)
            // PostgreSQL: the two pools' services and the clock's (`DatabaseClockSync`); SQLite: one client.
            guard pools.services.count == 3 else {
                #expect(pools.services.count == 1)
                #expect(database == .sqlite)
                // One client for both; running it and stopping it closes it.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await pools.background.run() }
                    try await pools.background.ping()
                    group.cancelAll()
                }
                return
            }
            let background = pools.background
            #expect(database == .postgres)
            try await Databases.withClient(url, logger: TestLogging.logger, maxConnections: 1) { requests in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await background.run() }
                    let held = Mutex(false)
                    // The requests' only connection, held until the background query has answered.
                    group.addTask {
                        try await requests.withConnection { _ in
                            held.withLock { $0 = true }
                            while held.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
                        }
                    }
                    #expect(try await eventually(timeout: .seconds(5)) { held.withLock { $0 } })
                    // Answered within seconds, or the background work waits behind the requests.
                    let answered = try await withThrowingTaskGroup(of: Bool.self) { race in
                        race.addTask { try await background.ping(); return true }
                        race.addTask { try await Task.sleep(for: .seconds(5)); return false }
                        defer { race.cancelAll() }
                        return try await race.next() ?? false
                    }
                    #expect(answered)
                    held.withLock { $0 = false }
                    group.cancelAll()
                }
            }
        }
    }
}
