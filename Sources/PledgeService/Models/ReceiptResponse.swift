import Contracts
import HTTPSupport
import Hummingbird

/// `GET /pledges/{id}/receipt`: what a donor keeps for their records.
public struct ReceiptResponse: ResponseEncodable, Decodable, Sendable, Equatable {
    public let receiptNumber: String
    public let pledgeId: PledgeID
    public let campaignId: CampaignID
    /// Null when campaign-service could not be asked just now.
    public let campaignTitle: String?
    public let donorName: String
    /// The guest's email, or a signed-in donor's own when they read it; null for an admin reading
    /// a registered donor's receipt (pledge-service does not keep users' emails).
    public let donorEmail: String?
    public let amount: Int64
    public let refundedAmount: Int64
    public let currency: String
    public let capturedAt: String
    public let issuedAt: String

    init(pledge: Pledge, receipt: Receipt, campaignTitle: String?, donorEmail: String?) {
        receiptNumber = receipt.number
        pledgeId = pledge.id
        campaignId = pledge.campaignId
        self.campaignTitle = campaignTitle
        donorName = pledge.donorName
        self.donorEmail = donorEmail
        amount = pledge.amount.minorUnits
        refundedAmount = pledge.refundedAmount.minorUnits
        currency = pledge.currency.rawValue
        capturedAt = receipt.capturedAt
        issuedAt = receipt.issuedAt
    }
}

/// The receipt as a printable page (`Accept: text/html`), and the page shown before there is one.
enum ReceiptPage {
    static func html(_ receipt: ReceiptResponse) -> String {
        let currency = Currency(rawValue: receipt.currency)
        let amount = currency?.format(receipt.amount) ?? "\(receipt.amount) \(receipt.currency)"
        var rows: [(String, String)] = [
            ("Receipt number", receipt.receiptNumber),
            ("Campaign", receipt.campaignTitle ?? receipt.campaignId.rawValue),
            ("Donor", receipt.donorName),
        ]
        if let email = receipt.donorEmail { rows.append(("Email", email)) }
        rows += [
            ("Amount", amount),
            ("Date of donation", String(receipt.capturedAt.prefix(10))),
            ("Issued", String(receipt.issuedAt.prefix(10))),
            ("Donation reference", receipt.pledgeId.rawValue),
        ]
        if receipt.refundedAmount > 0 {
            rows.append(("Refunded", currency?.format(receipt.refundedAmount) ?? "\(receipt.refundedAmount)"))
        }
        let table = rows.map { "<tr><th scope=\"row\">\(HTML.escape($0.0))</th><td>\(HTML.escape($0.1))</td></tr>" }.joined(separator: "\n")
        return page(title: "Receipt \(receipt.receiptNumber)", body: """
            <h1>Donation receipt</h1>
            <p class="number">\(HTML.escape(receipt.receiptNumber))</p>
            <table>
            \(table)
            </table>
            <p>Thank you for your donation to \(HTML.escape(receipt.campaignTitle ?? "this campaign")).</p>
            <p class="noprint muted">Keep this page, or print it with your browser's Print command.</p>
            """)
    }

    static func notYet() -> String {
        page(title: "No receipt yet", body: """
            <h1>No receipt yet</h1>
            <p>A receipt is issued once the payment is captured, which usually takes a moment.</p>
            <p class="noprint"><a href="">Try again</a></p>
            """)
    }

    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title)) · CareForAll</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
        h1 { margin-bottom: 0.25rem; }
        .number { font-size: 1.25rem; font-weight: 600; margin-top: 0; }
        table { border-collapse: collapse; width: 100%; margin: 1.5rem 0; }
        th, td { text-align: left; padding: 0.5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
        th { width: 40%; font-weight: 500; color: #555; }
        .muted { color: #555; }
        @media print { .noprint { display: none; } body { margin: 0; } }
        </style>
        </head>
        <body>
        <p><strong>CareForAll</strong></p>
        \(body)
        </body>
        </html>
        """
    }
}
