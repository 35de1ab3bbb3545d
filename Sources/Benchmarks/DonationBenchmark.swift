import ArgumentParser
import Foundation

/// Whole donations: a guest pledge through pledge-service, then its payment through
/// payment-service (sandbox: authorize and capture), `concurrency` donors at a time; then the
/// wait until campaign-service has counted every captured payment (both outboxes drained).
struct DonationBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "donations", abstract: "Pledge + payment, end to end.")

    @Option(help: "user-service base URL") var userURL = "http://127.0.0.1:3004"
    @Option(help: "campaign-service base URL") var campaignURL = "http://127.0.0.1:3001"
    @Option(help: "pledge-service base URL") var pledgeURL = "http://127.0.0.1:3003"
    @Option(help: "payment-service base URL") var paymentURL = "http://127.0.0.1:3002"
    @Option var adminEmail: String
    @Option var adminPassword: String
    @Option(help: "donations to make") var donations = 500
    @Option(help: "donors in flight at once") var concurrency = 8

    func run() async throws {
        let campaignId = try await openCampaign(
            userURL: userURL, campaignURL: campaignURL, adminEmail: adminEmail, adminPassword: adminPassword, title: "Donation benchmark"
        )
        let (paid, elapsed) = try await inParallel(Array(0..<donations), concurrency: concurrency) { index in
            let pledge = try await post(
                pledgeURL + "/pledges",
                body: try JSONSerialization.data(withJSONObject: [
                    "campaign_id": campaignId, "amount": 100 + index % 900, "currency": "USD", "anonymous": false,
                    "donor": ["name": "Donor \(index)", "email": "donor\(index)@example.org"],
                ]),
                headers: ["Idempotency-Key": "donation-\(campaignId)-\(index)"], expect: 201
            )
            let object = try JSONSerialization.jsonObject(with: Data(pledge.utf8)) as? [String: Any] ?? [:]
            let pledgeId = object["id"] as? String ?? ""
            let receipt = object["receipt_token"] as? String ?? ""
            _ = try await post(
                paymentURL + "/payments?receipt_token=\(receipt)",
                body: try JSONSerialization.data(withJSONObject: ["pledge_id": pledgeId, "payment_method": "pm_card_visa"]), expect: 201
            )
            return 1
        }
        // PAYMENT_CAPTURED (or the pledge's own CAPTURED) reaches the read model.
        let (counted, drain) = try await waitForCampaign(campaignURL, campaignId, toCount: paid, of: "total_payments")
        say("donations (guest pledge + sandbox payment, authorized and captured), \(paid), \(concurrency) donors at once")
        say("  donations paid           \(String(format: "%8.0f", Double(paid) / elapsed)) donations/s  (\(String(format: "%.2f", elapsed)) s)")
        say("  captured in the campaign \(counted) of \(paid), \(String(format: "%.2f", drain)) s after the last payment")
    }
}
