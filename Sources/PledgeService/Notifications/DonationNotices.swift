import Auth
import Contracts
import Foundation
import Outbox

/// The `DONATION_NOTICE`s pledge-service writes to its outbox for notification-service, in the
/// same transaction as the change they tell of: a receipt when a pledge is captured, a notice
/// when its payment failed, and one for each refund.
public struct DonationNotices: Sendable {
    /// `PUBLIC_BASE_URL`: receipt links in mail point there.
    let publicBaseURL: String
    /// A guest's link carries their receipt token, made again from the pledge id.
    let receiptTokens: ReceiptTokens

    public init(publicBaseURL: String, receiptTokens: ReceiptTokens) {
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        self.receiptTokens = receiptTokens
    }

    /// The kinds of mail a change of `before` to `after` calls for.
    static func kinds(from before: (status: PledgeStatus, refunded: Int64), to after: (status: PledgeStatus, refunded: Int64)) -> [DonationNotice.Kind] {
        var kinds: [DonationNotice.Kind] = []
        let wasCaptured = before.status == .captured || before.status == .refunded
        if !wasCaptured && (after.status == .captured || after.status == .refunded) { kinds.append(.receipt) }
        if before.status != .failed && after.status == .failed { kinds.append(.paymentFailed) }
        if after.refunded > before.refunded { kinds.append(.refunded) }
        return kinds
    }

    /// The receipt page of `pledge`: with the guest's token after the `#` (never sent to a server),
    /// when the token made again is the one the pledge was given.
    func receiptURL(for pledge: Pledge) -> String {
        let base = publicBaseURL + "/#/receipts/" + pledge.id.rawValue
        guard pledge.userId == nil else { return base }
        let token = receiptTokens.token(for: pledge.id)
        return ReceiptToken.matches(token, hash: pledge.receiptTokenHash) ? base + "/" + token : base
    }

    /// The notice of `kind` about `pledge`, or nil when there is nobody to write to.
    func entry(_ kind: DonationNotice.Kind, pledge: Pledge, receiptNumber: String?, traceParent: String?, now: String) throws -> OutboxEntry? {
        guard let email = pledge.guestEmail ?? pledge.accountEmail, !email.isEmpty else { return nil }
        let event = NotificationEnvelope(
            eventId: UUID().uuidString.lowercased(), source: "pledge-service", occurredAt: now, traceParent: traceParent,
            data: .donationNotice(DonationNotice(
                pledgeId: pledge.id, campaignId: pledge.campaignId, kind: kind, donorEmail: email, donorName: pledge.donorName,
                amount: pledge.amount.minorUnits, refundedAmount: pledge.refundedAmount.minorUnits, currency: pledge.currency, receiptNumber: receiptNumber,
                receiptUrl: kind == .paymentFailed ? nil : receiptURL(for: pledge)
            ))
        )
        return try OutboxEntry(event, destination: .notificationEvents)
    }
}
