import Contracts
import HTTPSupport
import Persistence
import SQLKit

/// `UserStore` on PostgreSQL or SQLite.
public struct SQLUserStore: UserStore {
    let database: any DatabaseClient

    public init(database: any DatabaseClient) {
        self.database = database
    }

    public func create(_ user: User) async throws -> Bool {
        try await database.withConnection { db in
            // ON CONFLICT keeps a concurrent duplicate from surfacing as a constraint error.
            let rows = try await db.raw("""
                INSERT INTO users (id, email, name, password_hash, role, created_at, updated_at)
                VALUES (\(bind: user.id), \(bind: user.email), \(bind: user.name), \(bind: user.passwordHash),
                        \(bind: user.role.rawValue), \(bind: user.createdAt), \(bind: user.updatedAt))
                ON CONFLICT (email) DO NOTHING
                RETURNING id
                """).all()
            return !rows.isEmpty
        }
    }

    public func find(email: String) async throws -> User? {
        try await database.withConnection { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE email = \(bind: email)")
                .first().map(Self.user)
        }
    }

    public func find(id: UserID) async throws -> User? {
        try await database.withConnection { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE id = \(bind: id)")
                .first().map(Self.user)
        }
    }

    public func list(limit: Int, after cursor: PageCursor?) async throws -> [User] {
        try await database.withConnection { db in
            let query: SQLQueryString
            if let cursor {
                query = """
                    SELECT \(unsafeRaw: Self.columns) FROM users
                    WHERE created_at < \(bind: cursor.sortKey) OR (created_at = \(bind: cursor.sortKey) AND id < \(bind: cursor.id))
                    ORDER BY created_at DESC, id DESC LIMIT \(bind: limit + 1)
                    """
            } else {
                query = "SELECT \(unsafeRaw: Self.columns) FROM users ORDER BY created_at DESC, id DESC LIMIT \(bind: limit + 1)"
            }
            return try await db.raw(query).all().map(Self.user)
        }
    }

    public func updateRole(id: UserID, role: Role, at time: String) async throws -> User? {
        try await update(id: id, """
            role = \(bind: role.rawValue), updated_at = \(bind: time),
            token_version = CASE WHEN role = \(bind: role.rawValue) THEN token_version ELSE token_version + 1 END
            """)
    }

    public func updatePassword(id: UserID, passwordHash: String, at time: String) async throws -> User? {
        try await update(id: id, "password_hash = \(bind: passwordHash), updated_at = \(bind: time), token_version = token_version + 1")
    }

    public func endTokens(id: UserID, at time: String) async throws -> User? {
        try await update(id: id, "updated_at = \(bind: time), token_version = token_version + 1")
    }

    func update(id: UserID, _ assignments: SQLQueryString) async throws -> User? {
        try await database.transaction { db in
            try await db.raw("UPDATE users SET \(assignments) WHERE id = \(bind: id)").run()
            return try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE id = \(bind: id)").first().map(Self.user)
        }
    }

    static let columns = "id, email, name, password_hash, role, created_at, updated_at, token_version"

    static func user(_ row: any SQLRow) throws -> User {
        User(
            id: try row.decode(column: "id", known: UserID.self),
            email: try row.decode(column: "email", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            passwordHash: try row.decode(column: "password_hash", as: String.self),
            role: try row.decode(column: "role", known: Role.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self),
            tokenVersion: try row.decode(column: "token_version", as: Int.self)
        )
    }
}
