import Contracts
import Foundation
import Persistence
import SQLKit

/// Applies events to the campaign read model so that every order and every number of duplicates
/// of the same events gives the same totals:
///
/// 1. `campaign_event_log` drops an event id seen before;
/// 2. `campaign_pledges` keeps one row per pledge with the highest-ranked status seen; every event
///    type says something about a pledge (`PAYMENT_CAPTURED` means CAPTURED);
/// 3. the pledge's amount moves between rollup buckets only when its status rises, so it sits in
///    exactly one bucket and none can go negative;
/// 4. `donation_history` gets one row per new event.
///
/// A whole batch is applied as sets, in the caller's transaction: the pledges it touches locked
/// with one query (in id order, so concurrent batches cannot deadlock on them), the new events
/// found with one, each pledge's news folded in memory in the batch's order, then one insert
/// for the log, one for new pledges, one update for changed pledges, one update per campaign's
/// rollup and one insert for the history: about eight statements a batch, not eight an event.
/// The result is the same as applying the events one by one (the property test checks it).
/// Should a concurrent batch insert the same event or pledge between the read and the write,
/// `TransactionConflict` is thrown and the caller runs the batch again.
public struct EventProjector: Sendable {
    public init() {}

    /// What an event did to the projection, recorded in the event log for the admin view.
    enum Effect: String {
        case newPledge = "new_pledge"
        case statusRaised = "status_raised"
        /// More of the pledge was given back than known before.
        case refundRaised = "refund_raised"
        case noChange = "no_change"
    }

    /// One pledge's row, as read and as folded.
    struct PledgeRow: Equatable {
        var pledgeId: PledgeID
        var campaignId: CampaignID
        var amount: Int64
        var currency: String
        var status: PledgeStatus
        var paymentId: PaymentID?
        var detailsKnown: Bool
        var anonymous: Bool
        var donorName: String?
        var message: String?
        var updatedAt: String
        /// The earliest and latest `occurred_at` of the pledge's events: when the donation was
        /// made and when it last changed, whatever order the events came in.
        var createdAt: String
        var lastEventAt: String
        /// The largest cumulative refund seen.
        var refundedAmount: Int64 = 0

        mutating func saw(_ time: String) {
            createdAt = createdAt.isEmpty ? time : min(createdAt, time)
            lastEventAt = max(lastEventAt, time)
        }
    }

