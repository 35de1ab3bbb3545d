import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Persistence
import SQLKit
import Testing
import TestSupport
@testable import PledgeService

private struct WebhookAnswer: Decodable {
    let result: String
    let status: String?
    let reason: String?
}

private struct BatchAnswer: Decodable {
    struct Result: Decodable, Equatable {
        let eventId: String
        let result: String
        let status: String?
    }
    let results: [Result]
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
            #expect(try await harness.outboxTypes().sorted() == ["DONATION_NOTICE", "PLEDGE_CREATED", "PLEDGE_STATUS_CHANGED", "PLEDGE_STATUS_CHANGED"])
        }
    }

    @Test("unsigned or wrongly signed notices are 401; a malformed notice or an unknown pledge is rejected with a reason, and changes nothing", arguments: TestDatabase.all)
    func refusals(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let pledge = try await harness.pledge().json(PledgeResponse.self)
            let unsigned = try await harness.webhook(pledge.id, "CAPTURED", secret: nil)
            #expect(unsigned.status == .unauthorized && unsigned.errorCode == "invalid_signature")
            let forged = try await harness.webhook(pledge.id, "CAPTURED", secret: "guess")
            #expect(forged.status == .unauthorized)
            let badStatus = try await harness.webhook(pledge.id, "SETTLED")
            #expect(badStatus.status == .ok)
            #expect(try badStatus.json(WebhookAnswer.self).result == "rejected" && (try badStatus.json(WebhookAnswer.self).reason)?.contains("status") == true)
            let unknown = try await harness.webhook(.new(), "CAPTURED")
            #expect(unknown.status == .ok)
            #expect(try unknown.json(WebhookAnswer.self).result == "rejected" && (try unknown.json(WebhookAnswer.self).status) == nil)
            let notJSON = try await harness.signedWebhook(Data("not json".utf8))
            #expect(notJSON.status == .badRequest)
            let read = try await harness.client.execute(uri: "/pledges/\(pledge.id)", method: .get, headers: .bearer(harness.adminToken)).json(PledgeResponse.self)
            #expect(read.status == "PENDING")
            #expect(try await harness.outboxTypes() == ["PLEDGE_CREATED"])
        }
    }

    @Test("refunds: a partial one keeps CAPTURED with its amount, all of it makes REFUNDED, in any order; FAILED takes none", arguments: TestDatabase.all)
    func refunds(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            func notice(_ pledgeId: PledgeID, _ status: String, refunded: Int64? = nil) -> [String: any Sendable] {
                var body: [String: any Sendable] = [
                    "event_id": UUID().uuidString, "pledge_id": pledgeId.rawValue, "payment_id": "pay-\(pledgeId)", "status": status, "occurred_at": Timestamp.format(Date()),
                ]
                if let refunded { body["refunded_amount"] = refunded }
                return body
            }
            func read(_ id: PledgeID) async throws -> PledgeResponse {
                try await harness.client.execute(uri: "/pledges/\(id)", method: .get, headers: .bearer(harness.adminToken)).json(PledgeResponse.self)
            }
            // In order: captured, 1,000 of 2,500 refunded, a late smaller report, then the rest.
            let pledge = try await harness.pledge().json(PledgeResponse.self)
            let answers = try await harness.notices([
                notice(pledge.id, "CAPTURED"), notice(pledge.id, "CAPTURED", refunded: 1000), notice(pledge.id, "CAPTURED", refunded: 400),
            ]).json(BatchAnswer.self).results
            #expect(answers.map(\.result) == ["applied", "applied", "ignored"])
            var now = try await read(pledge.id)
            #expect(now.status == "CAPTURED" && now.refundedAmount == 1000 && now.receiptNumber != nil)
            _ = try await harness.notices([notice(pledge.id, "REFUNDED", refunded: 2500)])
            now = try await read(pledge.id)
            #expect(now.status == "REFUNDED" && now.refundedAmount == 2500)
            #expect(now.transitions?.map(\.to) == ["PENDING", "CAPTURED", "REFUNDED"])
            let receipt = try await harness.client.execute(uri: "/pledges/\(pledge.id)/receipt", method: .get, headers: .bearer(harness.adminToken))
            #expect(try receipt.json(ReceiptResponse.self).refundedAmount == 2500)

            // A refund reported before the capture: it implies it, and the receipt is issued.
            let early = try await harness.pledge().json(PledgeResponse.self)
            _ = try await harness.notices([notice(early.id, "CAPTURED", refunded: 700), notice(early.id, "AUTHORIZED")])
            now = try await read(early.id)
            #expect(now.status == "CAPTURED" && now.refundedAmount == 700 && now.receiptNumber != nil)

            // FAILED takes no refund, whatever it says.
            let failed = try await harness.pledge().json(PledgeResponse.self)
            let refused = try await harness.notices([notice(failed.id, "FAILED"), notice(failed.id, "REFUNDED", refunded: 2500)])
            #expect(try refused.json(BatchAnswer.self).results.map(\.result) == ["applied", "ignored"])
            now = try await read(failed.id)
            #expect(now.status == "FAILED" && now.refundedAmount == 0)

            // A negative refund is a malformed notice.
            let bad = try await harness.notices([notice(early.id, "CAPTURED", refunded: -1)])
            #expect(try bad.json(BatchAnswer.self).results.map(\.result) == ["rejected"])
        }
    }

    @Test("a batch of notices: one result per notice in order, duplicates inside and across batches, an unknown pledge and a malformed notice rejected without holding back the rest", arguments: TestDatabase.all)
    func batch(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let first = try await harness.pledge().json(PledgeResponse.self)
            let second = try await harness.pledge().json(PledgeResponse.self)
            func notice(_ eventId: String, _ pledgeId: PledgeID, _ status: String) -> [String: any Sendable] {
                ["event_id": eventId, "pledge_id": pledgeId.rawValue, "payment_id": "pay-\(pledgeId)", "status": status, "occurred_at": Timestamp.format(Date())]
            }
            let answer = try await harness.notices([
                notice("e1", first.id, "AUTHORIZED"), notice("e2", first.id, "CAPTURED"), notice("e1", first.id, "AUTHORIZED"),
                notice("e3", "no-such-pledge", "CAPTURED"), ["event_id": "e4", "pledge_id": second.id, "status": "SHIPPED"],
                notice("e5", second.id, "FAILED"), notice("e6", first.id, "AUTHORIZED"),
            ])
            #expect(answer.status == .ok)
            #expect(try answer.json(BatchAnswer.self).results == [
                .init(eventId: "e1", result: "applied", status: "AUTHORIZED"), .init(eventId: "e2", result: "applied", status: "CAPTURED"),
                .init(eventId: "e1", result: "duplicate", status: "CAPTURED"), .init(eventId: "e3", result: "rejected", status: nil),
                .init(eventId: "e4", result: "rejected", status: nil), .init(eventId: "e5", result: "applied", status: "FAILED"),
                .init(eventId: "e6", result: "ignored", status: "CAPTURED"),
            ])
            let again = try await harness.notices([notice("e2", first.id, "CAPTURED"), notice("e5", second.id, "FAILED")])
            #expect(try again.json(BatchAnswer.self).results.map(\.result) == ["duplicate", "duplicate"])

            let read = try await harness.client.execute(uri: "/pledges/\(first.id)", method: .get, headers: .bearer(harness.adminToken)).json(PledgeResponse.self)
            #expect(read.transitions?.map(\.to) == ["PENDING", "AUTHORIZED", "CAPTURED"])
            #expect(try await harness.outboxTypes().sorted() == ["DONATION_NOTICE", "DONATION_NOTICE", "PLEDGE_CREATED", "PLEDGE_CREATED"]
                + Array(repeating: "PLEDGE_STATUS_CHANGED", count: 3))
        }
    }

    @Test("each notice's trace travels with the event it causes; a batch never lends the request's trace to a notice without one", arguments: TestDatabase.all)
    func tracesPerNotice(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let traced = try await harness.pledge().json(PledgeResponse.self)
            let untraced = try await harness.pledge().json(PledgeResponse.self)
            let own = "00-11111111111111111111111111111111-2222222222222222-01"
            let requests = "00-33333333333333333333333333333333-4444444444444444-01"
            let body = try jsonData(["notices": [
                ["event_id": "t1", "pledge_id": traced.id, "payment_id": "p1", "status": "CAPTURED", "occurred_at": Timestamp.format(Date()), "trace_parent": own],
                ["event_id": "t2", "pledge_id": untraced.id, "payment_id": "p2", "status": "CAPTURED", "occurred_at": Timestamp.format(Date())],
            ]])
            #expect(try await harness.signedWebhook(body, traceParent: requests).status == .ok)
            let payloads = try await Databases.withClient(harness.databaseURL, logger: TestLogging.logger) { client in
                try await client.withConnection { db in
                    try await db.raw("SELECT payload FROM outbox WHERE event_type = 'PLEDGE_STATUS_CHANGED'").all()
                        .map { try $0.decode(column: "payload", as: String.self) }
                }
            }
            #expect(payloads.count == 2)
            #expect(payloads.filter { $0.contains(traced.id.rawValue) }.allSatisfy { $0.contains(own) })
            #expect(payloads.filter { $0.contains(untraced.id.rawValue) }.allSatisfy { !$0.contains(own) && !$0.contains(requests) })
        }
    }

    @Test("concurrent batches about the same pledges, each notice sent in several of them: every notice counted once, the ranks decide", arguments: TestDatabase.all)
    func concurrentBatches(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            var pledges: [String] = []
            for _ in 0..<5 { pledges.append(try await harness.pledge().json(PledgeResponse.self).id.rawValue) }
            let notices: [[String: any Sendable]] = pledges.flatMap { id in
                ["AUTHORIZED", "CAPTURED"].map { status in
                    ["event_id": "\(id)-\(status)", "pledge_id": id, "payment_id": "pay-\(id)", "status": status, "occurred_at": Timestamp.format(Date())]
                }
            }
            let answers = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<8 {
                    group.addTask { try await harness.notices(notices.shuffled()).json(BatchAnswer.self).results.map(\.result) }
                }
                return try await group.reduce(into: []) { $0.append(contentsOf: $1) }
            }
            // Each notice is new exactly once across all eight batches.
            #expect(answers.filter { $0 != "duplicate" }.count == notices.count)
            for id in pledges {
                let read = try await harness.client.execute(uri: "/pledges/\(id)", method: .get, headers: .bearer(harness.adminToken)).json(PledgeResponse.self)
                #expect(read.status == "CAPTURED")
                #expect(read.transitions?.first?.to == "PENDING" && read.transitions?.last?.to == "CAPTURED")
            }
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
