import CoreMetrics
import Contracts
import Foundation
import HTTPSupport
import Logging
import Observability
import Operations
import Outbox
import Persistence
import SQLKit

/// One difference a reconciliation found: `field` as the publisher records it (`expected`) and as
/// campaign-service does (`actual`), with the pledges that differ.
public struct Drift: Codable, Sendable, Equatable {
    public let campaignId: CampaignID
    public let field: String
    public let expected: Int64
    public let actual: Int64
    public var pledgeIds: [PledgeID]

    enum CodingKeys: String, CodingKey {
        case campaignId = "campaign_id", field, expected, actual, pledgeIds = "pledge_ids"
    }
}

/// One reconciliation, as kept and listed.
public struct ReconciliationRun: Codable, Sendable, Equatable {
    public let runId: String
    public let startedAt: String
    public let finishedAt: String
    public let campaignsChecked: Int
    public let drift: [Drift]
    /// The publishers were asked to send the drifting pledges' events again.
    public let repaired: Bool
    public let resent: Int
    /// Campaigns that could not be checked (a publisher did not answer), with why.
    public let errors: [String]

    enum CodingKeys: String, CodingKey {
        case runId = "run_id", startedAt = "started_at", finishedAt = "finished_at", campaignsChecked = "campaigns_checked", drift, repaired
        case resent, errors
    }
}

/// Compares, campaign by campaign, what pledge-service and payment-service record with the read
/// model: pledge counts and sums by status and refunds (pledge-service against the projection),
/// captured and refunded money and captured payments (payment-service against the rollup), and
/// the rollup against the projection. A campaign that differs is checked again after
/// `confirmAfter`, so events still on their way are not drift; what still differs is named down to
/// the pledges. With `repair`, the publishers send those pledges' events again (campaign-service
/// drops what it has). Each run is kept, counted in `reconciliation_drift`, and when it found
/// drift, told to the admins by mail (`RECONCILIATION_DRIFT`).
public struct Reconciler: Sendable {
    let database: any DatabaseClient
    let ledgers: any CampaignLedgers
    let confirmAfter: Duration
    /// Wakes the outbox relay when a drift notice is written.
    let signal: QueueSignal?
    let clock: any StoreClock
    let metrics: ServiceMetrics
    let logger: Logger

    public init(
        database: any DatabaseClient, ledgers: any CampaignLedgers, confirmAfter: Duration = .seconds(3), signal: QueueSignal? = nil,
        clock: any StoreClock, metrics: ServiceMetrics, logger: Logger
    ) {
        self.database = database
        self.ledgers = ledgers
        self.confirmAfter = confirmAfter
        self.signal = signal
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
    }

    /// One run, in a `reconciliation.run` span (its ledger calls are client spans under it).
    public func run(repair: Bool) async throws -> ReconciliationRun {
        try await Trace.span("reconciliation.run") { span in
            span.set("reconciliation.repair", repair)
            let run = try await check(repair: repair)
            span.set("reconciliation.campaigns", run.campaignsChecked)
            span.set("reconciliation.drift", run.drift.count)
            span.set("reconciliation.resent", run.resent)
            return run
        }
    }

    func check(repair: Bool) async throws -> ReconciliationRun {
        let started = clock.timestamp()
        let campaignIds = try await database.withConnection { db in
            try await db.raw("SELECT id FROM campaigns ORDER BY id").all().map { try $0.decode(column: "id", known: CampaignID.self) }
        }
        var drift: [Drift] = []
        var errors: [String] = []
        for campaignId in campaignIds {
            do {
                var found = try await differences(campaignId)
                if !found.isEmpty && confirmAfter > .zero {
                    try await Task.sleep(for: confirmAfter)
                    found = try await differences(campaignId)
                }
                guard !found.isEmpty else { continue }
                let pledgeIds = try await driftingPledges(campaignId)
                drift += found.map { var entry = $0; entry.pledgeIds = pledgeIds; return entry }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                errors.append("\(campaignId): \(error)")
            }
        }
        var resent = 0
        if repair {
            for (campaignId, pledgeIds) in Dictionary(grouping: drift, by: \.campaignId).mapValues({ Array(Set($0.flatMap(\.pledgeIds))).sorted() }) {
                guard !pledgeIds.isEmpty else { continue }
                do {
                    for source in LedgerSource.allCases { resent += try await ledgers.resend(source, pledgeIds: pledgeIds) }
                } catch {
                    errors.append("\(campaignId): repair: \(error)")
                }
            }
        }
        let run = ReconciliationRun(
            runId: UUID().uuidString.lowercased(), startedAt: started, finishedAt: clock.timestamp(), campaignsChecked: campaignIds.count,
            drift: drift, repaired: repair, resent: resent, errors: errors
        )
        try await keep(run)
        metrics.gauge(.reconciliationDrift).record(drift.count)
        metrics.counter(.reconciliationRunsTotal, [("result", drift.isEmpty ? "clean" : "drift")]).increment()
        if drift.isEmpty {
            logger.info("reconciliation found no drift", metadata: ["campaigns": .stringConvertible(campaignIds.count), "run_id": .string(run.runId)])
        } else {
            logger.warning("reconciliation found drift", metadata: [
                "run_id": .string(run.runId), "drift": .stringConvertible(drift.count), "repaired": .stringConvertible(repair),
                "resent": .stringConvertible(resent),
            ])
        }
        return run
    }