    public func apply(_ events: [EventEnvelope], on db: any SQLDatabase, dialect: DatabaseDialect, receivedAt: String) async throws -> [IngestResult] {
        guard !events.isEmpty else { return [] }
        // Lock every pledge the batch touches, in a fixed order, before asking which events are
        // new: a concurrent batch with news of the same pledges has then committed (or not begun),
        // so the answer cannot change under us. Only pledges nobody has projected yet can still
        // race, and that race ends in a conflict and a retry, after which they are locked too.
        let pledgeIds = Set(events.map(\.data.pledgeFact.pledgeId)).sorted()
        let lock = dialect.rowLock
        var before: [PledgeID: PledgeRow] = [:]
        for row in try await db.raw("""
            SELECT pledge_id, campaign_id, amount, currency, status, payment_id, details_known, anonymous, donor_name, message, updated_at,
                   created_at, last_event_at, refunded_amount
            FROM campaign_pledges WHERE pledge_id IN (\(binds: pledgeIds)) ORDER BY pledge_id\(lock)
            """).all() {
            let pledge = try Self.pledgeRow(row)
            before[pledge.pledgeId] = pledge
        }

        // The first copy of each id in the batch that the log has not seen yet.
        var first: [String: Int] = [:]
        for (index, event) in events.enumerated() where first[event.eventId] == nil { first[event.eventId] = index }
        let seen = Set(try await db.raw("SELECT event_id FROM campaign_event_log WHERE event_id IN (\(binds: Array(first.keys)))").all()
            .map { try $0.decode(column: "event_id", as: String.self) })
        let fresh = events.indices.filter { first[events[$0].eventId] == $0 && !seen.contains(events[$0].eventId) }
        var results = [IngestResult](repeating: .duplicate, count: events.count)
        guard !fresh.isEmpty else { return results }

        // Fold each pledge's news in the batch's order, as one event after another would.
        var after = before
        var effects: [Int: Effect] = [:]
        for index in fresh {
            let event = events[index]
            let fact = event.data.pledgeFact
            let details = PledgeDetails(event.data)
            let occurredAt = Self.occurredAt(event)
            guard var row = after[fact.pledgeId] else {
                var state = PledgeState(amount: fact.amount)
                state.take(fact.status, refunded: fact.refundedAmount)
                after[fact.pledgeId] = PledgeRow(
                    pledgeId: fact.pledgeId, campaignId: fact.campaignId, amount: fact.amount, currency: fact.currency.rawValue, status: state.status,
                    paymentId: fact.paymentId, detailsKnown: details != nil, anonymous: details?.anonymous ?? false,
                    donorName: details?.donorName, message: details?.message, updatedAt: receivedAt,
                    createdAt: occurredAt, lastEventAt: occurredAt, refundedAmount: state.refundedAmount
                )
                effects[index] = .newPledge
                continue
            }
            row.saw(occurredAt)
            // Names and messages arrive only with PLEDGE_CREATED, whenever it comes; payment ids with payment events.
            if let details {
                row.detailsKnown = true
                row.anonymous = details.anonymous
                row.donorName = details.donorName
                row.message = details.message
            }
            if row.paymentId == nil, let paymentId = fact.paymentId { row.paymentId = paymentId }
            var state = PledgeState(status: row.status, refundedAmount: row.refundedAmount, amount: row.amount)
            let change = state.take(fact.status, refunded: fact.refundedAmount)
            row.status = state.status
            row.refundedAmount = state.refundedAmount
            if change.changed { row.updatedAt = receivedAt }
            effects[index] = change.movedFrom != nil ? .statusRaised : change.refundRaised ? .refundRaised : .noChange
            after[fact.pledgeId] = row
        }

        // Each campaign's rollup moves by the difference between what each pledge adds to it
        // after the batch and before: a new pledge counts its amount in its final bucket; a known
        // one moves the amount it was first counted with.
        var deltas: [CampaignID: RollupDelta] = [:]
        for (pledgeId, row) in after {
            let now = RollupDelta.of(status: row.status, amount: row.amount, refunded: row.refundedAmount)
            if let old = before[pledgeId] {
                guard row.status != old.status || row.refundedAmount != old.refundedAmount else { continue }
                let was = RollupDelta.of(status: old.status, amount: old.amount, refunded: old.refundedAmount)
                deltas[old.campaignId, default: RollupDelta()] = deltas[old.campaignId, default: RollupDelta()] + (now - was)
            } else {
                deltas[row.campaignId, default: RollupDelta()] = deltas[row.campaignId, default: RollupDelta()] + now
            }
        }

        try await logEvents(fresh.map { (events[$0], effects[$0]!) }, on: db, receivedAt: receivedAt)
        let created = after.values.filter { before[$0.pledgeId] == nil }.sorted { $0.pledgeId < $1.pledgeId }
        try await insertPledges(created, on: db)
        let changed = after.values.filter { row in before[row.pledgeId].map { $0 != row } ?? false }.sorted { $0.pledgeId < $1.pledgeId }
        try await updatePledges(changed, on: db)
        let newCampaigns = Set(created.map(\.campaignId)).sorted()
        if !newCampaigns.isEmpty {
            let rows = newCampaigns.map { SQLQueryString("(\(bind: $0), \(bind: receivedAt))") }
            try await db.raw("""
                INSERT INTO campaign_rollups (campaign_id, updated_at) VALUES \(rows.joined(separator: ", "))
                ON CONFLICT (campaign_id) DO NOTHING
                """).run()
        }
        for (campaignId, delta) in deltas.sorted(by: { $0.key < $1.key }) where delta != RollupDelta() {
            try await RollupWriter.apply(delta, campaignId: campaignId, on: db, now: receivedAt)
        }
        let history = fresh.map { index -> SQLQueryString in
            let event = events[index]
            let fact = event.data.pledgeFact
            return """
                (\(bind: event.eventId), \(bind: fact.campaignId), \(bind: fact.pledgeId), \(bind: fact.paymentId), \(bind: event.type.rawValue),
                 \(bind: fact.status.rawValue), \(bind: fact.amount), \(bind: fact.currency.rawValue), \(bind: Self.occurredAt(event)))
                """
        }
        try await db.raw("""
            INSERT INTO donation_history (id, campaign_id, pledge_id, payment_id, type, status, amount, currency, occurred_at)
            VALUES \(history.joined(separator: ", "))
            """).run()

        for index in fresh { results[index] = .applied }
        return results
    }

