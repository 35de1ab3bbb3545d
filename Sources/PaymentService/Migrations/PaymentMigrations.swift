import Outbox
import Persistence

/// payment-service's schema, in order. Released migrations never change; add new ones at the end.
public enum PaymentMigrations {
    public static let all: [any Migration] = [
        SQLMigration(name: "001_create_payments", [
            // One payment per pledge, ever: the row is written before the provider is called, so
            // a retry, a double click or a concurrent request finds it instead of charging again.
            """
            CREATE TABLE payments (
                id TEXT PRIMARY KEY,
                pledge_id TEXT NOT NULL UNIQUE,
                campaign_id TEXT NOT NULL,
                user_id TEXT,
                receipt_token_hash TEXT,
                amount BIGINT NOT NULL CHECK (amount > 0),
                currency TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('PENDING', 'AUTHORIZED', 'CAPTURED', 'FAILED')),
                provider TEXT NOT NULL,
                provider_payment_id TEXT UNIQUE,
                payment_method TEXT NOT NULL,
                charge_key TEXT NOT NULL UNIQUE,
                client_secret TEXT,
                failure_reason TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX payments_user ON payments (user_id, created_at, id)",
            "CREATE INDEX payments_created ON payments (created_at, id)",
            // What the recovery service looks at: payments not yet settled, oldest first.
            "CREATE INDEX payments_unsettled ON payments (updated_at) WHERE status IN ('PENDING', 'AUTHORIZED')",
            // Provider webhooks seen, by the provider's event id: a redelivery is a duplicate.
            """
            CREATE TABLE provider_events (
                id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                payment_intent_id TEXT,
                result TEXT NOT NULL,
                received_at TEXT NOT NULL
            )
            """,
        ]),
        OutboxSchema.migration,
        SandboxSchema.migration,
        OutboxSchema.deadLetters,
        // Payment methods the provider refused, per pledge: after a few, the pledge takes no more
        // attempts (a card tester cannot try card after card on one pledge).
        SQLMigration(name: "002_payment_attempts", [
            """
            CREATE TABLE payment_attempts (
                pledge_id TEXT PRIMARY KEY,
                refused INTEGER NOT NULL,
                last_refused_at TEXT NOT NULL
            )
            """,
        ]),
        // Refunds: a payment keeps the provider's cumulative refunded amount and becomes REFUNDED
        // when all of it is; each refund asked for here (or found at the provider) is a row, keyed
        // by the admin's Idempotency-Key. SQLite cannot change a CHECK in place: there the
        // payments table is copied (`changeTable`).
        SQLMigration(name: "003_refunds", statements: { dialect in
            var statements = dialect.changeTable(
                "payments",
                alter: [
                    "ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_status_check",
                    "ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN ('PENDING', 'AUTHORIZED', 'CAPTURED', 'FAILED', 'REFUNDED'))",
                    "ALTER TABLE payments ADD COLUMN refunded_amount BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount)",
                ],
                definition: """
                    id TEXT PRIMARY KEY,
                    pledge_id TEXT NOT NULL UNIQUE,
                    campaign_id TEXT NOT NULL,
                    user_id TEXT,
                    receipt_token_hash TEXT,
                    amount BIGINT NOT NULL CHECK (amount > 0),
                    currency TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('PENDING', 'AUTHORIZED', 'CAPTURED', 'FAILED', 'REFUNDED')),
                    provider TEXT NOT NULL,
                    provider_payment_id TEXT UNIQUE,
                    payment_method TEXT NOT NULL,
                    charge_key TEXT NOT NULL UNIQUE,
                    client_secret TEXT,
                    failure_reason TEXT,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    refunded_amount BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount)
                    """,
                copied: """
                    id, pledge_id, campaign_id, user_id, receipt_token_hash, amount, currency, status, provider, provider_payment_id,
                    payment_method, charge_key, client_secret, failure_reason, created_at, updated_at
                    """,
                indexes: [
                    "CREATE INDEX payments_user ON payments (user_id, created_at, id)",
                    "CREATE INDEX payments_created ON payments (created_at, id)",
                    "CREATE INDEX payments_unsettled ON payments (updated_at) WHERE status IN ('PENDING', 'AUTHORIZED')",
                ]
            )
            statements += [
                """
                CREATE TABLE refunds (
                    id TEXT PRIMARY KEY,
                    payment_id TEXT NOT NULL REFERENCES payments (id),
                    amount BIGINT NOT NULL CHECK (amount > 0),
                    currency TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
                    provider_refund_id TEXT UNIQUE,
                    idempotency_key TEXT,
                    request_hash TEXT,
                    failure_reason TEXT,
                    requested_by TEXT,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    UNIQUE (payment_id, idempotency_key)
                )
                """,
                "CREATE INDEX refunds_pending ON refunds (updated_at) WHERE status = 'PENDING'",
            ]
            return statements
        }),
        SandboxSchema.refunds,
        // A campaign's payments, for reconciliation's summaries.
        SQLMigration(name: "004_payments_by_campaign", [
            "CREATE INDEX payments_campaign ON payments (campaign_id, pledge_id)",
        ]),
        // The trace a payment was created under: its webhooks and recovery continue it, so a
        // donation's capture carries the donation's trace id.
        SQLMigration(name: "005_payment_trace", [
            "ALTER TABLE payments ADD COLUMN trace_parent TEXT",
        ]),
        // What each outbox row is about, indexed (resends and an operator's search use it).
        OutboxSchema.aggregates,
    ]
}
