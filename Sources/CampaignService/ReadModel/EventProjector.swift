import Events
import Foundation
import Persistence
import SQLKit

/// What ingesting one event did.
public enum IngestResult: String, Codable, Sendable {
    /// First time this event id was seen; the read model took it into account.
    case applied
    /// Seen before; nothing changed.
    case duplicate
}

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
/// All four are written in the caller's transaction. On PostgreSQL the pledge row is locked, so
/// concurrent events for one pledge take turns; SQLite has one writer anyway.
public struct EventProjector: Sendable {
    public init() {}

    public func apply(_ event: EventEnvelope, on db: any SQLDatabase, kind: DatabaseKind, receivedAt: String = Timestamp.now()) async throws -> IngestResult {
        let fact = event.data.pledgeFact
        let payload = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
        let occurredAt = EventTime.normalize(event.occurredAt) ?? event.occurredAt

        let logged = try await db.raw("""
            INSERT INTO campaign_event_log (event_id, type, source, campaign_id, pledge_id, occurred_at, received_at, effect, payload)
            VALUES (\(bind: event.eventId), \(bind: event.type.rawValue), \(bind: event.source), \(bind: fact.campaignId),
                    \(bind: fact.pledgeId), \(bind: occurredAt), \(bind: receivedAt), 'pending', \(bind: payload))
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id
            """).all()
        guard !logged.isEmpty else { return .duplicate }

        let details = PledgeDetails(event.data)
        let effect = try await project(fact, details: details, on: db, kind: kind, now: receivedAt)
        try await db.raw("""
            INSERT INTO donation_history (id, campaign_id, pledge_id, payment_id, type, status, amount, currency, occurred_at)
            VALUES (\(bind: event.eventId), \(bind: fact.campaignId), \(bind: fact.pledgeId), \(bind: fact.paymentId),
                    \(bind: event.type.rawValue), \(bind: fact.status.rawValue), \(bind: fact.amount), \(bind: fact.currency.rawValue),
                    \(bind: occurredAt))
            """).run()
        try await db.raw("UPDATE campaign_event_log SET effect = \(bind: effect.rawValue) WHERE event_id = \(bind: event.eventId)").run()
        return .applied
    }

    /// What an event did to the projection, recorded in the event log for the admin view.
    enum Effect: String {
        case newPledge = "new_pledge"
        case statusRaised = "status_raised"
        case noChange = "no_change"
    }

    private func project(_ fact: PledgeFact, details: PledgeDetails?, on db: any SQLDatabase, kind: DatabaseKind, now: String) async throws -> Effect {
        let current: (status: PledgeStatus, amount: Int64, campaignId: String)
        if let existing = try await lockPledge(fact.pledgeId, on: db, kind: kind) {
            current = existing
        } else {
            let inserted = try await db.raw("""
                INSERT INTO campaign_pledges
                    (pledge_id, campaign_id, amount, currency, status, payment_id, details_known, anonymous, donor_name, message, updated_at)
                VALUES (\(bind: fact.pledgeId), \(bind: fact.campaignId), \(bind: fact.amount), \(bind: fact.currency.rawValue),
                        \(bind: fact.status.rawValue), \(bind: fact.paymentId), \(bind: details == nil ? 0 : 1),
                        \(bind: details?.anonymous == true ? 1 : 0), \(bind: details?.donorName), \(bind: details?.message), \(bind: now))
                ON CONFLICT (pledge_id) DO NOTHING
                RETURNING pledge_id
                """).all()
            if !inserted.isEmpty {
                var delta = RollupDelta()
                delta.add(fact.amount, to: fact.status)
                delta.totalPledges = 1
                delta.totalPayments = fact.status == .captured ? 1 : 0
                try await RollupWriter.ensureRow(campaignId: fact.campaignId, on: db, now: now)
                try await RollupWriter.apply(delta, campaignId: fact.campaignId, on: db, now: now)
                return .newPledge
            }
            // Another transaction created the row first; wait for it and carry on from there.
            guard let existing = try await lockPledge(fact.pledgeId, on: db, kind: kind) else {
                throw ProjectionError.pledgeVanished(fact.pledgeId)
            }
            current = existing
        }

        // Names and messages arrive only with PLEDGE_CREATED, whenever it comes; payment ids with payment events.
        if let details {
            try await db.raw("""
                UPDATE campaign_pledges
                SET details_known = 1, anonymous = \(bind: details.anonymous ? 1 : 0), donor_name = \(bind: details.donorName),
                    message = \(bind: details.message)
                WHERE pledge_id = \(bind: fact.pledgeId)
                """).run()
        }
        if let paymentId = fact.paymentId {
            try await db.raw("""
                UPDATE campaign_pledges SET payment_id = \(bind: paymentId) WHERE pledge_id = \(bind: fact.pledgeId) AND payment_id IS NULL
                """).run()
        }
        guard current.status.canAdvance(to: fact.status) else { return .noChange }

        try await db.raw("""
            UPDATE campaign_pledges SET status = \(bind: fact.status.rawValue), updated_at = \(bind: now)
            WHERE pledge_id = \(bind: fact.pledgeId)
            """).run()
        // The amount that moves is the one the pledge was first counted with.
        var delta = RollupDelta()
        delta.add(-current.amount, to: current.status)
        delta.add(current.amount, to: fact.status)
        delta.totalPayments = fact.status == .captured ? 1 : 0
        try await RollupWriter.apply(delta, campaignId: current.campaignId, on: db, now: now)
        return .statusRaised
    }

