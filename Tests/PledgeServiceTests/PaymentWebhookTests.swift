import Foundation
import HTTPSupport
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import TestSupport
@testable import PledgeService

private struct WebhookAnswer: Decodable {
    let result: String
    let status: String
}

@Suite("pledge-service: the payment webhook")
struct PaymentWebhookTests {
    @Test("applied, duplicate and ignored, each with a transition and an outbox event only when applied", arguments: TestDatabase.all)
    func lifecycle(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let pledge = try await harness.pledge().json(PledgeResponse.self)
            let authorized = try await harness.webhook(pledge.id, "AUTHORIZED", eventId: "evt-1")
            #expect(try authorized.json(WebhookAnswer.self).result == "applied")
            let again = try await harness.webhook(pledge.id, "AUTHORIZED", eventId: "evt-1")
            #expect(try again.json(WebhookAnswer.self).result == "duplicate")
            let captured = try await harness.webhook(pledge.id, "CAPTURED")
            #expect(try captured.json(WebhookAnswer.self).result == "applied" && (try captured.json(WebhookAnswer.self).status) == "CAPTURED")
            let late = try await harness.webhook(pledge.id, "AUTHORIZED")
            #expect(late.status == .ok)
            #expect(try late.json(WebhookAnswer.self).result == "ignored" && (try late.json(WebhookAnswer.self).status) == "CAPTURED")
            let failedAfter = try await harness.webhook(pledge.id, "FAILED")
            #expect(try failedAfter.json(WebhookAnswer.self).result == "ignored")

            let read = try await harness.client.execute(uri: "/pledges/\(pledge.id)", method: .get, headers: .bearer(harness.adminToken)).json(PledgeResponse.self)
            #expect(read.status == "CAPTURED")
            #expect(read.transitions?.map(\.to) == ["PENDING", "AUTHORIZED", "CAPTURED"])
            #expect(read.transitions?.map(\.from) == [nil, "PENDING", "AUTHORIZED"])
            #expect(try await harness.outboxTypes().sorted() == ["PLEDGE_CREATED", "PLEDGE_STATUS_CHANGED", "PLEDGE_STATUS_CHANGED"])
        }
    }

    @Test("unsigned or wrongly signed webhooks are 401; malformed 400; an unknown pledge 404", arguments: TestDatabase.all)
    func refusals(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let pledge = try await harness.pledge().json(PledgeResponse.self)
            let unsigned = try await harness.webhook(pledge.id, "CAPTURED", secret: nil)
            #expect(unsigned.status == .unauthorized && unsigned.errorCode == "invalid_signature")
            let forged = try await harness.webhook(pledge.id, "CAPTURED", secret: "guess")
            #expect(forged.status == .unauthorized)
            let badStatus = try await harness.webhook(pledge.id, "REFUNDED")
            #expect(badStatus.status == .badRequest && badStatus.errorCode == "invalid_webhook")
            let unknown = try await harness.webhook(UUID().uuidString.lowercased(), "CAPTURED")
            #expect(unknown.status == .notFound)
            let read = try await harness.client.execute(uri: "/pledges/\(pledge.id)", method: .get, headers: .bearer(harness.adminToken)).json(PledgeResponse.self)
            #expect(read.status == "PENDING")
        }
    }

    @Test("every order of AUTHORIZED, CAPTURED and FAILED, with duplicates, ends in the state the ranks say", arguments: TestDatabase.all)
    func permutations(database: TestDatabase) async throws {
        let news = ["AUTHORIZED", "CAPTURED", "FAILED"]
        let orders = news.flatMap { a in news.filter { $0 != a }.flatMap { b in news.filter { $0 != a && $0 != b }.map { [a, b, $0] } } }
        try await withPledgeService(database) { harness in
            for order in orders {
                let pledge = try await harness.pledge().json(PledgeResponse.self)
                let ids = order.map { _ in UUID().uuidString }
                // Each delivery twice, the duplicate right after or at the end.
                let deliveries = Array(zip(ids, order)) + Array(zip(ids, order)).reversed()
                for (eventId, status) in deliveries { _ = try await harness.webhook(pledge.id, status, eventId: eventId) }
                let firstTerminal = order.first { $0 != "AUTHORIZED" }!
                let read = try await harness.client.execute(uri: "/pledges/\(pledge.id)", method: .get, headers: .bearer(harness.adminToken)).json(PledgeResponse.self)
                #expect(read.status == firstTerminal, "\(order)")
                let authorizedFirst = order.firstIndex(of: "AUTHORIZED")! < order.firstIndex(of: firstTerminal)!
                #expect(read.transitions?.count == (authorizedFirst ? 3 : 2), "\(order)")
            }
        }
    }
}
