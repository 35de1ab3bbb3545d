import Persistence

/// user-service's schema, in order. Released migrations never change; add new ones at the end.
public enum UserMigrations {
    public static let all: [any Migration] = [
        SQLMigration(name: "001_create_users", [
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('donor', 'admin')),
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX users_created_at_id ON users (created_at, id)",
        ]),
        SQLMigration(name: "002_users_token_version", [
            "ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0",
        ]),
    ]
}
