import Contracts
import Foundation
import HTTPSupport
import Persistence
import SQLKit

/// A field of one pledge's projection that a rebuild changed.
public struct PledgeDifference: Sendable, Equatable, Codable {
    public let pledgeId: PledgeID
    public let field: String
    public let before: String?
    public let after: String?
}

/// What a rebuild from the event log found: the campaign's totals and projection before and
/// after replaying its events, and whether the result replaced the live read model.
public struct EventLogRebuild: Sendable, Equatable {
    public let campaignId: CampaignID
    public let before: CampaignTotals
    public let after: CampaignTotals
    public let differences: [PledgeDifference]
    public let events: Int
    public let swapped: Bool
}

/// Rebuilding a campaign's read model from its event log: the log is the record of everything
/// ingested, so replaying it through the same projector must give the live projection and rollup.
extension SQLCampaignStore {
    /// Thrown to roll a dry run back after it measured the replay.
    struct DryRun: Error {
        let report: EventLogRebuild
    }

    /// In one transaction, under the rollup's row lock: the campaign's projection, rollup and
    /// history are emptied, its logged events are applied again by the projector (in the order
    /// and with the arrival times they were first received), and the outcome is compared with
    /// what was there. A dry run rolls everything back and only reports; otherwise the replayed
    /// read model is the live one when the transaction commits.
    public func rebuildFromEvents(campaignId: CampaignID, dryRun: Bool, at time: String) async throws -> EventLogRebuild {
        let dialect = database.dialect
        let projector = EventProjector()
        do {
            return try await database.transaction { db in
                try await RollupWriter.ensureRow(campaignId: campaignId, on: db, now: time)
                let lock = dialect.rowLock
                let beforeTotals = try Self.totals(try await db.raw("SELECT * FROM campaign_rollups WHERE campaign_id = \(bind: campaignId)\(lock)").first()!)
                let beforePledges = try await Self.projection(campaignId, on: db)

                var logged: [(receivedAt: String, event: EventEnvelope)] = []
                for row in try await db.raw("""
                    SELECT received_at, payload FROM campaign_event_log WHERE campaign_id = \(bind: campaignId) ORDER BY received_at, event_id
                    """).all() {
                    let payload = Data(try row.decode(column: "payload", as: String.self).utf8)
                    logged.append((try row.decode(column: "received_at", as: String.self), try WireCoding.decoder.decode(EventEnvelope.self, from: payload)))
                }
                try await db.raw("DELETE FROM donation_history WHERE campaign_id = \(bind: campaignId)").run()
                try await db.raw("DELETE FROM campaign_pledges WHERE campaign_id = \(bind: campaignId)").run()
                try await db.raw("DELETE FROM campaign_event_log WHERE campaign_id = \(bind: campaignId)").run()
                try await db.raw("""
                    UPDATE campaign_rollups SET pending_amount = 0, authorized_amount = 0, captured_amount = 0, failed_amount = 0, refunded_amount = 0,
                        total_pledges = 0, total_payments = 0, updated_at = \(bind: time)
                    WHERE campaign_id = \(bind: campaignId)
                    """).run()
                // As they arrived: the events of each arrival together (at most 500 at a time), with their arrival time.
                var start = logged.startIndex
                while start < logged.endIndex {
                    var end = start
                    while end < logged.endIndex, logged[end].receivedAt == logged[start].receivedAt, end - start < 500 { end += 1 }
                    _ = try await projector.apply(logged[start..<end].map(\.event), on: db, dialect: dialect, receivedAt: logged[start].receivedAt)
                    start = end
                }

                let afterTotals = try Self.totals(try await db.raw("SELECT * FROM campaign_rollups WHERE campaign_id = \(bind: campaignId)").first()!)
                let afterPledges = try await Self.projection(campaignId, on: db)
                let differences = Self.differences(beforePledges, afterPledges)
                let changed = beforeTotals != afterTotals || !differences.isEmpty
                let report = EventLogRebuild(
                    campaignId: campaignId, before: beforeTotals, after: afterTotals, differences: differences, events: logged.count,
                    swapped: !dryRun && changed
                )
                if dryRun { throw DryRun(report: report) }
                return report
            }
        } catch let dry as DryRun {
            return dry.report
        }
    }

    /// The fields of each pledge's projection a replay may change.
    static func projection(_ campaignId: CampaignID, on db: any SQLDatabase) async throws -> [PledgeID: [String: String?]] {
        var pledges: [PledgeID: [String: String?]] = [:]
        for row in try await db.raw("""
            SELECT pledge_id, status, amount, refunded_amount, payment_id FROM campaign_pledges WHERE campaign_id = \(bind: campaignId)
            """).all() {
            pledges[try row.decode(column: "pledge_id", known: PledgeID.self)] = [
                "status": try row.decode(column: "status", as: String.self),
                "amount": String(try row.decode(column: "amount", as: Int64.self)),
                "refunded_amount": String(try row.decode(column: "refunded_amount", as: Int64.self)),
                "payment_id": try row.decode(column: "payment_id", as: String?.self),
            ]
        }
        return pledges
    }

    /// Each field that differs, pledge by pledge in id order; a pledge one side lacks differs in every field.
    static func differences(_ before: [PledgeID: [String: String?]], _ after: [PledgeID: [String: String?]]) -> [PledgeDifference] {
        var differences: [PledgeDifference] = []
        for pledgeId in Set(before.keys).union(after.keys).sorted() {
            let old = before[pledgeId] ?? [:]
            let new = after[pledgeId] ?? [:]
            for field in Set(old.keys).union(new.keys).sorted() {
                let (was, now) = (old[field] ?? nil, new[field] ?? nil)
                if was != now { differences.append(PledgeDifference(pledgeId: pledgeId, field: field, before: was, after: now)) }
            }
        }
        return differences
    }
}
