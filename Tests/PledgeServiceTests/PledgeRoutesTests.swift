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

@Suite("pledge-service: pledges")
struct PledgeRoutesTests {
    @Test("a guest pledges: 201 PENDING with a receipt token that, and only that, opens the pledge", arguments: TestDatabase.all)
    func guest(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let response = try await harness.pledge(["message": "  For the school  ", "status": "CAPTURED", "user_id": "hacker", "id": "mine"])
            #expect(response.status == .created)
            let pledge = try response.json(PledgeResponse.self)
            #expect(pledge.status == "PENDING" && pledge.amount == 2500 && pledge.currency == "USD")
            #expect(pledge.userId == nil && pledge.id != "mine")
            #expect(pledge.donorName == "Guest Gita" && pledge.message == "For the school")
            let token = try #require(pledge.receiptToken)
            #expect(token.count >= 43)  // 256 bits, base64url
            #expect(!response.text.contains("gita@example.org"))

            let opened = try await harness.client.execute(uri: "/pledges/\(pledge.id)?receipt_token=\(token)", method: .get)
            #expect(opened.status == .ok)
            let read = try opened.json(PledgeResponse.self)
            #expect(read.transitions == [TransitionResponse(from: nil, to: "PENDING", at: pledge.createdAt)])
            #expect(read.receiptToken == nil)
            for uri in ["/pledges/\(pledge.id)", "/pledges/\(pledge.id)?receipt_token=wrong", "/pledges/\(UUID().uuidString.lowercased())"] {
                let refused = try await harness.client.execute(uri: uri, method: .get)
                #expect(refused.status == .notFound && refused.errorCode == "not_found", "\(uri)")
            }
            let byOtherUser = try await harness.client.execute(uri: "/pledges/\(pledge.id)", method: .get, headers: .bearer(harness.otherDonorToken))
            #expect(byOtherUser.status == .notFound)
            #expect(try await harness.outboxTypes() == ["PLEDGE_CREATED"])
        }
    }

    @Test("a signed-in donor pledges as themselves; only they and admins can read it", arguments: TestDatabase.all)
    func signedIn(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let response = try await harness.pledge(token: harness.donorToken, ["anonymous": true])
            #expect(response.status == .created)
            let pledge = try response.json(PledgeResponse.self)
            #expect(pledge.userId == "donor-1" && pledge.donorName == "Dora" && pledge.anonymous && pledge.receiptToken == nil)
            #expect(try await harness.client.execute(uri: "/pledges/\(pledge.id)", method: .get, headers: .bearer(harness.donorToken)).status == .ok)
            #expect(try await harness.client.execute(uri: "/pledges/\(pledge.id)", method: .get, headers: .bearer(harness.adminToken)).status == .ok)
            #expect(try await harness.client.execute(uri: "/pledges/\(pledge.id)", method: .get, headers: .bearer(harness.otherDonorToken)).status == .notFound)
        }
    }

    @Test("same key and body: the stored answer, byte for byte, marked replayed, nothing new written", arguments: TestDatabase.all)
    func idempotentReplay(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let first = try await harness.pledge(key: "key-1", token: harness.donorToken)
            let second = try await harness.pledge(key: "key-1", token: harness.donorToken)
            #expect(first.status == .created && second.status == .created)
            #expect(first.text == second.text)
            #expect(first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            #expect(second.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let changed = try await harness.pledge(key: "key-1", token: harness.donorToken, ["amount": 9999])
            #expect(changed.status == .unprocessableContent && changed.errorCode == "idempotency_key_reused")
            // Another caller's identical key is their own.
            #expect(try await harness.pledge(key: "key-1", token: harness.otherDonorToken).headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            let mine = try await harness.client.execute(uri: "/pledges", method: .get, headers: .bearer(harness.donorToken)).json(PageBody<PledgeResponse>.self)
            #expect(mine.items.count == 1)
            #expect(try await harness.outboxTypes() == ["PLEDGE_CREATED", "PLEDGE_CREATED"])
        }
    }

    @Test("text at its limits is taken whatever its script: 500 characters of 4 bytes each", arguments: [TestDatabase.sqlite])
    func textAtLimit(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let message = String(repeating: "😀", count: 500)
            let response = try await harness.pledge(["message": message])
            #expect(response.status == .created)
            #expect(try response.json(PledgeResponse.self).message == message)
        }
    }

    @Test("bad input is a 400 with a stable code and writes nothing", arguments: TestDatabase.all)
    func validation(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let cases: [([String: any Sendable], String)] = [
                (["amount": 0], "invalid_amount"), (["amount": -1], "invalid_amount"), (["amount": 2.5], "invalid_amount"),
                (["amount": "25"], "invalid_amount"), (["amount": 1_000_001], "invalid_amount"),
                (["currency": "DOGE"], "invalid_currency"), (["message": String(repeating: "m", count: 501)], "invalid_message"),
                (["anonymous": "yes"], "invalid_anonymous"), (["campaign_id": ""], "invalid_campaign_id"),
                (["donor": ["name": "G", "email": "not-an-email"] as [String: any Sendable]], "invalid_donor"),
                (["donor": ["name": "", "email": "g@example.org"] as [String: any Sendable]], "invalid_donor"),
                // One character can be any number of bytes: text is limited in both.
                (["message": "a" + String(repeating: "\u{301}", count: 100_000)], "invalid_message"),
                (["donor": ["name": "b" + String(repeating: "\u{301}", count: 2_000), "email": "g@example.org"] as [String: any Sendable]], "invalid_donor"),
                // A NUL is refused alike on SQLite (which would store it) and PostgreSQL (which cannot).
                (["message": "a\u{0}b"], "invalid_text"),
                (["donor": ["name": "Nul\u{0}", "email": "g@example.org"] as [String: any Sendable]], "invalid_text"),
            ]
            for (fields, code) in cases {
                let response = try await harness.pledge(fields)
                #expect(response.status == .badRequest, "\(fields)")
                #expect(response.errorCode == code, "\(fields)")
            }
            var headers = HTTPFields.json
            let noDonor = try await harness.client.execute(
                uri: "/pledges", method: .post, headers: { headers[HTTPField.Name("Idempotency-Key")!] = "k"; return headers }(),
                body: ByteBuffer(json: ["campaign_id": harness.campaignId, "amount": 100, "currency": "USD"])
            )
            #expect(noDonor.errorCode == "donor_required")
            let noKey = try await harness.client.execute(uri: "/pledges", method: .post, headers: .bearer(harness.donorToken), body: ByteBuffer(json: ["amount": 1]))
            #expect(noKey.status == .badRequest && noKey.errorCode == "idempotency_key_required")
            let longKey = try await harness.pledge(key: String(repeating: "k", count: 256))
            #expect(longKey.status == .badRequest && longKey.errorCode == "invalid_idempotency_key")
            #expect(try await harness.outboxTypes().isEmpty)
        }
    }

    @Test("a guest's Idempotency-Key carries at least 128 bits; a signed-in donor's key is theirs alone and may be short", arguments: TestDatabase.all)
    func guestKeyEntropy(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            // A short guest key could be guessed, and with the victim's email and body the replay
            // would hand over their receipt token.
            let short = try await harness.pledge(key: String(repeating: "a", count: 21))
            #expect(short.status == .badRequest && short.errorCode == "idempotency_key_too_short")
            #expect(try await harness.outboxTypes().isEmpty, "nothing is written")
            #expect(try await harness.pledge(key: String(repeating: "a", count: 22)).status == .created)
            #expect(try await harness.pledge(key: UUID().uuidString).status == .created)
            #expect(try await harness.pledge(key: "1", token: harness.donorToken).status == .created)
        }
    }

    @Test("the largest pledge is counted in the currency's own units: 10,000 USD, JPY or KWD")
    func maximumPerCurrency() async throws {
        try await withPledgeService(.sqlite) { harness in
            for (currency, tooMuch, shown) in [("USD", 1_000_001, "10000.00 USD"), ("JPY", 10_001, "10000 JPY"), ("KWD", 10_000_001, "10000.000 KWD")] {
                let refused = try await harness.pledge(["amount": tooMuch, "currency": currency])
                #expect(refused.status == .badRequest && refused.errorCode == "invalid_amount", "\(currency)")
                #expect(refused.text.contains(shown), "\(refused.text)")
                // The largest allowed amount passes validation (the USD campaign then refuses a
                // pledge in another currency).
                let largest = try await harness.pledge(["amount": tooMuch - 1, "currency": currency])
                #expect(largest.errorCode != "invalid_amount", "\(currency)")
            }
        }
    }

    @Test("a campaign that is missing, not active or in another currency is 422; campaign-service down is 503; nothing written", arguments: TestDatabase.all)
    func campaignChecks(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let unknown = try await harness.pledge(["campaign_id": UUID().uuidString.lowercased()])
            #expect(unknown.status == .unprocessableContent && unknown.errorCode == "campaign_not_open")
            harness.campaigns.set(harness.campaignId, status: "paused")
            let paused = try await harness.pledge(key: "retry-me-0123456789abcdef")
            #expect(paused.status == .unprocessableContent && paused.errorCode == "campaign_not_open")
            harness.campaigns.set(harness.campaignId, status: "active", currency: "EUR")
            #expect(try await harness.pledge().errorCode == "currency_mismatch")
            harness.campaigns.set(harness.campaignId)
            harness.campaigns.setDown(true)
            let down = try await harness.pledge()
            #expect(down.status == .serviceUnavailable && down.errorCode == "campaign_service_unavailable")
            harness.campaigns.setDown(false)
            #expect(try await harness.outboxTypes().isEmpty)
            // A refused attempt does not use the key up.
            #expect(try await harness.pledge(key: "retry-me-0123456789abcdef").status == .created)
        }
    }

    @Test("listing: donors see their own, admins everyone's with filters; no token 401", arguments: TestDatabase.all)
    func list(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            for _ in 0..<3 { _ = try await harness.pledge(token: harness.donorToken) }
            _ = try await harness.pledge(token: harness.otherDonorToken)
            let guest = try await harness.pledge().json(PledgeResponse.self)
            _ = try await harness.webhook(guest.id, "CAPTURED")

            let mine = try await harness.client.execute(uri: "/pledges?limit=2", method: .get, headers: .bearer(harness.donorToken)).json(PageBody<PledgeResponse>.self)
            #expect(mine.items.count == 2 && mine.nextCursor != nil && mine.items.allSatisfy { $0.userId == "donor-1" })
            let rest = try await harness.client.execute(uri: "/pledges?limit=2&cursor=\(mine.nextCursor!)", method: .get, headers: .bearer(harness.donorToken)).json(PageBody<PledgeResponse>.self)
            #expect(rest.items.count == 1 && rest.nextCursor == nil)
            let all = try await harness.client.execute(uri: "/pledges?limit=100", method: .get, headers: .bearer(harness.adminToken)).json(PageBody<PledgeResponse>.self)
            #expect(all.items.count == 5)
            let captured = try await harness.client.execute(uri: "/pledges?status=CAPTURED&campaign_id=\(harness.campaignId)", method: .get, headers: .bearer(harness.adminToken)).json(PageBody<PledgeResponse>.self)
            #expect(captured.items.map(\.id) == [guest.id])
            let badStatus = try await harness.client.execute(uri: "/pledges?status=DONE", method: .get, headers: .bearer(harness.adminToken))
            #expect(badStatus.status == .badRequest)
            #expect(try await harness.client.execute(uri: "/pledges", method: .get).status == .unauthorized)
        }
    }

    @Test("50 concurrent requests with one key make exactly one pledge; the rest replay it or are told it is in use", arguments: TestDatabase.all)
    func concurrentKey(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String).self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        let response = try await harness.pledge(key: "one-key", token: harness.donorToken)
                        return (response.status, response.text)
                    }
                }
                return try await group.reduce(into: [(HTTPResponse.Status, String)]()) { $0.append($1) }
            }
            let created = statuses.filter { $0.0 == .created }
            #expect(created.count >= 1)
            #expect(Set(created.map(\.1)).count == 1)  // every 201 is the same pledge
            #expect(statuses.allSatisfy { $0.0 == .created || $0.0 == .conflict }, "\(statuses.filter { $0.0 != .created && $0.0 != .conflict })")
            let mine = try await harness.client.execute(uri: "/pledges", method: .get, headers: .bearer(harness.donorToken)).json(PageBody<PledgeResponse>.self)
            #expect(mine.items.count == 1)
            #expect(try await harness.outboxTypes() == ["PLEDGE_CREATED"])
        }
    }

    @Test("50 donors at once, each sending its request twice: 50 pledges and 50 events, committed in shared transactions; every repeat answers its own pledge", arguments: TestDatabase.all)
    func groupCommit(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let answers = try await withThrowingTaskGroup(of: (String, HTTPResponse.Status, String).self) { group in
                for n in 0..<100 {
                    let key = "donor-0123456789abcdef-\(n % 50)"
                    group.addTask {
                        let response = try await harness.pledge(key: key, ["amount": 100 + n % 50])
                        return (key, response.status, response.text)
                    }
                }
                return try await group.reduce(into: [(String, HTTPResponse.Status, String)]()) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.1 == .created || $0.1 == .conflict }, "\(answers.filter { $0.1 != .created && $0.1 != .conflict })")
            let byKey = Dictionary(grouping: answers.filter { $0.1 == .created }, by: \.0)
            #expect(byKey.count == 50)
            for (key, created) in byKey {
                #expect(Set(created.map(\.2)).count == 1, "\(key): one pledge, answered byte for byte")
                let pledge = try JSONCoding.decoder.decode(PledgeResponse.self, from: Data(created[0].2.utf8))
                #expect(pledge.amount == Int64(100 + Int(key.split(separator: "-").last!)!))
            }
            let rows = try await Databases.withClient(harness.databaseURL, logger: TestLogging.logger) { client in
                try await client.withConnection { db in
                    (try await db.raw("SELECT COUNT(*) AS n FROM pledges").first()!.decode(column: "n", as: Int.self),
                     try await db.raw("SELECT COUNT(*) AS n FROM pledge_transitions").first()!.decode(column: "n", as: Int.self))
                }
            }
            #expect(rows.0 == 50 && rows.1 == 50)
            #expect(try await harness.outboxTypes() == Array(repeating: "PLEDGE_CREATED", count: 50))
        }
    }

    @Test("the trace of the request that made a pledge travels with its event", arguments: TestDatabase.all)
    func traceTravels(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            var headers: HTTPFields = .json
            headers[HTTPField.Name("Idempotency-Key")!] = "traced-0123456789abcdef"
            headers[.traceparent] = traceparent
            let body = ByteBuffer(json: [
                "campaign_id": harness.campaignId, "amount": 100, "currency": "USD",
                "donor": ["name": "T", "email": "t@example.org"] as [String: any Sendable],
            ])
            #expect(try await harness.client.execute(uri: "/pledges", method: .post, headers: headers, body: body).status == .created)
            let payloads = try await Databases.withClient(harness.databaseURL, logger: TestLogging.logger) { client in
                try await client.withConnection { db in
                    try await db.raw("SELECT payload FROM outbox").all().map { try $0.decode(column: "payload", as: String.self) }
                }
            }
            #expect(payloads.count == 1)
            #expect(payloads.first?.contains(traceparent) == true)
        }
    }

    /// A row written by something else, or by newer code: its currency is not one of ours (the
    /// status has a CHECK; the currency has none). Reading it as a default (USD) would show a donor
    /// a wrong amount and count it in wrong totals.
    @Test("a stored currency the code does not know: the read fails with 500 and is counted, never shown as a default", arguments: TestDatabase.all)
    func unknownStoredCurrency(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let pledge = try await harness.pledge(token: harness.donorToken).json(PledgeResponse.self)
            try await Databases.withClient(harness.databaseURL, logger: TestLogging.logger) { client in
                try await client.withConnection { db in
                    try await db.raw("UPDATE pledges SET currency = 'XTS' WHERE id = \(bind: pledge.id)").run()
                }
            }
            let read = try await harness.client.execute(uri: "/pledges/\(pledge.id)", method: .get, headers: .bearer(harness.donorToken))
            #expect(read.status == .internalServerError)
            #expect(!read.text.contains("USD") && !read.text.contains("XTS"))
            let metrics = try await harness.client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains(#"stored_values_unknown_total{column="currency"} 1"#))
        }
    }
}
