import Contracts
import Foundation
import HTTPSupport
import SMTP

/// A mail to write for an event, before it is stored.
public struct ComposedMail: Sendable, Equatable {
    public let kind: MailKind
    public let subjectId: String
    public let recipients: [MailAddress]
    public let subject: String
    public let text: String
    public let html: String
}

/// Turns an event into the mail it calls for: the words, in plain text and in HTML (every value
/// escaped), with amounts in the currency's own format and links to the public site.
public struct MailComposer: Sendable {
    public let publicBaseURL: String
    /// Told when a campaign reaches its goal.
    public let adminEmails: [MailAddress]

    public init(publicBaseURL: String, adminEmails: [MailAddress]) {
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        self.adminEmails = adminEmails
    }

    /// Why an event makes no mail.
    public enum Skip: Error, Equatable {
        case noRecipient(String)
    }

    public func compose(_ event: NotificationEnvelope) throws(Skip) -> ComposedMail {
        switch event.data {
        case .donationNotice(let notice): try donation(notice)
        case .campaignGoalReached(let goal): try goalReached(goal)
        case .reconciliationDrift(let drift): try reconciliationDrift(drift)
        }
    }

    func donation(_ notice: DonationNotice) throws(Skip) -> ComposedMail {
        guard let to = MailAddress(notice.donorEmail, name: notice.donorName) else {
            throw .noRecipient("donor_email is not an address mail can go to")
        }
        let amount = notice.currency.format(notice.amount)
        let campaign = notice.campaignTitle.map { "\u{201C}\($0)\u{201D}" } ?? "a CareForAll campaign"
        let subject: String
        var paragraphs: [Paragraph]
        switch notice.kind {
        case .receipt:
            subject = "Your donation receipt" + (notice.receiptNumber.map { " \($0)" } ?? "")
            paragraphs = [
                .text("Thank you for your donation of \(amount) to \(campaign). Your payment was received."),
                .text("Receipt number: \(notice.receiptNumber ?? "issued shortly")"),
            ]
            if let url = notice.receiptUrl { paragraphs.append(.link("View or print your receipt", url)) }
        case .paymentFailed:
            subject = "Your donation could not be completed"
            paragraphs = [
                .text("The payment of your donation of \(amount) to \(campaign) did not go through, and nothing was charged."),
                .link("You can try again with another card", publicBaseURL + "/#/campaigns/" + notice.campaignId.rawValue),
            ]
        case .refunded:
            let refunded = notice.currency.format(notice.refundedAmount)
            subject = notice.refundedAmount >= notice.amount ? "Your donation was refunded" : "Part of your donation was refunded"
            paragraphs = [
                .text("\(refunded) of your donation of \(amount) to \(campaign) has been refunded to your card. It may take a few days to show."),
            ]
            if let url = notice.receiptUrl { paragraphs.append(.link("Your receipt shows the refund", url)) }
        }
        return render(kind: MailKind(notice.kind), subjectId: notice.pledgeId.rawValue, to: [to], subject: subject, greeting: "Dear \(notice.donorName),", paragraphs)
    }

    func goalReached(_ goal: CampaignGoalReached) throws(Skip) -> ComposedMail {
        guard !adminEmails.isEmpty else { throw .noRecipient("NOTIFY_ADMIN_EMAILS names nobody") }
        let paragraphs: [Paragraph] = [
            .text("\u{201C}\(goal.title)\u{201D} has reached its goal: \(goal.currency.format(goal.capturedAmount)) raised of \(goal.currency.format(goal.goalAmount))."),
            .link("See the campaign", publicBaseURL + "/#/campaigns/" + goal.campaignId.rawValue),
        ]
        return render(
            kind: .goalReached, subjectId: goal.campaignId.rawValue, to: adminEmails, subject: "Goal reached: \(goal.title)", greeting: "Hello,", paragraphs
        )
    }

    func reconciliationDrift(_ run: ReconciliationDrift) throws(Skip) -> ComposedMail {
        guard !adminEmails.isEmpty else { throw .noRecipient("NOTIFY_ADMIN_EMAILS names nobody") }
        let campaigns = Set(run.drift.map(\.campaignId)).count
        var paragraphs: [Paragraph] = [
            .text("The reconciliation of \(run.startedAt) found \(run.drift.count) difference(s) in \(campaigns) campaign(s) between what pledge- and payment-service record and the campaign totals:"),
        ]
        for entry in run.drift.prefix(50) {
            let pledges = entry.pledgeIds.isEmpty ? "" : " (pledges \(entry.pledgeIds.prefix(10).map(\.rawValue).joined(separator: ", "))\(entry.pledgeIds.count > 10 ? ", ..." : ""))"
            paragraphs.append(.text("Campaign \(entry.campaignId): \(entry.field) is \(entry.actual), expected \(entry.expected)\(pledges)."))
        }
        paragraphs.append(.link("See the run and repair it in the admin panel", publicBaseURL + "/#/admin"))
        return render(
            kind: .reconciliationDrift, subjectId: run.runId, to: adminEmails, subject: "Reconciliation found drift in \(campaigns) campaign(s)",
            greeting: "Hello,", paragraphs
        )
    }

    enum Paragraph {
        case text(String)
        case link(String, String)
    }

    func render(kind: MailKind, subjectId: String, to: [MailAddress], subject: String, greeting: String, _ paragraphs: [Paragraph]) -> ComposedMail {
        let signature = "The CareForAll team"
        let text = ([greeting] + paragraphs.map { paragraph in
            switch paragraph {
            case .text(let text): text
            case .link(let label, let url): "\(label): \(url)"
            }
        } + [signature]).joined(separator: "\n\n") + "\n"
        let body = paragraphs.map { paragraph in
            switch paragraph {
            case .text(let text): "<p>\(HTML.escape(text))</p>"
            case .link(let label, let url): "<p><a href=\"\(HTML.escape(url))\">\(HTML.escape(label))</a></p>"
            }
        }.joined(separator: "\n")
        let html = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>\(HTML.escape(subject))</title></head>
            <body style="font-family: system-ui, sans-serif; color: #1d2433; max-width: 36rem">
            <p>\(HTML.escape(greeting))</p>
            \(body)
            <p>\(HTML.escape(signature))</p>
            </body></html>
            """
        return ComposedMail(kind: kind, subjectId: subjectId, recipients: to, subject: subject, text: text, html: html + "\n")
    }
}
