import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import HummingbirdTesting
import Persistence
import SQLKit
import Testing
import TestSupport
@testable import PledgeService

extension PledgeHarness {
    /// The `DONATION_NOTICE`s in the outbox, oldest first.
    func donationNotices() async throws -> [DonationNotice] {
        try await Databases.withClient(databaseURL, logger: TestLogging.logger) { client in
            try await client.withConnection { db in
                try await db.raw("SELECT payload FROM outbox WHERE event_type = 'DONATION_NOTICE' AND destination = 'notification-events' ORDER BY created_at, id")
                    .all().map { row in
                        let envelope = try WireCoding.decoder.decode(NotificationEnvelope.self, from: Data(try row.decode(column: "payload", as: String.self).utf8))
                        guard case .donationNotice(let notice) = envelope.data else { throw NoticeError.notADonationNotice }
                        return notice
                    }
            }
        }
    }
}

enum NoticeError: Error { case notADonationNotice }

@Suite("pledge-service: donation notices for notification-service")
struct DonationNoticeTests {
    @Test("a guest's capture writes one receipt notice, with the receipt number and the link that carries their token; a refund one more", arguments: TestDatabase.all)
    func guestReceiptAndRefund(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let created = try await harness.pledge().json(PledgeResponse.self)
            let token = try #require(created.receiptToken)
            _ = try await harness.webhook(created.id, "AUTHORIZED")
            #expect(try await harness.donationNotices().isEmpty, "an authorization is no news for the donor")
            _ = try await harness.webhook(created.id, "CAPTURED")
            _ = try await harness.webhook(created.id, "CAPTURED")
            var notices = try await harness.donationNotices()
            #expect(notices.count == 1)
            let receipt = try #require(notices.first)
            #expect(receipt.kind == .receipt && receipt.donorEmail == "gita@example.org" && receipt.donorName == "Guest Gita")
            #expect(receipt.amount == created.amount && receipt.refundedAmount == 0 && receipt.currency.rawValue == created.currency)
            #expect(receipt.receiptNumber?.hasPrefix("CFA-") == true)
            #expect(receipt.receiptUrl == "http://localhost:8080/#/receipts/\(created.id)/\(token)")

            let refunded = try await harness.notices([[
                "event_id": UUID().uuidString, "pledge_id": created.id, "payment_id": "pay-1", "status": "CAPTURED",
                "occurred_at": Timestamp.format(Date()), "refunded_amount": 500,
            ]])
            #expect(refunded.status == .ok)
            notices = try await harness.donationNotices()
            #expect(notices.map(\.kind) == [.receipt, .refunded])
            #expect(notices.last?.refundedAmount == 500 && notices.last?.receiptNumber == receipt.receiptNumber)
        }
    }

    @Test("a signed-in donor's notices go to their account's email, with a link without a token; a failure says so, without a link")
    func signedInAndFailed() async throws {
        try await withPledgeService(.sqlite) { harness in
            let captured = try await harness.pledge(token: harness.donorToken).json(PledgeResponse.self)
            let failed = try await harness.pledge(token: harness.donorToken).json(PledgeResponse.self)
            _ = try await harness.webhook(captured.id, "CAPTURED")
            _ = try await harness.webhook(failed.id, "FAILED")
            let notices = try await harness.donationNotices()
            #expect(notices.map(\.kind) == [.receipt, .paymentFailed])
            #expect(notices.allSatisfy { $0.donorEmail == "dora@example.org" })
            #expect(notices[0].receiptUrl == "http://localhost:8080/#/receipts/\(captured.id)")
            #expect(notices[1].receiptUrl == nil && notices[1].receiptNumber == nil)
        }
    }
}
