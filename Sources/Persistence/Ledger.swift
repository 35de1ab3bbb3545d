import SQLKit

/// A campaign's money as one table records it, for reconciliation: counts and sums by status and
/// the refunded sum (`summarize`), and its rows a page at a time in id order (`page`). Both
/// pledge-service (`pledges`) and payment-service (`payments`, by pledge) answer with it.
public struct LedgerQuery: Sendable {
    /// The table, and the column that names the pledge (`id` in `pledges`, `pledge_id` in `payments`).
    public let table: String
    public let pledgeColumn: String

    public init(table: String, pledgeColumn: String) {
        self.table = table
        self.pledgeColumn = pledgeColumn
    }

    /// `(status, count, amount, refunded)` for each status.
    public func summarize(campaignId: String, on db: any SQLDatabase) async throws -> [(status: String, count: Int64, amount: Int64, refunded: Int64)] {
        try await db.raw("""
            SELECT status, COUNT(*) AS n, CAST(SUM(amount) AS BIGINT) AS amount, CAST(SUM(refunded_amount) AS BIGINT) AS refunded
            FROM \(unsafeRaw: table) WHERE campaign_id = \(bind: campaignId) GROUP BY status
            """).all().map { row in
            (try row.decode(column: "status", as: String.self), try row.decode(column: "n", as: Int64.self),
             try row.decode(column: "amount", as: Int64.self), try row.decode(column: "refunded", as: Int64.self))
        }
    }

    /// Up to `limit + 1` rows `(pledge, status, amount, refunded)` after `after`, in pledge id order.
    public func page(campaignId: String, after: String?, limit: Int, on db: any SQLDatabase) async throws
        -> [(pledgeId: String, status: String, amount: Int64, refunded: Int64)]
    {
        var query: SQLQueryString = """
            SELECT \(unsafeRaw: pledgeColumn) AS pledge, status, amount, refunded_amount FROM \(unsafeRaw: table) WHERE campaign_id = \(bind: campaignId)
            """
        if let after { query += " AND \(unsafeRaw: pledgeColumn) > \(bind: after)" }
        query += " ORDER BY \(unsafeRaw: pledgeColumn) LIMIT \(bind: limit + 1)"
        return try await db.raw(query).all().map { row in
            (try row.decode(column: "pledge", as: String.self), try row.decode(column: "status", as: String.self),
             try row.decode(column: "amount", as: Int64.self), try row.decode(column: "refunded_amount", as: Int64.self))
        }
    }
}