    private func lockPledge(_ pledgeId: String, on db: any SQLDatabase, kind: DatabaseKind) async throws -> (status: PledgeStatus, amount: Int64, campaignId: String)? {
        let lock: SQLQueryString = kind == .postgres ? " FOR UPDATE" : ""
        guard let row = try await db.raw("""
            SELECT status, amount, campaign_id FROM campaign_pledges WHERE pledge_id = \(bind: pledgeId)\(lock)
            """).first()
        else { return nil }
        guard let status = PledgeStatus(rawValue: try row.decode(column: "status", as: String.self)) else {
            throw ProjectionError.corruptStatus(pledgeId)
        }
        return (status, try row.decode(column: "amount", as: Int64.self), try row.decode(column: "campaign_id", as: String.self))
    }
}

/// The donor-facing details only PLEDGE_CREATED carries.
struct PledgeDetails {
    let anonymous: Bool
    let donorName: String?
    let message: String?

    init?(_ data: EventData) {
        guard case .pledgeCreated(let created) = data else { return nil }
        self.anonymous = created.anonymous
        self.donorName = created.donorName
        self.message = created.message
    }
}

enum ProjectionError: Error {
    case pledgeVanished(String)
    case corruptStatus(String)
}

/// Changes to one campaign's rollup row.
struct RollupDelta: Equatable {
    var pending: Int64 = 0
    var authorized: Int64 = 0
    var captured: Int64 = 0
    var failed: Int64 = 0
    var totalPledges: Int64 = 0
    var totalPayments: Int64 = 0

    mutating func add(_ amount: Int64, to status: PledgeStatus) {
        switch status {
        case .pending: pending += amount
        case .authorized: authorized += amount
        case .captured: captured += amount
        case .failed: failed += amount
        }
    }
}

enum RollupWriter {
    /// Adds the delta in one statement (an atomic increment). The row exists: it is made with the
    /// campaign, or with the campaign's first pledge (`ensureRow`).
    static func apply(_ delta: RollupDelta, campaignId: String, on db: any SQLDatabase, now: String) async throws {
        try await db.raw("""
            UPDATE campaign_rollups SET
                pending_amount = pending_amount + \(bind: delta.pending),
                authorized_amount = authorized_amount + \(bind: delta.authorized),
                captured_amount = captured_amount + \(bind: delta.captured),
                failed_amount = failed_amount + \(bind: delta.failed),
                total_pledges = total_pledges + \(bind: delta.totalPledges),
                total_payments = total_payments + \(bind: delta.totalPayments),
                updated_at = \(bind: now)
            WHERE campaign_id = \(bind: campaignId)
            """).run()
    }

    static func ensureRow(campaignId: String, on db: any SQLDatabase, now: String) async throws {
        try await db.raw("""
            INSERT INTO campaign_rollups (campaign_id, updated_at) VALUES (\(bind: campaignId), \(bind: now))
            ON CONFLICT (campaign_id) DO NOTHING
            """).run()
    }
}

/// Event times arrive as RFC 3339 with or without fractional seconds; they are stored in one
/// fixed-width form so history sorts correctly.
enum EventTime {
    static func normalize(_ raw: String) -> String? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(raw) { return Timestamp.format(date) }
        if let date = try? Date.ISO8601FormatStyle().parse(raw) { return Timestamp.format(date) }
        return nil
    }
}
