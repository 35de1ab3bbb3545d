import ArgumentParser
import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import Signatures
import NIOHTTP1

/// Sends synthetic pledge lives to a running campaign-service, one event per request and then in
/// batches, and prints events per second for each. Used by `scripts/bench`; figures, never asserts.
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "Event ingestion, single and batched.")

    @Option(help: "campaign-service base URL") var url = "http://127.0.0.1:3001"
    @Option(help: "the internal signing secret") var secret: String
    @Option(help: "events per phase (4 per pledge)") var events = 4000
    @Option(help: "events per batched request") var batchSize = 50
    @Option(help: "requests in flight at once") var concurrency = 8
    @Option(help: "campaigns the pledges are spread over") var campaigns = 10
    @Option(help: "the gateway's API base URL, to open the campaigns") var api = "http://127.0.0.1:8080/api"
    @Option var adminEmail: String
    @Option var adminPassword: String

    struct Phase {
        let name: String
        let events: Int
        let applied: Int
        let seconds: Double
        var perSecond: Double { Double(events) / seconds }
    }

    func run() async throws {
        let signer = SignatureScheme(secret: secret)
        var campaignIds: [String] = []
        for index in 0..<campaigns {
            campaignIds.append(try await openCampaign(
                userURL: api, campaignURL: api, adminEmail: adminEmail, adminPassword: adminPassword, title: "Ingestion \(index)"
            ))
        }
        var phases: [Phase] = []

        let single = makeEvents(campaignIds: campaignIds)
        phases.append(try await send(name: "single", requests: single.map { [$0] }, signer: signer))

        let batched = makeEvents(campaignIds: campaignIds)
        let batches = stride(from: 0, to: batched.count, by: batchSize).map { Array(batched[$0..<min($0 + batchSize, batched.count)]) }
        phases.append(try await send(name: "batched (\(batchSize)/request)", requests: batches, signer: signer))
        phases.append(try await send(name: "batched duplicates", requests: batches, signer: signer))

        say("campaign-service ingestion, \(events) events per phase, \(concurrency) requests in flight")
        for phase in phases {
            let name = phase.name.padding(toLength: 28, withPad: " ", startingAt: 0)
            let rate = String(format: "%8.0f", phase.perSecond)
            say("  \(name) \(rate) events/s  (\(String(format: "%.2f", phase.seconds)) s, \(phase.applied) applied)")
        }
        say(String(format: "  batched / single: %.1fx", phases[1].perSecond / phases[0].perSecond))
        if phases[1].applied == phases[1].events {
            result("ingest_eps", phases[1].perSecond)
        } else {
            say("  only \(phases[1].applied) of \(phases[1].events) batched events were applied: no figure")
        }
    }

    /// Pledge lives of four events each (created, authorized, captured twice over), in publishing order.
    func makeEvents(campaignIds: [String]) -> [EventEnvelope] {
        let currency = Currency(rawValue: "USD")!
        let now = Timestamp.now
        return (0..<(events / 4)).flatMap { index -> [EventEnvelope] in
            let pledge = PledgeID.new()
            let campaign = CampaignID(campaignIds[index % campaignIds.count])
            let amount = Int64(100 + index % 5000)
            func envelope(_ data: EventData) -> EventEnvelope {
                EventEnvelope(eventId: UUID().uuidString.lowercased(), type: data.type, source: "benchmark", occurredAt: now(), data: data)
            }
            return [
                envelope(.pledgeCreated(.init(pledgeId: pledge, campaignId: campaign, userId: nil, amount: amount, currency: currency,
                                              anonymous: false, donorName: "Bench", message: nil))),
                envelope(.pledgeStatusChanged(.init(pledgeId: pledge, campaignId: campaign, previousStatus: .pending, newStatus: .authorized,
                                                    amount: amount, currency: currency))),
                envelope(.pledgeStatusChanged(.init(pledgeId: pledge, campaignId: campaign, previousStatus: .authorized, newStatus: .captured,
                                                    amount: amount, currency: currency))),
                envelope(.paymentCaptured(.init(paymentId: PaymentID("pay-\(pledge)"), pledgeId: pledge, campaignId: campaign, amount: amount, currency: currency))),
            ]
        }
    }

    func send(name: String, requests: [[EventEnvelope]], signer: SignatureScheme) async throws -> Phase {
        let encoder = JSONEncoder()
        let bodies = try requests.map { events in
            events.count == 1 ? try encoder.encode(events[0]) : try encoder.encode(["events": events])
        }
        let endpoint = url + "/campaigns/events"
        let (applied, seconds) = try await inParallel(bodies, concurrency: concurrency) { body in
            let answer = try await post(endpoint, body: body, headers: ["X-CareForAll-Signature": signer.sign(method: "POST", path: "/campaigns/events", body: body)], expect: 200)
            return answer.components(separatedBy: "\"applied\"").count - 1
        }
        return Phase(name: name, events: requests.reduce(0) { $0 + $1.count }, applied: applied, seconds: seconds)
    }
}

