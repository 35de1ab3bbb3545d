import Contracts
import Persistence
import SQLKit

/// A campaign's money as one publisher records it, for reconciliation: counts and sums by status
/// and the refunded sum (`summarize`), and its rows a page at a time in pledge id order (`page`).
/// pledge-service answers from `pledges`, payment-service from `payments` (by pledge), and
/// campaign-service compares them with its `projection` (`campaign_pledges`): the three ledgers
/// there are, written out here, so no table name comes from anywhere else.
public enum LedgerQuery: Sendable {
    case pledges
    case payments
    case projection

    var table: SQLQueryString {
        switch self {
        case .pledges: "pledges"
        case .payments: "payments"
        case .projection: "campaign_pledges"
        }
    }

    /// The column that names the pledge.
    var pledgeColumn: SQLQueryString {
        switch self {
        case .pledges: "id"
        case .payments, .projection: "pledge_id"
        }
    }

    /// `(status, count, amount, refunded)` for each status.
    public func summarize(campaignId: CampaignID, on db: any SQLDatabase) async throws -> [(status: PledgeStatus, count: Int64, amount: Int64, refunded: Int64)] {
        try await db.raw("""
            SELECT status, COUNT(*) AS n, CAST(SUM(amount) AS BIGINT) AS amount, CAST(SUM(refunded_amount) AS BIGINT) AS refunded
            FROM \(table) WHERE campaign_id = \(bind: campaignId.rawValue) GROUP BY status
            """).all().map { row in
            (try row.decode(column: "status", known: PledgeStatus.self), try row.decode(column: "n", as: Int64.self),
             try row.decode(column: "amount", as: Int64.self), try row.decode(column: "refunded", as: Int64.self))
        }
    }

    /// Up to `limit + 1` rows `(pledge, status, amount, refunded)` after `after`, in pledge id order.
    public func page(campaignId: CampaignID, after: PledgeID?, limit: Int, on db: any SQLDatabase) async throws
        -> [(pledgeId: PledgeID, status: PledgeStatus, amount: Int64, refunded: Int64)]
    {
        var query: SQLQueryString = """
            SELECT \(pledgeColumn) AS pledge, status, amount, refunded_amount FROM \(table) WHERE campaign_id = \(bind: campaignId.rawValue)
            """
        if let after { query += " AND \(pledgeColumn) > \(bind: after.rawValue)" }
        query += " ORDER BY \(pledgeColumn) LIMIT \(bind: limit + 1)"
        return try await db.raw(query).all().map { row in
            (PledgeID(try row.decode(column: "pledge", as: String.self)), try row.decode(column: "status", known: PledgeStatus.self),
             try row.decode(column: "amount", as: Int64.self), try row.decode(column: "refunded_amount", as: Int64.self))
        }
    }
}
