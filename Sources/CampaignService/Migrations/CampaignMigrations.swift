import Outbox
import Persistence

/// campaign-service's schema, in order. Released migrations never change; add new ones at the end.
public enum CampaignMigrations {
    public static let all: [any Migration] = [
        SQLMigration(name: "001_create_campaigns", [
            """
            CREATE TABLE campaigns (
                id TEXT PRIMARY KEY,
                title TEXT NOT NULL,
                description TEXT NOT NULL,
                goal_amount BIGINT NOT NULL CHECK (goal_amount > 0),
                currency TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'closed')),
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX campaigns_created ON campaigns (created_at, id)",
            "CREATE INDEX campaigns_status_created ON campaigns (status, created_at, id)",
        ]),
        SQLMigration(name: "002_create_read_model", [
            // One row per campaign, kept by the projector; no bucket can go negative.
            """
            CREATE TABLE campaign_rollups (
                campaign_id TEXT PRIMARY KEY,
                pending_amount BIGINT NOT NULL DEFAULT 0 CHECK (pending_amount >= 0),
                authorized_amount BIGINT NOT NULL DEFAULT 0 CHECK (authorized_amount >= 0),
                captured_amount BIGINT NOT NULL DEFAULT 0 CHECK (captured_amount >= 0),
                failed_amount BIGINT NOT NULL DEFAULT 0 CHECK (failed_amount >= 0),
                total_pledges BIGINT NOT NULL DEFAULT 0 CHECK (total_pledges >= 0),
                total_payments BIGINT NOT NULL DEFAULT 0 CHECK (total_payments >= 0),
                updated_at TEXT NOT NULL
            )
            """,
            // One row per pledge with the highest-ranked status seen.
            """
            CREATE TABLE campaign_pledges (
                pledge_id TEXT PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                amount BIGINT NOT NULL CHECK (amount > 0),
                currency TEXT NOT NULL,
                status TEXT NOT NULL,
                payment_id TEXT,
                details_known INTEGER NOT NULL DEFAULT 0,
                anonymous INTEGER NOT NULL DEFAULT 0,
                donor_name TEXT,
                message TEXT,
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX campaign_pledges_campaign ON campaign_pledges (campaign_id, status)",
            """
            CREATE TABLE campaign_event_log (
                event_id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                source TEXT NOT NULL,
                campaign_id TEXT NOT NULL,
                pledge_id TEXT NOT NULL,
                occurred_at TEXT NOT NULL,
                received_at TEXT NOT NULL,
                effect TEXT NOT NULL,
                payload TEXT NOT NULL
            )
            """,
            "CREATE INDEX campaign_event_log_campaign ON campaign_event_log (campaign_id, received_at, event_id)",
            // One row per ingested event, keyed by the event id; names come from the projection at read time.
            """
            CREATE TABLE donation_history (
                id TEXT PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                pledge_id TEXT NOT NULL,
                payment_id TEXT,
                type TEXT NOT NULL,
                status TEXT NOT NULL,
                amount BIGINT NOT NULL,
                currency TEXT NOT NULL,
                occurred_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX donation_history_campaign ON donation_history (campaign_id, occurred_at, id)",
        ]),
        // Text accepted before it was limited in bytes (one letter and a megabyte of combining
        // marks was one "character"): cleared, so the public history never serves it. More code
        // points than the byte limit means more bytes than it; no text accepted now is touched.
        SQLMigration(name: "003_clear_oversized_text", [
            "UPDATE campaign_pledges SET message = NULL WHERE length(message) > 4000",
            "UPDATE campaign_pledges SET donor_name = NULL WHERE length(donor_name) > 800",
        ]),
        // The public history lists one row per donation, from the projection: when the donation
        // was made (the earliest event time seen for it, which is its PLEDGE_CREATED once that has
        // arrived) and when it last changed (the latest). Both are a minimum and a maximum over
        // the events, so they come out the same in any order. Existing rows are filled from the
        // event log.
        SQLMigration(name: "004_donation_times", [
            "ALTER TABLE campaign_pledges ADD COLUMN created_at TEXT",
            "ALTER TABLE campaign_pledges ADD COLUMN last_event_at TEXT",
            """
            UPDATE campaign_pledges SET created_at = seen.first, last_event_at = seen.last
            FROM (SELECT pledge_id, MIN(occurred_at) AS first, MAX(occurred_at) AS last FROM campaign_event_log GROUP BY pledge_id) AS seen
            WHERE seen.pledge_id = campaign_pledges.pledge_id
            """,
            "UPDATE campaign_pledges SET created_at = updated_at WHERE created_at IS NULL",
            "UPDATE campaign_pledges SET last_event_at = updated_at WHERE last_event_at IS NULL",
            "CREATE INDEX campaign_pledges_history ON campaign_pledges (campaign_id, created_at, pledge_id)",
        ]),
        // Refunds: the largest cumulative refund seen per pledge, and the campaign's bucket of
        // money given back (which `captured_amount` no longer counts).
        SQLMigration(name: "005_refunds", [
            "ALTER TABLE campaign_pledges ADD COLUMN refunded_amount BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE campaign_rollups ADD COLUMN refunded_amount BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0)",
        ]),
        // campaign-service publishes too: CAMPAIGN_GOAL_REACHED, once per campaign, through its own outbox.
        OutboxSchema.migration,
        OutboxSchema.deadLetters,
        // When the captured total first reached the goal; campaigns there already count as told.
        SQLMigration(name: "006_goal_reached", [
            "ALTER TABLE campaigns ADD COLUMN goal_reached_at TEXT",
            """
            UPDATE campaigns SET goal_reached_at = updated_at
            WHERE goal_amount <= (SELECT captured_amount FROM campaign_rollups WHERE campaign_rollups.campaign_id = campaigns.id)
            """,
        ]),
        // Reconciliation runs, kept and listed: what was compared, and each difference found.
        SQLMigration(name: "007_reconciliation_runs", [
            """
            CREATE TABLE reconciliation_runs (
                id TEXT PRIMARY KEY,
                started_at TEXT NOT NULL,
                finished_at TEXT NOT NULL,
                campaigns_checked INTEGER NOT NULL,
                drift_count INTEGER NOT NULL,
                drift TEXT NOT NULL,
                repaired INTEGER NOT NULL,
                resent INTEGER NOT NULL,
                errors TEXT NOT NULL
            )
            """,
            "CREATE INDEX reconciliation_runs_started ON reconciliation_runs (started_at, id)",
        ]),
        // Set when pledge-service is told a campaign takes pledges in its currency: from then on
        // the currency never changes, even before the first pledge's event has arrived here.
        // Campaigns with pledges already are locked.
        SQLMigration(name: "008_currency_lock", [
            "ALTER TABLE campaigns ADD COLUMN currency_locked INTEGER NOT NULL DEFAULT 0",
            """
            UPDATE campaigns SET currency_locked = 1
            WHERE 0 < (SELECT total_pledges FROM campaign_rollups WHERE campaign_rollups.campaign_id = campaigns.id)
            """,
        ]),
        // What each outbox row is about, indexed (resends and an operator's search use it).
        OutboxSchema.aggregates,
    ]
}