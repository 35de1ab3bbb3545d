import Persistence

/// The `outbox` table, added to the migrations of every service that publishes (`migrations`, in order).
public enum OutboxSchema {
    public static let migrations = [migration, deadLetters, aggregates]

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

    /// A row its destination refuses for good is dead: kept, never claimed again on its own.
    public static let deadLetters = SQLMigration(name: "outbox_002_dead_letters", [
        "ALTER TABLE outbox ADD COLUMN dead_at TEXT",
        "DROP INDEX outbox_pending",
        "CREATE INDEX outbox_pending ON outbox (next_attempt_at, created_at) WHERE delivered_at IS NULL AND dead_at IS NULL",
        "CREATE INDEX outbox_dead ON outbox (dead_at) WHERE dead_at IS NOT NULL",
    ])

    /// What each row is about (the pledge, for most), indexed: an operator's list of a pledge's
    /// rows and a reconciliation's resend find them by it, not by searching payloads. Rows written
    /// before get it from their payload: an envelope's `data.pledge_id` (or, for a goal, its
    /// `data.campaign_id`; for drift, `data.run_id`), a notice's `pledge_id`.
    public static let aggregates = SQLMigration(name: "outbox_003_aggregate_id", statements: { dialect in
        let ids = ["data.pledge_id", "pledge_id", "data.campaign_id", "data.run_id"].map { dialect.jsonText("payload", path: $0) }
        return [
            "ALTER TABLE outbox ADD COLUMN aggregate_id TEXT",
            "UPDATE outbox SET aggregate_id = COALESCE(\(ids.joined(separator: ", ")))",
            "CREATE INDEX outbox_aggregate ON outbox (aggregate_id, destination)",
        ]
    })
}
