import PostgresNIO

/// Errors in which the database refused a value a client sent, not a fault of ours.
public enum DatabaseRefusal {
    /// PostgreSQL cannot store the text: a NUL byte (SQLSTATE 22021, `character_not_in_repertoire`)
    /// or a character the database's encoding lacks (22P05, `untranslatable_character`). SQLite
    /// stores both. The routes that take ids and text check them first; this is the net under
    /// every other route, so such a value is the client's 400, never our 500.
    public static func isUnstorableText(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "22021" || state == "22P05"
    }
}
