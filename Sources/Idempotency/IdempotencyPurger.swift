import Logging
import ServiceLifecycle

/// Deletes idempotency keys past their retention, every `interval`, until shutdown.
public struct IdempotencyPurger: Service {
    let store: IdempotencyStore
    let interval: Duration
    let logger: Logger

    public init(store: IdempotencyStore, interval: Duration = .seconds(600), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let purged = try await store.purgeExpired()
                if purged > 0 { logger.info("expired idempotency keys purged", metadata: ["count": .stringConvertible(purged)]) }
            } catch {
                logger.warning("idempotency purge failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
