import Idempotency
import Outbox
import Persistence

/// pledge-service's schema, in order. Released migrations never change; add new ones at the end.
public enum PledgeMigrations {
    public static let all: [any Migration] = [
        SQLMigration(name: "001_create_pledges", [
            """
            CREATE TABLE pledges (
                id TEXT PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                user_id TEXT,
                guest_email TEXT,
                donor_name TEXT NOT NULL,
                amount BIGINT NOT NULL CHECK (amount > 0),
                currency TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('PENDING', 'AUTHORIZED', 'CAPTURED', 'FAILED')),
                anonymous INTEGER NOT NULL,
                message TEXT,
                receipt_token_hash TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX pledges_user ON pledges (user_id, created_at, id)",
            "CREATE INDEX pledges_created ON pledges (created_at, id)",
            """
            CREATE TABLE pledge_transitions (
                id TEXT PRIMARY KEY,
                pledge_id TEXT NOT NULL,
                from_status TEXT,
                to_status TEXT NOT NULL,
                at TEXT NOT NULL
            )
            """,
            "CREATE INDEX pledge_transitions_pledge ON pledge_transitions (pledge_id, at)",
            // Payment webhooks seen, by event id: a redelivery is a duplicate.
            """
            CREATE TABLE payment_webhook_events (
                event_id TEXT PRIMARY KEY,
                pledge_id TEXT NOT NULL,
                status TEXT NOT NULL,
                result TEXT NOT NULL,
                received_at TEXT NOT NULL
            )
            """,
        ]),
        IdempotencySchema.migration,
        OutboxSchema.migration,
        OutboxSchema.deadLetters,
        // One receipt per captured pledge, numbered once from a sequence the database keeps:
        // `CFA-<year>-<sequence, 6 digits or more>`. Pledges captured before receipts existed
        // get theirs here, in the order they were captured.
        SQLMigration(name: "004_create_receipts", statements: { dialect in
            [
                """
                CREATE TABLE receipts (
                    sequence \(dialect.identityPrimaryKey),
                    pledge_id TEXT NOT NULL UNIQUE,
                    year INTEGER NOT NULL,
                    captured_at TEXT NOT NULL,
                    issued_at TEXT NOT NULL
                )
                """,
                """
                INSERT INTO receipts (pledge_id, year, captured_at, issued_at)
                SELECT p.id, CAST(substr(t.at, 1, 4) AS INTEGER), t.at, t.at
                FROM pledges p JOIN pledge_transitions t ON t.pledge_id = p.id AND t.to_status = 'CAPTURED'
                WHERE p.status = 'CAPTURED'
                ORDER BY t.at, p.id
                """,
            ]
        }),
        // Refunds: REFUNDED becomes a status, and each pledge keeps the largest cumulative refund
        // reported. SQLite cannot change a CHECK in place: there the table is copied (`changeTable`).
        SQLMigration(name: "005_pledge_refunds", statements: { dialect in
            dialect.changeTable(
                "pledges",
                alter: [
                    "ALTER TABLE pledges DROP CONSTRAINT IF EXISTS pledges_status_check",
                    "ALTER TABLE pledges ADD CONSTRAINT pledges_status_check CHECK (status IN ('PENDING', 'AUTHORIZED', 'CAPTURED', 'FAILED', 'REFUNDED'))",
                    "ALTER TABLE pledges ADD COLUMN refunded_amount BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount)",
                ],
                definition: """
                    id TEXT PRIMARY KEY,
                    campaign_id TEXT NOT NULL,
                    user_id TEXT,
                    guest_email TEXT,
                    donor_name TEXT NOT NULL,
                    amount BIGINT NOT NULL CHECK (amount > 0),
                    currency TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('PENDING', 'AUTHORIZED', 'CAPTURED', 'FAILED', 'REFUNDED')),
                    anonymous INTEGER NOT NULL,
                    message TEXT,
                    receipt_token_hash TEXT,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    refunded_amount BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount)
                    """,
                copied: "id, campaign_id, user_id, guest_email, donor_name, amount, currency, status, anonymous, message, receipt_token_hash, created_at, updated_at",
                indexes: ["CREATE INDEX pledges_user ON pledges (user_id, created_at, id)", "CREATE INDEX pledges_created ON pledges (created_at, id)"]
            )
        }),
        // Where a signed-in donor's mail goes: their account's email when they pledged (a
        // guest's is guest_email). Pledges made before have none, and get no mail.
        SQLMigration(name: "006_account_email", [
            "ALTER TABLE pledges ADD COLUMN account_email TEXT",
        ]),
        // A campaign's pledges, for reconciliation's summaries.
        SQLMigration(name: "007_pledges_by_campaign", [
            "CREATE INDEX pledges_campaign ON pledges (campaign_id, id)",
        ]),
        // What each outbox row is about, indexed (resends and an operator's search use it).
        OutboxSchema.aggregates,
    ]
}
