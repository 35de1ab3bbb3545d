import Foundation
import HTTPSupport
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Outbox
import Testing
import TestSupport
@testable import PledgeService

@Suite("pledge-service: the outbox's admin routes")
struct OutboxAdminRouteTests {
    @Test("admins list waiting and dead rows, park one with a reason and send it again; nobody else may", arguments: TestDatabase.all)
    func routes(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let pledge = try await harness.pledge().json(PledgeResponse.self)
            func get(_ query: String, token: String? = nil) async throws -> TestResponse {
                try await harness.client.execute(uri: "/pledges/admin/outbox" + query, method: .get, headers: .bearer(token ?? harness.adminToken))
            }
            /// POSTs, waiting out a relay that holds the row for a moment (its lease).
            func post(_ path: String, _ body: [String: any Sendable] = [:]) async throws -> TestResponse {
                var response = try await harness.client.execute(uri: "/pledges/admin/outbox/" + path, method: .post, headers: .bearer(harness.adminToken), body: ByteBuffer(json: body))
                for _ in 0..<40 where response.errorCode == "in_flight" {
                    try await Task.sleep(for: .milliseconds(50))
                    response = try await harness.client.execute(uri: "/pledges/admin/outbox/" + path, method: .post, headers: .bearer(harness.adminToken), body: ByteBuffer(json: body))
                }
                return response
            }
            let pending = try await get("?state=pending").json(PageBody<OutboxRow>.self).items
            let row = try #require(pending.first { $0.eventType == "PLEDGE_CREATED" })
            #expect(row.destination == "campaign-events" && row.deadAt == nil && row.nextAttemptAt != nil)
            #expect(try await get("").json(PageBody<OutboxRow>.self).items.map(\.id) == pending.map(\.id), "pending by default")

            #expect(try await get("?state=pending", token: harness.donorToken).status == .forbidden)
            #expect(try await harness.client.execute(uri: "/pledges/admin/outbox", method: .get).status == .unauthorized)
            #expect(try await get("?state=lost").status == .badRequest)

            #expect(try await post(row.id + "/park").errorCode == "invalid_reason")
            let parked = try await post(row.id + "/park", ["reason": "campaign data being restored"])
            #expect(parked.status == .ok)
            #expect(try parked.json(OutboxRow.self).lastError == "parked: campaign data being restored")
            let dead = try await get("?state=dead").json(PageBody<OutboxRow>.self).items
            #expect(dead.map(\.id) == [row.id] && dead.first?.deadAt != nil)
            #expect(try await post(row.id + "/park", ["reason": "again"]).errorCode == "already_dead")

            let retried = try await post(row.id + "/retry")
            #expect(retried.status == .ok)
            #expect(try retried.json(OutboxRow.self).deadAt == nil)
            #expect(try await get("?state=dead").json(PageBody<OutboxRow>.self).items.isEmpty)
            #expect(try await post("no-such-row/retry").status == .notFound)

            // A pledge's whole history, delivered or not, and an admin's look-up by email.
            let other = try await harness.pledge().json(PledgeResponse.self)
            let history = try await get("?state=all&pledge_id=\(pledge.id)").json(PageBody<OutboxRow>.self).items
            let otherHistory = try await get("?state=all&pledge_id=\(other.id)").json(PageBody<OutboxRow>.self).items
            #expect(history.map(\.id) == [row.id])
            #expect(!otherHistory.isEmpty && Set(otherHistory.map(\.id)).isDisjoint(with: history.map(\.id)))
            // Not a pledge id (schemathesis sent a NUL byte, which PostgreSQL's text refuses: it was a 500).
            #expect(try await get("?state=all&pledge_id=f%00x").errorCode == "invalid_text")
            #expect(try await get("?pledge_id=not-a-pledge").status == .badRequest)
            let byEmail = try await harness.client.execute(uri: "/pledges?email=GITA@example.org", method: .get, headers: .bearer(harness.adminToken))
            #expect(Set(try byEmail.json(PageBody<PledgeResponse>.self).items.map(\.id)) == [pledge.id, other.id])
            #expect(try await harness.client.execute(uri: "/pledges?email=gita@example.org", method: .get, headers: .bearer(harness.donorToken)).status == .forbidden)
        }
    }
}
