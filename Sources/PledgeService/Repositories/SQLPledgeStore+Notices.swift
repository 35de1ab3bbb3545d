import Contracts
import Foundation
import HTTPSupport
import Outbox
import Persistence
import SQLKit

/// Payment notices and receipts: how a pledge moves when payment-service reports on its payment,
/// with its transitions, PLEDGE_STATUS_CHANGED, DONATION_NOTICE and receipt number in the same
/// transaction.
extension SQLPledgeStore {
    public func applyPaymentNotices(_ notices: [PaymentStatusNotice], source: String) async throws -> [IngestOutcome] {
        guard !notices.isEmpty else { return [] }
        let dialect = database.dialect
        let now = clock.timestamp()
        let donationNotices = self.notices
        let (outcomes, applied) = try await database.retryingTransaction { db -> ([IngestOutcome], Bool) in
            let lock = dialect.rowLock
            // The pledges first, in id order: their row locks order every notice about them,
            // duplicates included, and concurrent batches wait for each other instead of deadlocking.
            let pledgeIds = Array(Set(notices.map(\.pledgeId))).sorted()
            var pledges: [PledgeID: Pledge] = [:]
            for row in try await db.raw("SELECT \(Self.columns) FROM pledges WHERE id IN (\(binds: pledgeIds)) ORDER BY id\(lock)").all() {
                let pledge = try Self.pledge(row)
                pledges[pledge.id] = pledge
            }
            let eventIds = Array(Set(notices.map(\.eventId)))
            var seen = Set(try await db.raw("SELECT event_id FROM payment_webhook_events WHERE event_id IN (\(binds: eventIds))").all()
                .map { try $0.decode(column: "event_id", as: String.self) })

            var outcomes: [IngestOutcome] = []
            var recorded: [SQLQueryString] = []
            var transitions: [SQLQueryString] = []
            var events: [OutboxEntry] = []
            var changed: [PledgeID: PledgeStatus] = [:]
            var touched: Set<PledgeID> = []
            // The mails each applied notice calls for, with the trace of the change.
            var mails: [(pledgeId: PledgeID, kind: DonationNotice.Kind, traceParent: String?)] = []
            for notice in notices {
                guard var pledge = pledges[notice.pledgeId] else {
                    outcomes.append(.rejected(notice.eventId, "unknown pledge"))
                    continue
                }
                guard seen.insert(notice.eventId).inserted else {
                    outcomes.append(IngestOutcome(eventId: notice.eventId, result: .duplicate, status: pledge.status))
                    continue
                }
                var state = PledgeState(status: pledge.status, refundedAmount: pledge.refundedAmount.minorUnits, amount: pledge.amount.minorUnits)
                let before = (status: pledge.status, refunded: pledge.refundedAmount.minorUnits)
                let change = state.take(notice.status, refunded: notice.refundedAmount ?? 0)
                for kind in DonationNotices.kinds(from: before, to: (state.status, state.refundedAmount)) {
                    mails.append((pledge.id, kind, notice.traceParent))
                }
                let result: IngestResult = change.changed ? .applied : .ignored
                pledge.status = state.status
                pledge.refundedAmount = pledge.amount.with(minorUnits: state.refundedAmount)
                if let from = change.movedFrom {
                    changed[pledge.id] = state.status
                    transitions.append(Self.transitionRow(pledgeId: pledge.id, from: from, to: state.status, at: now))
                    events.append(try OutboxEntry(EventEnvelope(
                        eventId: UUID().uuidString.lowercased(), type: .pledgeStatusChanged, source: source, occurredAt: now,
                        traceParent: notice.traceParent,
                        data: .pledgeStatusChanged(PledgeStatusChanged(
                            pledgeId: pledge.id, campaignId: pledge.campaignId, previousStatus: from, newStatus: state.status,
                            amount: pledge.amount.minorUnits, currency: pledge.currency
                        ))
                    ), destination: .campaignEvents))
                }
                if result == .applied {
                    pledges[pledge.id] = pledge
                    touched.insert(pledge.id)
                }
                recorded.append("(\(bind: notice.eventId), \(bind: pledge.id), \(bind: notice.status.rawValue), \(bind: result.rawValue), \(bind: now))")
                outcomes.append(IngestOutcome(eventId: notice.eventId, result: result, status: pledge.status))
            }
            if !recorded.isEmpty {
                let inserted = try await db.raw("""
                    INSERT INTO payment_webhook_events (event_id, pledge_id, status, result, received_at)
                    VALUES \(recorded.joined(separator: ", "))
                    ON CONFLICT (event_id) DO NOTHING
                    RETURNING event_id
                    """).all()
                // A notice recorded meanwhile by a transaction that did not touch these pledges.
                guard inserted.count == recorded.count else { throw TransactionConflict("a notice was recorded concurrently") }
            }
            if !touched.isEmpty {
                let ids = touched.sorted()
                let statuses = ids.map { "WHEN \(bind: $0) THEN \(bind: pledges[$0]!.status.rawValue)" as SQLQueryString }
                let refunds = ids.map { "WHEN \(bind: $0) THEN \(bind: pledges[$0]!.refundedAmount.minorUnits)" as SQLQueryString }
                try await db.raw("""
                    UPDATE pledges SET status = CASE id \(statuses.joined(separator: " ")) END,
                        refunded_amount = CASE id \(refunds.joined(separator: " ")) END, updated_at = \(bind: now)
                    WHERE id IN (\(binds: ids))
                    """).run()
            }
            if !changed.isEmpty {
                try await db.raw("""
                    INSERT INTO pledge_transitions (id, pledge_id, from_status, to_status, at) VALUES \(transitions.joined(separator: ", "))
                    """).run()
                try await Outbox.enqueue(events, on: db, now: now)
                // A refund implies the capture: a pledge refunded before its capture was reported gets its receipt too.
                try await Self.issueReceipts(for: changed.keys.sorted().filter { [.captured, .refunded].contains(changed[$0]!) }, at: now, on: db)
            }
            if let donationNotices, !mails.isEmpty {
                let receipts = try await Self.receipts(pledgeIds: Array(Set(mails.map(\.pledgeId))), on: db)
                let entries = try mails.compactMap { mail in
                    try donationNotices.entry(
                        mail.kind, pledge: pledges[mail.pledgeId]!, receiptNumber: receipts[mail.pledgeId]?.number, traceParent: mail.traceParent, now: now
                    )
                }
                try await Outbox.enqueue(entries, on: db, now: now)
            }
            return (outcomes, !changed.isEmpty || !mails.isEmpty)
        }
        if applied { signal.notify() }
        return outcomes
    }

