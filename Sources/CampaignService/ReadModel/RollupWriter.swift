import Contracts
import Foundation
import Persistence
import SQLKit

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

/// Changes to one campaign's rollup row.
struct RollupDelta: Equatable {
    var pending: Int64 = 0
    var authorized: Int64 = 0
    var captured: Int64 = 0
    var failed: Int64 = 0
    var refunded: Int64 = 0
    var totalPledges: Int64 = 0
    var totalPayments: Int64 = 0

    /// What one pledge adds to its campaign's rollup: its amount in its status's bucket, less
    /// what was given back, which sits in `refunded`; a payment once it was captured.
    static func of(status: PledgeStatus, amount: Int64, refunded: Int64) -> RollupDelta {
        var delta = RollupDelta(totalPledges: 1)
        switch status {
        case .pending: delta.pending = amount
        case .authorized: delta.authorized = amount
        case .failed: delta.failed = amount
        case .captured:
            let given = min(max(refunded, 0), amount)
            delta.captured = amount - given
            delta.refunded = given
            delta.totalPayments = 1
        case .refunded:
            delta.refunded = amount
            delta.totalPayments = 1
        }
        return delta
    }

    /// Each bucket of `lhs` combined with the same bucket of `rhs`.
    static func combine(_ lhs: RollupDelta, _ rhs: RollupDelta, _ by: (Int64, Int64) -> Int64) -> RollupDelta {
        RollupDelta(
            pending: by(lhs.pending, rhs.pending), authorized: by(lhs.authorized, rhs.authorized), captured: by(lhs.captured, rhs.captured),
            failed: by(lhs.failed, rhs.failed), refunded: by(lhs.refunded, rhs.refunded), totalPledges: by(lhs.totalPledges, rhs.totalPledges),
            totalPayments: by(lhs.totalPayments, rhs.totalPayments)
        )
    }

    static func + (lhs: RollupDelta, rhs: RollupDelta) -> RollupDelta { combine(lhs, rhs, +) }
    static func - (lhs: RollupDelta, rhs: RollupDelta) -> RollupDelta { combine(lhs, rhs, -) }
}

enum RollupWriter {
    /// Adds the delta in one statement (an atomic increment). The row exists: it is made with the
    /// campaign, or with the campaign's first pledge (`ensureRow`).
    static func apply(_ delta: RollupDelta, campaignId: CampaignID, on db: any SQLDatabase, now: String) async throws {
        try await db.raw("""
            UPDATE campaign_rollups SET
                pending_amount = pending_amount + \(bind: delta.pending),
                authorized_amount = authorized_amount + \(bind: delta.authorized),
                captured_amount = captured_amount + \(bind: delta.captured),
                failed_amount = failed_amount + \(bind: delta.failed),
                refunded_amount = refunded_amount + \(bind: delta.refunded),
                total_pledges = total_pledges + \(bind: delta.totalPledges),
                total_payments = total_payments + \(bind: delta.totalPayments),
                updated_at = \(bind: now)
            WHERE campaign_id = \(bind: campaignId)
            """).run()
    }

    static func ensureRow(campaignId: CampaignID, on db: any SQLDatabase, now: String) async throws {
        try await db.raw("""
            INSERT INTO campaign_rollups (campaign_id, updated_at) VALUES (\(bind: campaignId), \(bind: now))
            ON CONFLICT (campaign_id) DO NOTHING
            """).run()
    }
}
