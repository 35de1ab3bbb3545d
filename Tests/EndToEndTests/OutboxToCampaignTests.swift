import AsyncHTTPClient
import Contracts
import Foundation
import Observability
@testable import Outbox
import Persistence
import Signatures
import Testing
import TestSupport

@Suite("End to end: outbox delivery into the read model", .serialized)
struct OutboxToCampaignTests {
    @Test("a relay killed after sending but before marking: the next relay resends, campaign-service drops the duplicates, totals stay exact")
    func crashedRelayKeepsTotalsExact() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let secret = try String(contentsOfFile: (platform.dataDirectory as NSString).appendingPathComponent("internal-signing-secret"), encoding: .utf8)
            let token = try await platform.adminToken()
            let created = try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/campaigns", json: ["title": "Relay crash", "goal_amount": 10_000, "currency": "USD"], bearer: token
            )
            let campaignId = try #require(try created.json()["id"] as? String)
            let usd = Currency(rawValue: "USD")!
            let events = (0..<10).flatMap { index -> [EventEnvelope] in
                let pledgeId = UUID().uuidString.lowercased()
                func envelope(_ data: EventData) -> EventEnvelope {
                    EventEnvelope(eventId: UUID().uuidString.lowercased(), type: data.type, source: "test", occurredAt: Timestamp.format(Date()), data: data)
                }
                return [
                    envelope(.pledgeCreated(.init(pledgeId: PledgeID(pledgeId), campaignId: CampaignID(campaignId), userId: nil, amount: 100, currency: usd,
                                                  anonymous: false, donorName: "D\(index)", message: nil))),
                    envelope(.paymentCaptured(.init(paymentId: "pay-\(index)", pledgeId: PledgeID(pledgeId), campaignId: CampaignID(campaignId), amount: 100, currency: usd))),
                ]
            }
            let outboxFile = (dataDirectory as NSString).appendingPathComponent("relay-test.sqlite")
            try await Databases.withClient(.sqlite(path: outboxFile), logger: TestLogging.logger) { client in
                try await Migrator(service: "relay-test", migrations: OutboxSchema.migrations, logger: TestLogging.logger).migrate(client)
                try await client.transaction { db in
                    for event in events { try await Outbox.enqueue([try OutboxEntry(event, destination: .campaignEvents)], on: db, now: Timestamp.format(Date())) }
                }
                let transport = HTTPEventTransport(
                    urls: [.campaignEvents: platform.campaignService + "/campaigns/events"], signatures: SignatureScheme(secret: secret)
                )
                let clock = TestClock()
                func relay() -> OutboxRelay {
                    OutboxRelay(database: client, transport: transport, signal: QueueSignal(), clock: clock, metrics: ServiceMetrics(), logger: TestLogging.logger)
                }
                // The first relay claims and sends everything, then dies before marking it delivered.
                let start = Date()
                let claimed = try await relay().claim(now: start)
                #expect(claimed.count == 20)
                _ = try await transport.deliver(claimed, to: .campaignEvents)
                // The next one picks the rows up once the lease is over and sends them all again.
                clock.set(start.addingTimeInterval(31))
                #expect(try await relay().relayOnce() == 20)
            }
            // The rollup as ingestion left it, and a recompute from the projection agrees.
            let report = try await HTTPClient.testing.send("POST", platform.gateway + "/api/campaigns/\(campaignId)/rebuild", json: [:], bearer: token).json()
            #expect(report["drift_corrected"] as? Bool == false)
            let after = report["after"] as? [String: Any] ?? [:]
            #expect(after["captured_amount"] as? Int == 1000)
            #expect(after["total_pledges"] as? Int == 10)
            #expect(after["total_payments"] as? Int == 10)
            #expect(after["pending_amount"] as? Int == 0)
            let log = try await HTTPClient.testing.get(platform.gateway + "/api/campaigns/\(campaignId)/events?limit=100", bearer: token).json()
            #expect((log["items"] as? [Any])?.count == 20)
        }
    }
}
