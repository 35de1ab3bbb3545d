import Logging
import Persistence
import ServiceLifecycle
import Synchronization

/// A service's migrations as the first service of its group: applied at start, then the
/// `MigrationsDone` it holds is finished, which everything that needs the schema waits for (the
/// server before it listens, the relays and workers before they start). Nothing polls.
public struct MigrationService: Service {
    let migrator: Migrator
    let database: any DatabaseClient
    let clock: any StoreClock
    public let done: MigrationsDone

    public init(migrator: Migrator, database: any DatabaseClient, clock: any StoreClock, done: MigrationsDone = MigrationsDone()) {
        self.migrator = migrator
        self.database = database
        self.clock = clock
        self.done = done
    }

    public func run() async throws {
        do {
            try await migrator.migrate(database, clock: clock)
            done.finish()
        } catch {
            done.fail(error)
            throw error
        }
        // Its work is done; it stays, like the other services, until the group stops.
        try? await gracefulShutdown()
    }
}

/// Finished once a service's migrations are applied (or failed, with their error).
public final class MigrationsDone: Sendable {
    private let state = Mutex<(result: Result<Void, any Error>?, waiters: [CheckedContinuation<Void, any Error>])>((nil, []))

    public init() {}

    /// Returns once the migrations are applied; throws their error if they failed.
    public func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let result = state.withLock { state -> Result<Void, any Error>? in
                if state.result == nil { state.waiters.append(continuation) }
                return state.result
            }
            if let result { continuation.resume(with: result) }
        }
    }

    public func finish() {
        resolve(.success(()))
    }

    public func fail(_ error: any Error) {
        resolve(.failure(error))
    }

    private func resolve(_ result: Result<Void, any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard state.result == nil else { return [] }
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }
}

/// Runs `wrapped` once the migrations are done.
public struct AfterMigrations: Service {
    let wrapped: any Service
    let done: MigrationsDone

    public init(_ wrapped: any Service, done: MigrationsDone) {
        self.wrapped = wrapped
        self.done = done
    }

    public func run() async throws {
        try await done.wait()
        try await wrapped.run()
    }
}