    /// The campaign's differences, without pledge ids.
    func differences(_ campaignId: CampaignID) async throws -> [Drift] {
        async let pledges = ledgers.ledger(.pledges, campaignId: campaignId, entries: false, after: nil)
        async let payments = ledgers.ledger(.payments, campaignId: campaignId, entries: false, after: nil)
        let (projection, rollup, fromProjection) = try await database.withConnection { db in
            let groups = try await LedgerQuery.projection.summarize(campaignId: campaignId, on: db)
            let rollup = try await db.raw("SELECT * FROM campaign_rollups WHERE campaign_id = \(bind: campaignId)").first()
                .map(SQLCampaignStore.totals) ?? CampaignTotals()
            return (groups, rollup, try await SQLCampaignStore.totalsFromProjection(campaignId, on: db))
        }
        let (pledgeLedger, paymentLedger) = try await (pledges, payments)
        var found: [Drift] = []
        func compare(_ field: String, expected: Int64, actual: Int64) {
            if expected != actual { found.append(Drift(campaignId: campaignId, field: field, expected: expected, actual: actual, pledgeIds: [])) }
        }
        // pledge-service against the projection.
        let counts = Dictionary(uniqueKeysWithValues: projection.map { ($0.status.rawValue, $0.count) })
        let amounts = Dictionary(uniqueKeysWithValues: projection.map { ($0.status.rawValue, $0.amount) })
        for status in PledgeStatus.allCases.map(\.rawValue) {
            compare("pledges.count.\(status)", expected: pledgeLedger.counts[status] ?? 0, actual: counts[status] ?? 0)
            compare("pledges.amount.\(status)", expected: pledgeLedger.amounts[status] ?? 0, actual: amounts[status] ?? 0)
        }
        compare("pledges.refunded_amount", expected: pledgeLedger.refundedAmount, actual: projection.reduce(0) { $0 + $1.refunded })
        // payment-service against the rollup.
        let settled = [PledgeStatus.captured.rawValue, PledgeStatus.refunded.rawValue]
        let paid = settled.reduce(Int64(0)) { $0 + (paymentLedger.amounts[$1] ?? 0) }
        compare("payments.captured_amount", expected: paid - paymentLedger.refundedAmount, actual: rollup.capturedAmount)
        compare("payments.refunded_amount", expected: paymentLedger.refundedAmount, actual: rollup.refundedAmount)
        compare("payments.count", expected: settled.reduce(Int64(0)) { $0 + (paymentLedger.counts[$1] ?? 0) }, actual: rollup.totalPayments)
        // The rollup against the projection it sums.
        compare("rollup.pending_amount", expected: fromProjection.pendingAmount, actual: rollup.pendingAmount)
        compare("rollup.authorized_amount", expected: fromProjection.authorizedAmount, actual: rollup.authorizedAmount)
        compare("rollup.captured_amount", expected: fromProjection.capturedAmount, actual: rollup.capturedAmount)
        compare("rollup.failed_amount", expected: fromProjection.failedAmount, actual: rollup.failedAmount)
        compare("rollup.refunded_amount", expected: fromProjection.refundedAmount, actual: rollup.refundedAmount)
        compare("rollup.total_pledges", expected: fromProjection.totalPledges, actual: rollup.totalPledges)
        compare("rollup.total_payments", expected: fromProjection.totalPayments, actual: rollup.totalPayments)
        return found
    }