    /// A receipt for each newly captured pledge, in id order; one that has a receipt keeps it.
    static func issueReceipts(for pledgeIds: [PledgeID], at time: String, on db: any SQLDatabase) async throws {
        guard !pledgeIds.isEmpty else { return }
        let year = Int(time.prefix(4)) ?? 1970
        let rows = pledgeIds.map { "(\(bind: $0), \(bind: year), \(bind: time), \(bind: time))" as SQLQueryString }
        try await db.raw("""
            INSERT INTO receipts (pledge_id, year, captured_at, issued_at) VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (pledge_id) DO NOTHING
            """).run()
    }

    public func receipts(pledgeIds: [PledgeID]) async throws -> [PledgeID: Receipt] {
        try await database.withConnection { try await Self.receipts(pledgeIds: pledgeIds, on: $0) }
    }

    static func receipts(pledgeIds: [PledgeID], on db: any SQLDatabase) async throws -> [PledgeID: Receipt] {
        guard !pledgeIds.isEmpty else { return [:] }
        var receipts: [PledgeID: Receipt] = [:]
        for row in try await db.raw("""
            SELECT pledge_id, sequence, year, captured_at, issued_at FROM receipts WHERE pledge_id IN (\(binds: pledgeIds))
            """).all() {
            let receipt = Receipt(
                pledgeId: try row.decode(column: "pledge_id", known: PledgeID.self), sequence: try row.decode(column: "sequence", as: Int64.self),
                year: try row.decode(column: "year", as: Int.self), capturedAt: try row.decode(column: "captured_at", as: String.self),
                issuedAt: try row.decode(column: "issued_at", as: String.self)
            )
            receipts[receipt.pledgeId] = receipt
        }
        return receipts
    }
}
