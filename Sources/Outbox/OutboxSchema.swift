import Persistence

/// The `outbox` table, added to the migrations of every service that publishes.
public enum OutboxSchema {
    public static let migration = SQLMigration(name: "outbox_001_create", [
        """
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            destination TEXT NOT NULL,
            event_type TEXT NOT NULL,
            payload TEXT NOT NULL,
            trace_parent TEXT,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            claimed_until TEXT,
            delivered_at TEXT
        )
        """,
        // Only undelivered rows are ever searched; delivered ones stay for audit.
        "CREATE INDEX outbox_pending ON outbox (next_attempt_at, created_at) WHERE delivered_at IS NULL",
    ])
}
