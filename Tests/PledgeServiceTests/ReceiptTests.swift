import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Persistence
import SQLKit
import Testing
import TestSupport
@testable import PledgeService

@Suite("pledge-service: receipts")
struct ReceiptTests {
    @Test("a receipt is issued once, when the pledge is captured, and read as JSON or a printable page", arguments: TestDatabase.all)
    func issuedOnCapture(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            harness.campaigns.set(harness.campaignId, title: "Clean <water> & wells")
            let created = try await harness.pledge(["donor": ["name": "Gita <b>", "email": "gita@example.org"] as [String: any Sendable]])
            let pledge = try created.json(PledgeResponse.self)
            let token = try #require(pledge.receiptToken)
            let receiptURI = "/pledges/\(pledge.id)/receipt?receipt_token=\(token)"

            // Before the capture: none, in either form.
            let early = try await harness.client.execute(uri: receiptURI, method: .get)
            #expect(early.status == .notFound && early.errorCode == "no_receipt")
            let earlyPage = try await harness.client.execute(uri: receiptURI, method: .get, headers: [.accept: "text/html"])
            #expect(earlyPage.status == .notFound && earlyPage.text.contains("No receipt yet"))
            let unread = try await harness.client.execute(uri: "/pledges/\(pledge.id)?receipt_token=\(token)", method: .get)
            #expect(unread.text.contains("\"receipt_number\":null") && unread.text.contains("\"refunded_amount\":0"))

            _ = try await harness.webhook(pledge.id, "AUTHORIZED")
            #expect(try await harness.client.execute(uri: receiptURI, method: .get).errorCode == "no_receipt")
            _ = try await harness.webhook(pledge.id, "CAPTURED")
            let receipt = try await harness.client.execute(uri: receiptURI, method: .get).json(ReceiptResponse.self)
            #expect(receipt.receiptNumber.range(of: #"^CFA-\d{4}-\d{6,}$"#, options: .regularExpression) != nil, "\(receipt.receiptNumber)")
            #expect(receipt.receiptNumber.hasPrefix("CFA-\(receipt.issuedAt.prefix(4))-"))
            #expect(receipt.pledgeId == pledge.id && receipt.campaignId == harness.campaignId && receipt.campaignTitle == "Clean <water> & wells")
            #expect(receipt.donorName == "Gita <b>" && receipt.donorEmail == "gita@example.org")
            #expect(receipt.amount == 2500 && receipt.currency == "USD" && receipt.refundedAmount == 0)

            // A redelivered or repeated capture keeps the number.
            _ = try await harness.webhook(pledge.id, "CAPTURED")
            let again = try await harness.client.execute(uri: receiptURI, method: .get).json(ReceiptResponse.self)
            #expect(again == receipt)
            let read = try await harness.client.execute(uri: "/pledges/\(pledge.id)?receipt_token=\(token)", method: .get)
            #expect(try read.json(PledgeResponse.self).receiptNumber == receipt.receiptNumber)

            // The printable page: the amount in the currency's digits, and every text escaped.
            let page = try await harness.client.execute(uri: receiptURI, method: .get, headers: [.accept: "text/html,application/xhtml+xml"])
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8" && page.headers[.cacheControl] == "no-store")
            #expect(page.text.contains(receipt.receiptNumber) && page.text.contains("25.00 USD"))
            #expect(page.text.contains("Gita &lt;b&gt;") && page.text.contains("Clean &lt;water&gt; &amp; wells"))
            #expect(!page.text.contains("<b>") && !page.text.contains("<water>"))

            // Only those who may read the pledge may read its receipt.
            let stranger = try await harness.client.execute(uri: "/pledges/\(pledge.id)/receipt", method: .get, headers: .bearer(harness.otherDonorToken))
            #expect(stranger.status == .notFound && stranger.errorCode == "not_found")
            let wrongToken = try await harness.client.execute(uri: "/pledges/\(pledge.id)/receipt?receipt_token=nope", method: .get)
            #expect(wrongToken.status == .notFound && wrongToken.errorCode == "not_found")
            let admin = try await harness.client.execute(uri: "/pledges/\(pledge.id)/receipt", method: .get, headers: .bearer(harness.adminToken))
            #expect(try admin.json(ReceiptResponse.self).receiptNumber == receipt.receiptNumber)
        }
    }

    @Test("a signed-in donor's receipt carries their own email; their list shows receipt numbers", arguments: [TestDatabase.sqlite])
    func signedIn(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let pledge = try await harness.pledge(token: harness.donorToken).json(PledgeResponse.self)
            _ = try await harness.webhook(pledge.id, "CAPTURED")
            let receipt = try await harness.client.execute(uri: "/pledges/\(pledge.id)/receipt", method: .get, headers: .bearer(harness.donorToken))
                .json(ReceiptResponse.self)
            #expect(receipt.donorEmail == "dora@example.org")
            // An admin reading it sees the email the donor's account had when they pledged.
            let byAdmin = try await harness.client.execute(uri: "/pledges/\(pledge.id)/receipt", method: .get, headers: .bearer(harness.adminToken))
            #expect(try byAdmin.json(ReceiptResponse.self).donorEmail == "dora@example.org")
            let list = try await harness.client.execute(uri: "/pledges", method: .get, headers: .bearer(harness.donorToken))
            let items = try list.json(PageBody<PledgeResponse>.self).items
            #expect(items.count == 1 && items.first?.receiptNumber == receipt.receiptNumber)
        }
    }

    @Test("60 pledges captured by concurrent notice batches get 60 different numbers, each kept on redelivery", arguments: TestDatabase.all)
    func uniqueUnderConcurrency(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            var ids: [String] = []
            for _ in 0..<60 { ids.append(try await harness.pledge().json(PledgeResponse.self).id.rawValue) }
            // Twelve batches of five at once, then every capture delivered again with new event ids.
            for _ in 0..<2 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for chunk in stride(from: 0, to: ids.count, by: 5) {
                        let batch = ids[chunk..<chunk + 5].map { id -> [String: any Sendable] in
                            ["event_id": UUID().uuidString, "pledge_id": id, "payment_id": "pay-\(id)", "status": "CAPTURED", "occurred_at": Timestamp.format(Date())]
                        }
                        group.addTask {
                            let answer = try await harness.notices(batch)
                            #expect(answer.status == .ok)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let numbers = try await Databases.withClient(harness.databaseURL, logger: TestLogging.logger) { client in
                try await client.withConnection { db in
                    try await db.raw("SELECT pledge_id, sequence, year FROM receipts").all().map {
                        (try $0.decode(column: "pledge_id", as: String.self), try $0.decode(column: "sequence", as: Int64.self))
                    }
                }
            }
            #expect(numbers.count == 60)
            #expect(Set(numbers.map(\.0)) == Set(ids))
            #expect(Set(numbers.map(\.1)).count == 60)
        }
    }
}