    /// The pledges the publishers and the projection disagree about, in id order (at most 100).
    func driftingPledges(_ campaignId: CampaignID) async throws -> [PledgeID] {
        async let pledgeEntries = ledgers.allEntries(.pledges, campaignId: campaignId)
        async let paymentEntries = ledgers.allEntries(.payments, campaignId: campaignId)
        let projected = try await database.withConnection { db in
            var rows: [PledgeID: LedgerEntry] = [:]
            var after: PledgeID?
            repeat {
                let page = try await LedgerQuery.projection.page(campaignId: campaignId, after: after, limit: 1000, on: db)
                for row in page.prefix(1000) {
                    rows[row.pledgeId] = LedgerEntry(pledgeId: row.pledgeId, status: row.status, amount: row.amount, refundedAmount: row.refunded)
                }
                after = page.count > 1000 ? page[999].pledgeId : nil
            } while after != nil
            return rows
        }
        let (pledges, payments) = try await (pledgeEntries, paymentEntries)
        var drifting = Set<PledgeID>()
        let known = Set(pledges.map(\.pledgeId))
        for entry in pledges where projected[entry.pledgeId] != entry { drifting.insert(entry.pledgeId) }
        for pledgeId in projected.keys where !known.contains(pledgeId) { drifting.insert(pledgeId) }
        for payment in payments where payment.status == .captured || payment.status == .refunded {
            guard let row = projected[payment.pledgeId], row.status == .captured || row.status == .refunded, row.refundedAmount >= payment.refundedAmount
            else {
                drifting.insert(payment.pledgeId)
                continue
            }
        }
        return Array(drifting.sorted().prefix(100))
    }

    /// Keeps the run and, when it found drift, writes the admins' notice in the same transaction.
    func keep(_ run: ReconciliationRun) async throws {
        let drift = String(decoding: try WireCoding.encoder.encode(run.drift), as: UTF8.self)
        let errors = String(decoding: try WireCoding.encoder.encode(run.errors), as: UTF8.self)
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO reconciliation_runs (id, started_at, finished_at, campaigns_checked, drift_count, drift, repaired, resent, errors)
                VALUES (\(bind: run.runId), \(bind: run.startedAt), \(bind: run.finishedAt), \(bind: run.campaignsChecked), \(bind: run.drift.count),
                        \(bind: drift), \(bind: run.repaired ? 1 : 0), \(bind: run.resent), \(bind: errors))
                """).run()
            guard !run.drift.isEmpty else { return }
            let notice = NotificationEnvelope(
                eventId: UUID().uuidString.lowercased(), source: "campaign-service", occurredAt: run.finishedAt,
                data: .reconciliationDrift(ReconciliationDrift(
                    runId: run.runId, startedAt: run.startedAt,
                    drift: run.drift.map { ReconciliationDrift.Entry(campaignId: $0.campaignId, field: $0.field, expected: $0.expected, actual: $0.actual, pledgeIds: $0.pledgeIds) }
                ))
            )
            try await Outbox.enqueue([try OutboxEntry(notice, destination: .notificationEvents)], on: db, now: run.finishedAt)
        }
        if !run.drift.isEmpty { signal?.notify() }
    }

    /// Kept runs, newest first, `limit + 1` after `cursor`.
    public func runs(limit: Int, after cursor: PageCursor?) async throws -> [ReconciliationRun] {
        try await database.withConnection { db in
            var query: SQLQueryString = "SELECT id, started_at, finished_at, campaigns_checked, drift, repaired, resent, errors FROM reconciliation_runs"
            if let cursor {
                query += " WHERE started_at < \(bind: cursor.sortKey) OR (started_at = \(bind: cursor.sortKey) AND id < \(bind: cursor.id))"
            }
            query += " ORDER BY started_at DESC, id DESC LIMIT \(bind: limit + 1)"
            return try await db.raw(query).all().map { row in
                ReconciliationRun(
                    runId: try row.decode(column: "id", as: String.self), startedAt: try row.decode(column: "started_at", as: String.self),
                    finishedAt: try row.decode(column: "finished_at", as: String.self),
                    campaignsChecked: try row.decode(column: "campaigns_checked", as: Int.self),
                    drift: try WireCoding.decoder.decode([Drift].self, from: Data(try row.decode(column: "drift", as: String.self).utf8)),
                    repaired: try row.decode(column: "repaired", as: Int.self) != 0, resent: try row.decode(column: "resent", as: Int.self),
                    errors: try WireCoding.decoder.decode([String].self, from: Data(try row.decode(column: "errors", as: String.self).utf8))
                )
            }
        }
    }
}
