import PostgresNIO
import SQLiteNIO

/// Recognises the database errors that callers turn into answers rather than 500s.
public enum DatabaseErrors {
    /// True for a unique-constraint violation on either database.
    public static func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? PSQLError {
            return error.serverInfo?[.sqlState] == "23505"
        }
        if let error = error as? SQLiteError {
            return error.reason == .constraintUniqueFailed || error.reason == .constraintPrimaryKeyFailed
                || error.message.contains("UNIQUE constraint failed")
        }
        return false
    }
}
