import AsyncHTTPClient
import Foundation
import HTTPSupport
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import Testing
import TestSupport
import HTTPTypes
import NIOHTTP1
@testable import CampaignService

/// Reads Server-Sent Events off a response body, one `event:`/`data:` block at a time.
struct EventReader {
    var chunks: HTTPClientResponse.Body.AsyncIterator
    var buffer = ""

    /// The `data:` of the next `event: campaign`, decoded; comments and `retry:` are skipped.
    mutating func nextCampaign() async throws -> CampaignResponse? {
        while true {
            while let end = buffer.range(of: "\n\n") {
                let block = String(buffer[..<end.lowerBound])
                buffer = String(buffer[end.upperBound...])
                let lines = block.split(separator: "\n")
                guard lines.contains("event: campaign"), let data = lines.first(where: { $0.hasPrefix("data: ") }) else { continue }
                return try JSONCoding.decoder.decode(CampaignResponse.self, from: Data(data.dropFirst("data: ".count).utf8))
            }
            guard let chunk = try await chunks.next() else { return nil }
            buffer += String(buffer: chunk)
        }
    }
}

@Suite("Live campaign totals over Server-Sent Events")
struct CampaignStreamTests {
    @Test("the stream starts with the campaign and pushes new totals as soon as an event is ingested", arguments: TestDatabase.all)
    func pushes(database: TestDatabase) async throws {
        var streams = StreamConfig()
        streams.pollInterval = .seconds(120)  // only the ingestion signal can move it within the test
        streams.maximumLifetime = .seconds(60)
        try await withCampaignService(database, live: true, streams: streams) { service in
            let campaign = try await service.createCampaign()
            let port = try #require(service.client.port)
            let response = try await HTTPClient.testing.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/campaigns/\(campaign.id)/stream"), timeout: .seconds(10)
            )
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var reader = EventReader(chunks: response.body.makeAsyncIterator())
            let first = try #require(try await reader.nextCampaign())
            #expect(first.id == campaign.id && first.pendingAmount == 0)

            let pledge = PledgeEvents(campaignId: campaign.id, amount: 1800)
            #expect(try await service.send([pledge.created()]).status == .ok)
            let second = try #require(try await reader.nextCampaign())
            #expect(second.pendingAmount == 1800 && second.totalPledges == 1)

            #expect(try await service.send([pledge.captured()]).status == .ok)
            let third = try #require(try await reader.nextCampaign())
            #expect(third.capturedAmount == 1800 && third.currentAmount == 1800 && third.pendingAmount == 0)
        }
    }

    @Test("unknown campaigns and drafts are 404 to the public")
    func notFound() async throws {
        try await withCampaignService(.sqlite) { service in
            #expect(try await service.client.execute(uri: "/campaigns/\(UUID().uuidString)/stream", method: .get).status == .notFound)
            let draft = try await service.createCampaign(["status": "draft"])
            #expect(try await service.client.execute(uri: "/campaigns/\(draft.id)/stream", method: .get).status == .notFound)
        }
    }

    @Test("streams are capped in all: one past the cap is 503 too_many_streams, and a slot comes back when a stream ends")
    func capped() async throws {
        var streams = StreamConfig()
        streams.maximumStreams = 2
        streams.pollInterval = .milliseconds(200)
        streams.maximumLifetime = .seconds(3)
        try await withCampaignService(.sqlite, live: true, streams: streams) { service in
            let campaign = try await service.createCampaign()
            let url = "http://127.0.0.1:\(try #require(service.client.port))/campaigns/\(campaign.id)/stream"
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 8
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            var open = [try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))]
            open.append(try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10)))
            #expect(open.allSatisfy { $0.status == .ok })
            let refused = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            #expect(refused.status == .serviceUnavailable)
            #expect(String(buffer: try await refused.body.collect(upTo: 1 << 16)).contains("too_many_streams"))
            // Another route is not affected by the streams.
            #expect(try await service.client.execute(uri: "/campaigns/\(campaign.id)", method: .get).status == .ok)
            // The streams end at their lifetime, and their slots come back.
            let again = try await eventually(timeout: .seconds(30)) {
                let next = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
                return next?.status == .ok
            }
            #expect(again)
            withExtendedLifetime(open) {}
            try await client.shutdown()
        }
    }
}
