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
    ]
}
