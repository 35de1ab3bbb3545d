import SQLKit
import PostgresNIO

/// Thrown by a transaction's body when a concurrent transaction did first what this one meant to
/// do (inserted the same key between a read and a write): the work is retried from the start.
public struct TransactionConflict: Error, Equatable {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }
}

extension DatabaseClient {
    /// `transaction(body)`, run again (up to `attempts` in all, after a short random pause) when it
    /// throws `TransactionConflict` or PostgreSQL aborts it for a deadlock or a serialization
    /// failure. Everything it wrote is rolled back each time, so a retry starts clean.
    public func retryingTransaction<Result: Sendable>(
        attempts: Int = 20, _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        var attempt = 1
        while true {
            do {
                return try await transaction(body)
            } catch where attempt < attempts && Self.isRetryable(error) {
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * min(attempt, 10)))))
            }
        }
    }

    static func isRetryable(_ error: any Error) -> Bool {
        if error is TransactionConflict { return true }
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] {
            // 40P01 deadlock_detected, 40001 serialization_failure
            return state == "40P01" || state == "40001"
        }
        return false
    }
}
