import Persistence

/// notification-service's schema, in order. Released migrations never change; add new ones at the end.
public enum NotificationMigrations {
    public static let all: [any Migration] = [
        SQLMigration(name: "001_create_mails", [
            // Events seen, by id: a redelivered event is a duplicate and queues nothing.
            """
            CREATE TABLE notification_events (
                event_id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                result TEXT NOT NULL,
                received_at TEXT NOT NULL
            )
            """,
            // The mail queue and its history: one mail per (event, kind), ever.
            """
            CREATE TABLE mails (
                id TEXT PRIMARY KEY,
                event_id TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('receipt', 'payment_failed', 'refunded', 'goal_reached', 'reconciliation_drift')),
                subject_id TEXT NOT NULL,
                recipients TEXT NOT NULL,
                subject TEXT NOT NULL,
                text_body TEXT NOT NULL,
                html_body TEXT NOT NULL,
                message_id TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL CHECK (status IN ('QUEUED', 'SENT', 'FAILED')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                next_attempt_at TEXT NOT NULL,
                locked_until TEXT,
                delivery TEXT,
                sent_at TEXT,
                created_at TEXT NOT NULL,
                UNIQUE (event_id, kind)
            )
            """,
            "CREATE INDEX mails_due ON mails (next_attempt_at) WHERE status = 'QUEUED'",
            // The queue's gauges count only what waits or was refused, never the history.
            "CREATE INDEX mails_waiting ON mails (status, created_at) WHERE status IN ('QUEUED', 'FAILED')",
            "CREATE INDEX mails_created ON mails (created_at, id)",
            "CREATE INDEX mails_subject ON mails (subject_id)",
        ]),
        // The trace context of the event a mail was written for: its sending continues that trace.
        SQLMigration(name: "002_mail_trace", [
            "ALTER TABLE mails ADD COLUMN trace_parent TEXT",
        ]),
    ]
}
