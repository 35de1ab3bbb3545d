import SQLKit

/// Every difference between PostgreSQL and SQLite the services' SQL meets, in one place: a
/// statement's shape may differ by database, a service's logic may not. Stores and migrations ask
/// their client's `dialect` for the piece they need and write the rest once.
///
/// (Not SQLKit's `SQLDialect`, which describes how to spell SQL; this says what each database can do.)
public struct DatabaseDialect: Sendable, Equatable {
    public let kind: DatabaseKind

    public init(_ kind: DatabaseKind) {
        self.kind = kind
    }

    /// ` FOR UPDATE` after a `SELECT` whose rows the transaction will change: PostgreSQL locks
    /// them against concurrent writers; SQLite has one writer at a time already.
    public var rowLock: SQLQueryString {
        kind == .postgres ? " FOR UPDATE" : ""
    }

    /// ` FOR UPDATE OF <table>`: the row lock, of one table of a join.
    public func rowLock(of table: SQLQueryString) -> SQLQueryString {
        kind == .postgres ? " FOR UPDATE OF \(table)" : ""
    }

    /// ` FOR UPDATE SKIP LOCKED`: how several workers claim different rows of one queue at once.
    public var skipLocked: SQLQueryString {
        kind == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
    }

    /// A primary key the database numbers itself, in insertion order.
    public var identityPrimaryKey: String {
        kind == .postgres ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
    }

    /// The text at `path` of a JSON document held in a text column (`path` like `data.pledge_id`).
    public func jsonText(_ column: String, path: String) -> String {
        let parts = path.split(separator: ".")
        switch kind {
        case .postgres: return "(\(column)::jsonb #>> '{\(parts.joined(separator: ","))}')"
        case .sqlite: return "json_extract(\(column), '$.\(parts.joined(separator: "."))')"
        }
    }

    /// A change to a table's columns or constraints. PostgreSQL changes it in place (`alter`);
    /// SQLite cannot change a constraint in place, so there the table is copied: created anew as
    /// `definition` (the whole `CREATE TABLE <table>_next (...)` body, columns and constraints),
    /// `copied` columns moved over, the old table dropped, the new one renamed and `indexes`
    /// made again.
    public func changeTable(_ table: String, alter: [String], definition: String, copied: String, indexes: [String]) -> [String] {
        if kind == .postgres { return alter }
        return [
            "CREATE TABLE \(table)_next (\(definition))",
            "INSERT INTO \(table)_next (\(copied)) SELECT \(copied) FROM \(table)",
            "DROP TABLE \(table)",
            "ALTER TABLE \(table)_next RENAME TO \(table)",
        ] + indexes
    }
}

/// `INSERT INTO <table> (<columns>) VALUES <rows>`, each row written `(\(bind: a), \(bind: b), ...)`.
public struct InsertRows: Sendable {
    public let table: SQLQueryString
    public let columns: [String]
    public let rows: [SQLQueryString]

    public init(table: SQLQueryString, columns: [String], rows: [SQLQueryString]) {
        self.table = table
        self.columns = columns
        self.rows = rows
    }

    public var statement: SQLQueryString {
        "INSERT INTO \(table) (\(unsafeRaw: columns.joined(separator: ", "))) VALUES \(rows.joined(separator: ", "))"
    }
}

extension DatabaseClient {
    public var dialect: DatabaseDialect { DatabaseDialect(kind) }

    /// Runs `update`, an `UPDATE ... RETURNING ...`, and when it matches a row writes `insert` in
    /// the same commit; returns the updated row, or nil (and nothing written) when none matched.
    /// PostgreSQL: one statement (a data-modifying `WITH`), one round trip and one commit; SQLite:
    /// the two statements in one transaction. The same logic on both, so SQLite runs exercise it.
    public func updateThenInsert(_ update: SQLQueryString, insert: InsertRows?) async throws -> (any SQLRow)? {
        guard let insert else { return try await withConnection { try await $0.raw(update).first() } }
        switch kind {
        case .postgres:
            let columns = SQLQueryString(insert.columns.joined(separator: ", "))
            return try await withConnection { db in
                try await db.raw("""
                    WITH updated AS (\(update)), inserted AS (
                        INSERT INTO \(insert.table) (\(columns))
                        SELECT \(columns) FROM (VALUES \(insert.rows.joined(separator: ", "))) AS entry (\(columns))
                        WHERE EXISTS (SELECT 1 FROM updated)
                    )
                    SELECT * FROM updated
                    """).first()
            }
        case .sqlite:
            return try await transaction { db in
                guard let row = try await db.raw(update).first() else { return nil }
                try await db.raw(insert.statement).run()
                return row
            }
        }
    }
}
