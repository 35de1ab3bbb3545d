import ArgumentParser
import Foundation

/// Creates a campaign as the admin, then makes guest pledges through pledge-service as fast as
/// `concurrency` allows, and waits until campaign-service has counted them all (the outbox
/// drained). The per-pledge outbox lag is computed by `scripts/bench` from the two databases.
struct PledgeBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pledges", abstract: "Pledge creation and outbox drain.")

    @Option(help: "user-service base URL") var userURL = "http://127.0.0.1:3004"
    @Option(help: "campaign-service base URL") var campaignURL = "http://127.0.0.1:3001"
    @Option(help: "pledge-service base URL") var pledgeURL = "http://127.0.0.1:3003"
    @Option var adminEmail: String
    @Option var adminPassword: String
    @Option(help: "pledges to make") var pledges = 2000
    @Option(help: "requests in flight at once") var concurrency = 8
    @Option(help: "pledges per second to pace at; as fast as possible when absent") var rate: Double?

    func run() async throws {
        let campaignId = try await openCampaign(
            userURL: userURL, campaignURL: campaignURL, adminEmail: adminEmail, adminPassword: adminPassword, title: "Benchmark"
        )

        let bodies = try (0..<pledges).map { index in
            try JSONSerialization.data(withJSONObject: [
                "campaign_id": campaignId, "amount": 100 + index % 900, "currency": "USD", "anonymous": index % 3 == 0,
                "donor": ["name": "Guest \(index)", "email": "guest\(index)@example.org"],
            ])
        }
        let endpoint = pledgeURL + "/pledges"
        let start = ContinuousClock.now
        let interval = rate.map { Duration.seconds(1 / $0) }
        let (made, elapsed) = try await inParallel(Array(bodies.enumerated()), concurrency: concurrency) { index, body in
            if let interval {
                // Paced: pledge n leaves no earlier than n intervals after the start.
                try await Task.sleep(until: start + interval * index, clock: .continuous)
            }
            _ = try await post(endpoint, body: body, headers: ["Idempotency-Key": "bench-\(campaignId)-\(index)"], expect: 201)
            return 1
        }
        // The relay delivers every PLEDGE_CREATED.
        let (counted, drainSeconds) = try await waitForCampaign(campaignURL, campaignId, toCount: made, of: "total_pledges")

        let pace = rate.map { "paced at \(Int($0))/s" } ?? "as fast as \(concurrency) requests in flight allow"
        say("pledge-service, \(made) guest pledges, \(pace)")
        say("  pledges created          \(String(format: "%8.0f", Double(made) / elapsed)) pledges/s  (\(String(format: "%.2f", elapsed)) s)")
        say("  counted by campaign      \(counted) of \(made), \(String(format: "%.2f", drainSeconds)) s after the last 201")
        say("campaign_id=\(campaignId)")
    }
}
