import ArgumentParser
import Foundation
import Synchronization

/// Whole donations through the gateway: a guest pledge, then its payment (sandbox: authorized and
/// captured, its webhooks, the notices to pledge-service). Closed loop (`--donations`,
/// `--concurrency` donors at once: `donations_per_s`), or open loop (`--rate` per second for
/// `--seconds`): then each pledge id and its scheduled time go to `--schedule-file`, and
/// `scripts/bench` measures from there to the campaign counting the capture.
struct DonationBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "donations", abstract: "Pledge + payment, end to end.")

    @Option(help: "the gateway's API base URL") var api = "http://127.0.0.1:8080/api"
    @Option var adminEmail: String
    @Option var adminPassword: String
    @Option(help: "closed loop: donations to make") var donations = 500
    @Option(help: "closed loop: donors at once") var concurrency = 32
    @Option(help: "open loop: donations per second") var rate: Double?
    @Option(help: "open loop: for how long") var seconds: Double = 10
    @Option(help: "open loop: where to write '<pledge id> <scheduled epoch ms>' lines") var scheduleFile: String?

    func run() async throws {
        let campaignId = try await openCampaign(
            userURL: api, campaignURL: api, adminEmail: adminEmail, adminPassword: adminPassword, title: "Donation benchmark"
        )
        let api = self.api
        let schedule = Mutex<[String]>([])
        let origin = Date().timeIntervalSince1970 * 1000 + 100
        let rate = self.rate
        @Sendable func donate(_ index: Int) async throws {
            let pledge = try await post(
                api + "/pledges",
                body: try JSONSerialization.data(withJSONObject: [
                    "campaign_id": campaignId, "amount": 100 + index % 900, "currency": "USD", "anonymous": false,
                    "donor": ["name": "Donor \(index)", "email": "donor\(index)@example.org"],
                ]),
                headers: ["Idempotency-Key": "donation-\(campaignId)-\(index)"], expect: 201
            )
            let object = try JSONSerialization.jsonObject(with: Data(pledge.utf8)) as? [String: Any] ?? [:]
            let pledgeId = object["id"] as? String ?? ""
            let receipt = object["receipt_token"] as? String ?? ""
            if let rate {
                schedule.withLock { $0.append("\(pledgeId) \(Int(origin + Double(index) * 1000 / rate))") }
            }
            _ = try await post(
                api + "/payments?receipt_token=\(receipt)",
                body: try JSONSerialization.data(withJSONObject: ["pledge_id": pledgeId, "payment_method": "pm_card_visa"]), expect: 201
            )
        }

        let (paid, perSecond) = try await drive(
            "donations through the gateway", rate: rate, seconds: seconds, count: donations, concurrency: concurrency, donate
        )
        if let perSecond { result("donations_per_s", perSecond) }
        if rate != nil, let scheduleFile {
            try schedule.withLock { $0.joined(separator: "\n") + "\n" }.write(toFile: scheduleFile, atomically: true, encoding: .utf8)
        }
        // PAYMENT_CAPTURED (or the pledge's own CAPTURED) reaches the read model.
        let (counted, drain) = try await waitForCampaign(api, campaignId, toCount: paid, of: "total_payments")
        say(String(format: "  captured in the campaign: %d of %d, %.2f s after the last payment", counted, paid, drain))
        say("campaign_id=\(campaignId)")
    }
}
