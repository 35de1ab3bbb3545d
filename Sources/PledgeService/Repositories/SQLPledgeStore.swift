import Contracts
import Foundation
import HTTPSupport
import Idempotency
import Outbox
import Persistence
import SQLKit

/// `PledgeStore` on PostgreSQL or SQLite. Every state change writes its outbox row in the same
/// transaction; the relay is woken after the commit.
public struct SQLPledgeStore: PledgeStore {
    let database: any DatabaseClient
    let signal: QueueSignal
    let clock: any StoreClock
    /// The donation notices for notification-service; nil writes none.
    let notices: DonationNotices?
    /// Concurrent creates commit together (group commit).
    let creates: GroupCommitter<NewPledge, IdempotencyDecision>

    public init(database: any DatabaseClient, signal: QueueSignal, clock: any StoreClock, notices: DonationNotices? = nil, maximumCreateWriters: Int = 4) {
        self.database = database
        self.signal = signal
        self.clock = clock
        self.notices = notices
        self.creates = GroupCommitter(
            maximumWriters: maximumCreateWriters, key: { $0.idempotencyScope + "\u{0}" + $0.idempotencyKey },
            write: { try await Self.createAll($0, database: database, signal: signal, clock: clock) }
        )
    }

    static let columns: SQLQueryString = """
        id, campaign_id, user_id, guest_email, donor_name, amount, currency, status, anonymous, message,
        receipt_token_hash, created_at, updated_at, refunded_amount, account_email
        """

    public func create(_ new: NewPledge) async throws -> IdempotencyDecision {
        try await creates.submit(new)
    }

    /// Creates a batch of pledges in one transaction: their keys claimed in one statement, then
    /// the pledges, their first transitions and their PLEDGE_CREATED rows, a statement each for
    /// all of them. One decision per pledge, in order; only `.proceed` ones were written.
    static func createAll(_ news: [NewPledge], database: any DatabaseClient, signal: QueueSignal, clock: any StoreClock) async throws -> [IdempotencyDecision] {
        let dialect = database.dialect
        let decisions = try await database.retryingTransaction { db -> [IdempotencyDecision] in
            let decisions = try await IdempotencyStore.claimAll(news.map {
                IdempotencyStore.Claim(
                    scope: $0.idempotencyScope, key: $0.idempotencyKey, requestHash: $0.requestHash, status: $0.responseStatus, body: $0.responseBody
                )
            }, now: clock.now(), on: db, dialect: dialect)
            let created = zip(news, decisions).filter { $0.1 == .proceed }.map(\.0)
            guard !created.isEmpty else { return decisions }
            let pledges = created.map(\.pledge).map { pledge -> SQLQueryString in
                """
                (\(bind: pledge.id), \(bind: pledge.campaignId), \(bind: pledge.userId), \(bind: pledge.guestEmail), \(bind: pledge.donorName),
                 \(bind: pledge.amount.minorUnits), \(bind: pledge.currency.rawValue), \(bind: pledge.status.rawValue), \(bind: pledge.anonymous ? 1 : 0),
                 \(bind: pledge.message), \(bind: pledge.receiptTokenHash), \(bind: pledge.createdAt), \(bind: pledge.updatedAt),
                 \(bind: pledge.refundedAmount.minorUnits), \(bind: pledge.accountEmail))
                """
            }
            try await db.raw("INSERT INTO pledges (\(Self.columns)) VALUES \(pledges.joined(separator: ", "))").run()
            let transitions = created.map(\.pledge).map { transitionRow(pledgeId: $0.id, from: nil, to: $0.status, at: $0.createdAt) }
            try await db.raw("""
                INSERT INTO pledge_transitions (id, pledge_id, from_status, to_status, at) VALUES \(transitions.joined(separator: ", "))
                """).run()
            try await Outbox.enqueue(try created.map { try OutboxEntry($0.event, destination: .campaignEvents) }, on: db, now: created[0].pledge.createdAt)
            return decisions
        }
        if decisions.contains(.proceed) { signal.notify() }
        return decisions
    }

    public func pledge(id: PledgeID) async throws -> Pledge? {
        try await database.withConnection { try await Self.fetch(id: id, on: $0) }
    }

    static func fetch(id: PledgeID, on db: any SQLDatabase) async throws -> Pledge? {
        try await db.raw("SELECT \(columns) FROM pledges WHERE id = \(bind: id)").first().map(pledge)
    }

    public func find(id: PledgeID) async throws -> (Pledge, [TransitionResponse])? {
        try await database.withConnection { db in
            guard let pledge = try await Self.fetch(id: id, on: db) else { return nil }
            let transitions = try await db.raw("""
                SELECT from_status, to_status, at FROM pledge_transitions WHERE pledge_id = \(bind: id)
                ORDER BY at, CASE to_status WHEN 'PENDING' THEN 0 WHEN 'AUTHORIZED' THEN 1 ELSE 2 END
                """).all().map { row in
                TransitionResponse(
                    from: try row.decode(column: "from_status", as: String?.self),
                    to: try row.decode(column: "to_status", as: String.self),
                    at: try row.decode(column: "at", as: String.self)
                )
            }
            return (pledge, transitions)
        }
    }

    public func list(userId: UserID?, campaignId: CampaignID?, status: PledgeStatus?, email: String?, limit: Int, after cursor: PageCursor?) async throws -> [Pledge] {
        try await database.withConnection { db in
            var query: SQLQueryString = "SELECT \(Self.columns) FROM pledges WHERE 1 = 1"
            if let email {
                let lowered = email.lowercased()
                query += " AND (LOWER(guest_email) = \(bind: lowered) OR LOWER(account_email) = \(bind: lowered))"
            }
            if let userId { query += " AND user_id = \(bind: userId)" }
            if let campaignId { query += " AND campaign_id = \(bind: campaignId)" }
            if let status { query += " AND status = \(bind: status.rawValue)" }
            if let cursor {
                query += " AND (created_at < \(bind: cursor.sortKey) OR (created_at = \(bind: cursor.sortKey) AND id < \(bind: cursor.id)))"
            }
            query += " ORDER BY created_at DESC, id DESC LIMIT \(bind: limit + 1)"
            return try await db.raw(query).all().map(Self.pledge)
        }
    }

    static func transitionRow(pledgeId: PledgeID, from: PledgeStatus?, to: PledgeStatus, at time: String) -> SQLQueryString {
        "(\(bind: UUID().uuidString.lowercased()), \(bind: pledgeId), \(bind: from?.rawValue), \(bind: to.rawValue), \(bind: time))"
    }

    static func pledge(_ row: any SQLRow) throws -> Pledge {
        let amount = try row.decodeMoney()
        return Pledge(
            id: try row.decode(column: "id", known: PledgeID.self),
            campaignId: try row.decode(column: "campaign_id", known: CampaignID.self),
            userId: try row.decode(column: "user_id", known: UserID?.self),
            guestEmail: try row.decode(column: "guest_email", as: String?.self),
            donorName: try row.decode(column: "donor_name", as: String.self),
            amount: amount,
            status: try row.decode(column: "status", known: PledgeStatus.self),
            anonymous: try row.decode(column: "anonymous", as: Int.self) != 0,
            message: try row.decode(column: "message", as: String?.self),
            receiptTokenHash: try row.decode(column: "receipt_token_hash", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self),
            refundedAmount: amount.with(minorUnits: try row.decode(column: "refunded_amount", as: Int64.self)),
            accountEmail: try row.decode(column: "account_email", as: String?.self)
        )
    }
}
