import ServiceLifecycle

/// Starts a background service only once the schema it works on exists.
public struct MigratedService<Wrapped: Service>: Service {
    let wrapped: Wrapped
    let migrator: Migrator
    let database: any DatabaseClient

    public init(_ wrapped: Wrapped, migrator: Migrator, database: any DatabaseClient) {
        self.wrapped = wrapped
        self.migrator = migrator
        self.database = database
    }

    public func run() async throws {
        // Bounded: migrations run at start-up, before the server listens.
        for _ in 0..<600 {
            if (try? await migrator.isUpToDate(database)) == true { return try await wrapped.run() }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
        throw MigrationWaitError.timedOut
    }

    enum MigrationWaitError: Error {
        case timedOut
    }
}