    /// The new events, in id order, with what each did. Another batch logging one of them first is a conflict.
    func logEvents(_ logged: [(EventEnvelope, Effect)], on db: any SQLDatabase, receivedAt: String) async throws {
        let rows = try logged.sorted { $0.0.eventId < $1.0.eventId }.map { event, effect -> SQLQueryString in
            let fact = event.data.pledgeFact
            let payload = try WireCoding.text(event)
            return """
                (\(bind: event.eventId), \(bind: event.type.rawValue), \(bind: event.source), \(bind: fact.campaignId), \(bind: fact.pledgeId),
                 \(bind: Self.occurredAt(event)), \(bind: receivedAt), \(bind: effect.rawValue), \(bind: payload))
                """
        }
        let inserted = try await db.raw("""
            INSERT INTO campaign_event_log (event_id, type, source, campaign_id, pledge_id, occurred_at, received_at, effect, payload)
            VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id
            """).all()
        guard inserted.count == rows.count else { throw TransactionConflict("an event of the batch was logged by another one first") }
    }

    func insertPledges(_ created: [PledgeRow], on db: any SQLDatabase) async throws {
        guard !created.isEmpty else { return }
        let rows = created.map { row -> SQLQueryString in
            """
            (\(bind: row.pledgeId), \(bind: row.campaignId), \(bind: row.amount), \(bind: row.currency), \(bind: row.status.rawValue),
             \(bind: row.paymentId), \(bind: row.detailsKnown ? 1 : 0), \(bind: row.anonymous ? 1 : 0), \(bind: row.donorName),
             \(bind: row.message), \(bind: row.updatedAt), \(bind: row.createdAt), \(bind: row.lastEventAt), \(bind: row.refundedAmount))
            """
        }
        let inserted = try await db.raw("""
            INSERT INTO campaign_pledges
                (pledge_id, campaign_id, amount, currency, status, payment_id, details_known, anonymous, donor_name, message, updated_at,
                 created_at, last_event_at, refunded_amount)
            VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (pledge_id) DO NOTHING
            RETURNING pledge_id
            """).all()
        guard inserted.count == created.count else { throw TransactionConflict("a pledge of the batch was projected by another one first") }
    }

    /// One statement for every changed pledge: the folded rows as a table of values.
    func updatePledges(_ changed: [PledgeRow], on db: any SQLDatabase) async throws {
        guard !changed.isEmpty else { return }
        let rows = changed.map { row -> SQLQueryString in
            """
            (\(bind: row.pledgeId), \(bind: row.status.rawValue), \(bind: row.paymentId), \(bind: row.detailsKnown ? 1 : 0),
             \(bind: row.anonymous ? 1 : 0), \(bind: row.donorName), \(bind: row.message), \(bind: row.updatedAt),
             \(bind: row.createdAt), \(bind: row.lastEventAt), \(bind: row.refundedAmount))
            """
        }
        try await db.raw("""
            WITH folded (pledge_id, status, payment_id, details_known, anonymous, donor_name, message, updated_at, created_at, last_event_at,
                         refunded_amount) AS (
                VALUES \(rows.joined(separator: ", "))
            )
            UPDATE campaign_pledges SET
                status = folded.status, payment_id = folded.payment_id, details_known = folded.details_known,
                anonymous = folded.anonymous, donor_name = folded.donor_name, message = folded.message, updated_at = folded.updated_at,
                created_at = folded.created_at, last_event_at = folded.last_event_at, refunded_amount = folded.refunded_amount
            FROM folded WHERE campaign_pledges.pledge_id = folded.pledge_id
            """).run()
    }

    static func occurredAt(_ event: EventEnvelope) -> String {
        Timestamp.normalize(event.occurredAt) ?? event.occurredAt
    }

    static func pledgeRow(_ row: any SQLRow) throws -> PledgeRow {
        let pledgeId = try row.decode(column: "pledge_id", known: PledgeID.self)
        let status = try row.decode(column: "status", known: PledgeStatus.self)
        return PledgeRow(
            pledgeId: pledgeId, campaignId: try row.decode(column: "campaign_id", known: CampaignID.self),
            amount: try row.decode(column: "amount", as: Int64.self), currency: try row.decode(column: "currency", as: String.self),
            status: status, paymentId: try row.decode(column: "payment_id", known: PaymentID?.self),
            detailsKnown: try row.decode(column: "details_known", as: Int.self) != 0, anonymous: try row.decode(column: "anonymous", as: Int.self) != 0,
            donorName: try row.decode(column: "donor_name", as: String?.self), message: try row.decode(column: "message", as: String?.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self),
            createdAt: try row.decode(column: "created_at", as: String?.self) ?? "",
            lastEventAt: try row.decode(column: "last_event_at", as: String?.self) ?? "",
            refundedAmount: try row.decode(column: "refunded_amount", as: Int64.self)
        )
    }
}
