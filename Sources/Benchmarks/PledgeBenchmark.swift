import ArgumentParser
import Foundation
import Synchronization

/// Guest pledges through the gateway (`POST /api/pledges`), to one new campaign: closed loop
/// (`--pledges` with `--concurrency` in flight) or open loop (`--rate` per second for
/// `--seconds`, latency counted from each request's scheduled time). Then waits until
/// campaign-service has counted them all (the outbox drained). The per-pledge outbox lag is
/// computed by `scripts/bench` from the two databases, for the campaign it prints.
struct PledgeBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pledges", abstract: "Pledge creation and outbox drain.")

    @Option(help: "the gateway's API base URL") var api = "http://127.0.0.1:8080/api"
    @Option var adminEmail: String
    @Option var adminPassword: String
    @Option(help: "closed loop: pledges to make") var pledges = 2000
    @Option(help: "closed loop: requests in flight at once") var concurrency = 8
    @Option(help: "open loop: pledges per second") var rate: Double?
    @Option(help: "open loop: for how long") var seconds: Double = 10

    func run() async throws {
        let campaignId = try await openCampaign(userURL: api, campaignURL: api, adminEmail: adminEmail, adminPassword: adminPassword, title: "Benchmark")
        let endpoint = api + "/pledges"
        @Sendable func pledge(_ index: Int) async throws {
            let body = try JSONSerialization.data(withJSONObject: [
                "campaign_id": campaignId, "amount": 100 + index % 900, "currency": "USD", "anonymous": index % 3 == 0,
                "donor": ["name": "Guest \(index)", "email": "guest\(index)@example.org"],
            ])
            _ = try await post(endpoint, body: body, headers: ["Idempotency-Key": "bench-\(campaignId)-\(index)"], expect: 201)
        }

        let (made, _) = try await drive("pledges through the gateway", rate: rate, seconds: seconds, count: pledges, concurrency: concurrency, pledge)
        // The relay delivers every PLEDGE_CREATED.
        let (counted, drainSeconds) = try await waitForCampaign(api, campaignId, toCount: made, of: "total_pledges")
        say(String(format: "  counted by campaign-service: %d of %d, %.2f s after the last 201", counted, made, drainSeconds))
        say("campaign_id=\(campaignId)")
    }
}