@Suite("pledge-service migrations")
struct PledgeMigrationTests {
    @Test("pledges captured before receipts existed get theirs, in capture order; refunds then fit in the table, kept whole", arguments: TestDatabase.all)
    func backfillsReceipts(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let receipts = try #require(PledgeMigrations.all.firstIndex { $0.name == "004_create_receipts" })
            try await Migrator(service: "pledge", migrations: Array(PledgeMigrations.all.prefix(receipts)), logger: TestLogging.logger).migrate(client)
            try await client.withConnection { db in
                for (id, status, capturedAt) in [("p-late", "CAPTURED", "2026-05-02T10:00:00.000Z"), ("p-early", "CAPTURED", "2025-12-31T23:00:00.000Z"),
                                                 ("p-pending", "PENDING", nil)] as [(String, String, String?)] {
                    try await db.raw("""
                        INSERT INTO pledges (id, campaign_id, donor_name, amount, currency, status, anonymous, created_at, updated_at)
                        VALUES (\(bind: id), 'c1', 'Donor', 100, 'USD', \(bind: status), 0, '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')
                        """).run()
                    if let capturedAt {
                        try await db.raw("""
                            INSERT INTO pledge_transitions (id, pledge_id, from_status, to_status, at)
                            VALUES (\(bind: id + "-t"), \(bind: id), 'AUTHORIZED', 'CAPTURED', \(bind: capturedAt))
                            """).run()
                    }
                }
            }
            try await Migrator(service: "pledge", migrations: PledgeMigrations.all, logger: TestLogging.logger).migrate(client)
            let rows = try await client.withConnection { db in
                try await db.raw("SELECT pledge_id, sequence, year, captured_at FROM receipts ORDER BY sequence").all().map {
                    Receipt(
                        pledgeId: try $0.decode(column: "pledge_id", known: PledgeID.self), sequence: try $0.decode(column: "sequence", as: Int64.self),
                        year: try $0.decode(column: "year", as: Int.self), capturedAt: try $0.decode(column: "captured_at", as: String.self),
                        issuedAt: ""
                    )
                }
            }
            #expect(rows.map(\.pledgeId) == ["p-early", "p-late"])
            #expect(rows.map(\.number) == ["CFA-2025-000001", "CFA-2026-000002"])
            // Migration 005 kept every pledge as it was, and now takes REFUNDED and refunded amounts.
            let pledges = try await client.withConnection { db in
                try await db.raw("SELECT id, status, refunded_amount FROM pledges ORDER BY id").all().map {
                    [try $0.decode(column: "id", as: String.self), try $0.decode(column: "status", as: String.self),
                     String(try $0.decode(column: "refunded_amount", as: Int64.self))]
                }
            }
            #expect(pledges == [["p-early", "CAPTURED", "0"], ["p-late", "CAPTURED", "0"], ["p-pending", "PENDING", "0"]])
            try await client.withConnection { db in
                try await db.raw("UPDATE pledges SET status = 'REFUNDED', refunded_amount = 100 WHERE id = 'p-early'").run()
            }
            await #expect(throws: (any Error).self, "a refund above the amount is refused by the table") {
                try await client.withConnection { db in
                    try await db.raw("UPDATE pledges SET refunded_amount = 101 WHERE id = 'p-late'").run()
                }
            }
        }
    }
}
