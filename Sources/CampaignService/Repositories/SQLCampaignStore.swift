import Contracts
import HTTPSupport
import Persistence
import SQLKit

/// `CampaignStore` on PostgreSQL or SQLite.
public struct SQLCampaignStore: CampaignStore {
    let database: any DatabaseClient

    public init(database: any DatabaseClient) {
        self.database = database
    }

    static let campaignColumns: SQLQueryString = """
        c.id, c.title, c.description, c.goal_amount, c.currency, c.status, c.created_at, c.updated_at, c.currency_locked,
        COALESCE(r.pending_amount, 0) AS pending_amount, COALESCE(r.authorized_amount, 0) AS authorized_amount,
        COALESCE(r.captured_amount, 0) AS captured_amount, COALESCE(r.failed_amount, 0) AS failed_amount,
        COALESCE(r.refunded_amount, 0) AS refunded_amount,
        COALESCE(r.total_pledges, 0) AS total_pledges, COALESCE(r.total_payments, 0) AS total_payments
        FROM campaigns c LEFT JOIN campaign_rollups r ON r.campaign_id = c.id
        """

    public func create(_ campaign: Campaign) async throws {
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO campaigns (id, title, description, goal_amount, currency, status, created_at, updated_at)
                VALUES (\(bind: campaign.id), \(bind: campaign.title), \(bind: campaign.description), \(bind: campaign.goal.minorUnits),
                        \(bind: campaign.currency.rawValue), \(bind: campaign.status.rawValue), \(bind: campaign.createdAt), \(bind: campaign.updatedAt))
                """).run()
            // Events may have arrived before the campaign (a replay): their rollup row is kept.
            try await RollupWriter.ensureRow(campaignId: campaign.id, on: db, now: campaign.createdAt)
        }
    }

    public func find(id: CampaignID) async throws -> Campaign? {
        try await database.withConnection { db in
            try await db.raw("SELECT \(Self.campaignColumns) WHERE c.id = \(bind: id)").first().map(Self.campaign)
        }
    }

    public func list(status: CampaignStatus?, includeDrafts: Bool, limit: Int, after cursor: PageCursor?) async throws -> [Campaign] {
        try await database.withConnection { db in
            var query: SQLQueryString = "SELECT \(Self.campaignColumns) WHERE 1 = 1"
            if let status {
                query += " AND c.status = \(bind: status.rawValue)"
            } else if !includeDrafts {
                query += " AND c.status <> 'draft'"
            }
            if let cursor {
                query += " AND (c.created_at < \(bind: cursor.sortKey) OR (c.created_at = \(bind: cursor.sortKey) AND c.id < \(bind: cursor.id)))"
            }
            query += " ORDER BY c.created_at DESC, c.id DESC LIMIT \(bind: limit + 1)"
            return try await db.raw(query).all().map(Self.campaign)
        }
    }

    public func update(id: CampaignID, at time: String, _ change: @escaping @Sendable (inout Campaign) throws -> Void) async throws -> Campaign? {
        let dialect = database.dialect
        return try await database.transaction { db in
            let lock = dialect.rowLock(of: "c")
            guard var campaign = try await db.raw("SELECT \(Self.campaignColumns) WHERE c.id = \(bind: id)\(lock)").first().map(Self.campaign)
            else { return nil }
            let original = campaign
            try change(&campaign)
            guard campaign != original else { return campaign }
            campaign.updatedAt = time
            try await db.raw("""
                UPDATE campaigns SET title = \(bind: campaign.title), description = \(bind: campaign.description),
                    goal_amount = \(bind: campaign.goal.minorUnits), currency = \(bind: campaign.currency.rawValue),
                    status = \(bind: campaign.status.rawValue), updated_at = \(bind: time)
                WHERE id = \(bind: id)
                """).run()
            return campaign
        }
    }

    public func lockCurrency(id: CampaignID, currency: Currency) async throws -> Campaign? {
        try await database.transaction { db in
            try await db.raw("""
                UPDATE campaigns SET currency_locked = 1
                WHERE id = \(bind: id) AND currency = \(bind: currency.rawValue) AND status = 'active' AND currency_locked = 0
                """).run()
            return try await db.raw("SELECT \(Self.campaignColumns) WHERE c.id = \(bind: id)").first().map(Self.campaign)
        }
    }

    /// One row per donation, from the projection; failed ones are not listed.
    public func donations(campaignId: CampaignID, limit: Int, after cursor: PageCursor?) async throws -> [DonationResponse] {
        try await database.withConnection { db in
            var query: SQLQueryString = """
                SELECT pledge_id, status, amount, refunded_amount, currency, anonymous, details_known, donor_name, message, created_at,
                       last_event_at
                FROM campaign_pledges
                WHERE campaign_id = \(bind: campaignId) AND status <> \(bind: PledgeStatus.failed.rawValue)
                """
            if let cursor {
                query += " AND (created_at < \(bind: cursor.sortKey) OR (created_at = \(bind: cursor.sortKey) AND pledge_id < \(bind: cursor.id)))"
            }
            query += " ORDER BY created_at DESC, pledge_id DESC LIMIT \(bind: limit + 1)"
            return try await db.raw(query).all().map { row in
                let anonymous = try row.decode(column: "anonymous", as: Int.self) != 0
                let known = try row.decode(column: "details_known", as: Int.self) != 0
                let name = try row.decode(column: "donor_name", as: String?.self)
                return DonationResponse(
                    pledgeId: try row.decode(column: "pledge_id", known: PledgeID.self),
                    status: try row.decode(column: "status", as: String.self),
                    amount: try row.decode(column: "amount", as: Int64.self),
                    refundedAmount: try row.decode(column: "refunded_amount", as: Int64.self),
                    currency: try row.decode(column: "currency", as: String.self),
                    // Until the pledge's own event arrives the donor is unknown: show nothing personal.
                    donorName: (known && !anonymous ? name : nil) ?? "Anonymous",
                    message: known ? try row.decode(column: "message", as: String?.self) : nil,
                    createdAt: try row.decode(column: "created_at", as: String.self),
                    updatedAt: try row.decode(column: "last_event_at", as: String.self)
                )
            }
        }
    }

    public func events(campaignId: CampaignID, pledgeId: PledgeID?, limit: Int, after cursor: PageCursor?) async throws -> [IngestedEventResponse] {
        try await database.withConnection { db in
            var query: SQLQueryString = """
                SELECT event_id, type, source, pledge_id, occurred_at, received_at, effect
                FROM campaign_event_log WHERE campaign_id = \(bind: campaignId)
                """
            if let pledgeId { query += " AND pledge_id = \(bind: pledgeId)" }
            if let cursor {
                query += " AND (received_at < \(bind: cursor.sortKey) OR (received_at = \(bind: cursor.sortKey) AND event_id < \(bind: cursor.id)))"
            }
            query += " ORDER BY received_at DESC, event_id DESC LIMIT \(bind: limit + 1)"
            return try await db.raw(query).all().map { row in
                IngestedEventResponse(
                    eventId: try row.decode(column: "event_id", as: String.self),
                    type: try row.decode(column: "type", as: String.self),
                    source: try row.decode(column: "source", as: String.self),
                    pledgeId: try row.decode(column: "pledge_id", known: PledgeID.self),
                    occurredAt: try row.decode(column: "occurred_at", as: String.self),
                    receivedAt: try row.decode(column: "received_at", as: String.self),
                    effect: try row.decode(column: "effect", as: String.self)
                )
            }
        }
    }

    public func rebuildRollup(campaignId: CampaignID, at time: String) async throws -> RollupRebuild {
        let dialect = database.dialect
        return try await database.transaction { db in
            try await RollupWriter.ensureRow(campaignId: campaignId, on: db, now: time)
            let lock = dialect.rowLock
            let row = try await db.raw("SELECT * FROM campaign_rollups WHERE campaign_id = \(bind: campaignId)\(lock)").first()
            let before = try Self.totals(row!)
            let after = try await Self.totalsFromProjection(campaignId, on: db)
            if after != before {
                try await db.raw("""
                    UPDATE campaign_rollups SET pending_amount = \(bind: after.pendingAmount), authorized_amount = \(bind: after.authorizedAmount),
                        captured_amount = \(bind: after.capturedAmount), failed_amount = \(bind: after.failedAmount),
                        refunded_amount = \(bind: after.refundedAmount),
                        total_pledges = \(bind: after.totalPledges), total_payments = \(bind: after.totalPayments), updated_at = \(bind: time)
                    WHERE campaign_id = \(bind: campaignId)
                    """).run()
            }
            return RollupRebuild(campaignId: campaignId, before: before, after: after)
        }
    }

    /// The totals the per-pledge projection adds up to: the same shares ingestion keeps, summed by
    /// status in the database.
    static func totalsFromProjection(_ campaignId: CampaignID, on db: any SQLDatabase) async throws -> CampaignTotals {
        var sum = RollupDelta()
        for group in try await db.raw("""
            SELECT status, CAST(SUM(amount) AS BIGINT) AS amount, CAST(SUM(refunded_amount) AS BIGINT) AS refunded, COUNT(*) AS pledges
            FROM campaign_pledges WHERE campaign_id = \(bind: campaignId) GROUP BY status
            """).all() {
            let status = try group.decode(column: "status", known: PledgeStatus.self)
            var share = RollupDelta.of(
                status: status, amount: try group.decode(column: "amount", as: Int64.self), refunded: try group.decode(column: "refunded", as: Int64.self)
            )
            let pledges = try group.decode(column: "pledges", as: Int64.self)
            share.totalPayments *= pledges
            share.totalPledges = pledges
            sum = sum + share
        }
        return CampaignTotals(
            pendingAmount: sum.pending, authorizedAmount: sum.authorized, capturedAmount: sum.captured, failedAmount: sum.failed,
            totalPledges: sum.totalPledges, totalPayments: sum.totalPayments, refundedAmount: sum.refunded
        )
    }

    static func campaign(_ row: any SQLRow) throws -> Campaign {
        Campaign(
            id: try row.decode(column: "id", known: CampaignID.self),
            title: try row.decode(column: "title", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            goal: try row.decodeMoney("goal_amount"),
            status: try row.decode(column: "status", known: CampaignStatus.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self),
            totals: try totals(row),
            currencyLocked: try row.decode(column: "currency_locked", as: Int.self) != 0
        )
    }

    static func totals(_ row: any SQLRow) throws -> CampaignTotals {
        CampaignTotals(
            pendingAmount: try row.decode(column: "pending_amount", as: Int64.self),
            authorizedAmount: try row.decode(column: "authorized_amount", as: Int64.self),
            capturedAmount: try row.decode(column: "captured_amount", as: Int64.self),
            failedAmount: try row.decode(column: "failed_amount", as: Int64.self),
            totalPledges: try row.decode(column: "total_pledges", as: Int64.self),
            totalPayments: try row.decode(column: "total_payments", as: Int64.self),
            refundedAmount: try row.decode(column: "refunded_amount", as: Int64.self)
        )
    }
}
