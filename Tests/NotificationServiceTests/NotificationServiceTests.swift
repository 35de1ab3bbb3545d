import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import Persistence
import HummingbirdTesting
import NIOCore
import SMTP
import Testing
import TestSupport
@testable import NotificationService

@Suite("notification-service")
struct NotificationServiceTests {
    @Test("a signed DONATION_NOTICE queues the receipt mail and it is sent once, however often the event comes", arguments: TestDatabase.all)
    func receiptOnce(database: TestDatabase) async throws {
        try await withNotificationService(database) { service in
            let event = notice(.receipt)
            let first = try await service.send([event])
            #expect(first.status == .ok)
            #expect(try Results(first).kinds == ["applied"])
            let sent = try await eventually(timeout: .seconds(10)) { service.transport.sent.count == 1 }
            #expect(sent)
            let again = try await service.send([event, event])
            #expect(try Results(again).kinds == ["duplicate", "duplicate"])
            #expect(try await service.mails().count == 1, "the duplicates queued nothing")
            #expect(service.transport.sent.count == 1)

            let mail = try #require(service.transport.sent.first)
            #expect(mail.to == [MailAddress("dora@example.org", name: "Dora <Donor>")!] && mail.from.address == "receipts@careforall.example")
            #expect(mail.subject == "Your donation receipt CFA-2026-000042")
            #expect(mail.text.contains("25.00 USD") && mail.text.contains("CFA-2026-000042") && mail.text.contains("http://localhost:8080/#/receipts/p-1/tok"))
            #expect(mail.html?.contains("Dear Dora &lt;Donor&gt;,") == true && mail.html?.contains("<Donor>") == false)
            #expect(mail.messageId.hasSuffix("@careforall.example>"))
            let listed = try #require(try await service.mails().first)
            #expect(listed.status == "SENT" && listed.kind == "receipt" && listed.recipients == ["dora@example.org"] && listed.attempts == 1)
            #expect(listed.messageId == mail.messageId && listed.delivery == "recorded" && listed.text == nil)
        }
    }

    @Test("failed payment, refund and goal reached: each its own words, the goal to every admin")
    func kinds() async throws {
        try await withNotificationService(.sqlite) { service in
            let goal = NotificationEnvelope(
                eventId: UUID().uuidString.lowercased(), source: "campaign-service", occurredAt: Timestamp.format(Date()),
                data: .campaignGoalReached(CampaignGoalReached(
                    campaignId: "campaign-9", title: "Clean water", goalAmount: 100_000, capturedAmount: 100_500, currency: Currency(rawValue: "JPY")!
                ))
            )
            let response = try await service.send([notice(.paymentFailed), notice(.refunded, refunded: 1000), notice(.refunded, refunded: 2500), goal])
            #expect(try Results(response).kinds == ["applied", "applied", "applied", "applied"])
            #expect(try await eventually(timeout: .seconds(10)) { service.transport.sent.count == 4 })
            let bySubject = Dictionary(uniqueKeysWithValues: service.transport.sent.map { ($0.subject, $0) })
            #expect(bySubject["Your donation could not be completed"]?.text.contains("nothing was charged") == true)
            #expect(bySubject["Part of your donation was refunded"]?.text.contains("10.00 USD of your donation of 25.00 USD") == true)
            #expect(bySubject["Your donation was refunded"] != nil)
            let goalMail = try #require(bySubject["Goal reached: Clean water"])
            #expect(goalMail.to.map(\.address) == ["ops@example.org", "lead@example.org"])
            #expect(goalMail.text.contains("100500 JPY raised of 100000 JPY") && goalMail.text.contains("https://give.example/#/campaigns/campaign-9"))
            #expect(try await service.mails("?kind=goal_reached").count == 1)
            #expect(try await service.mails("?kind=refunded").count == 2)
        }
    }

    @Test("a donation mail names its campaign, asked of campaign-service; one campaign-service cannot tell about is left unnamed")
    func campaignTitles() async throws {
        try await withNotificationService(.sqlite, campaigns: StubTitles(titles: ["campaign-1": "Clean <water>"])) { service in
            _ = try await service.send([notice(.receipt), notice(.paymentFailed, campaignId: "campaign-unknown")])
            #expect(try await eventually(timeout: .seconds(10)) { service.transport.sent.count == 2 })
            let receipt = try #require(service.transport.sent.first { $0.subject.hasPrefix("Your donation receipt") })
            #expect(receipt.text.contains("25.00 USD to \u{201C}Clean <water>\u{201D}") && receipt.html?.contains("Clean &lt;water&gt;") == true)
            let failed = try #require(service.transport.sent.first { $0.subject == "Your donation could not be completed" })
            #expect(failed.text.contains("to a CareForAll campaign"))
        }
    }

    @Test("one unreadable or invalid event is rejected alone; an event with no usable address is ignored; unsigned is 401")
    func rejections() async throws {
        try await withNotificationService(.sqlite) { service in
            let good = notice()
            var badTime = notice()
            badTime.occurredAt = "yesterday"
            let noAddress = notice(email: "not an address")
            let body = try WireCoding.encoder.encode(["events": [good, badTime, noAddress]])
            var json = try JSONSerialization.jsonObject(with: body) as! [String: Any]
            var events = json["events"] as! [[String: Any]]
            events.append(["event_id": "e-4", "type": "DONATION_NOTICE", "source": "pledge-service", "occurred_at": Timestamp.format(Date()), "data": ["kind": "receipt"]])
            json["events"] = events
            let response = try await service.sendRaw(try JSONSerialization.data(withJSONObject: json))
            let results = try Results(response).results
            #expect(results.map(\.result.rawValue) == ["applied", "rejected", "ignored", "rejected"])
            #expect(results[1].reason?.contains("occurred_at") == true && results[3].eventId == "e-4" && results[3].reason?.contains("required") == true)
            #expect(results[2].reason?.contains("donor_email") == true)

            let unsigned = try await service.send([notice()], secret: nil)
            #expect(unsigned.status == .unauthorized && unsigned.errorCode == "invalid_signature")
            let wrong = try await service.send([notice()], secret: "not-the-secret")
            #expect(wrong.status == .unauthorized)
            #expect(try await service.sendRaw(Data("[1, 2]".utf8)).status == .badRequest)
            #expect(try await eventually(timeout: .seconds(10)) { service.transport.sent.count == 1 })
        }
    }

    @Test("the mail server away: the mail stays queued with its error and is retried with backoff until it is sent, once", arguments: TestDatabase.all)
    func retriedUntilSent(database: TestDatabase) async throws {
        try await withNotificationService(database) { service in
            service.transport.set(.down)
            _ = try await service.send([notice()])
            // Each retry comes due when the queue's clock passes its backoff (at most 15 minutes).
            let failing = try await eventually(timeout: .seconds(10)) {
                service.clock.advance(by: .seconds(901))
                return service.transport.attempts >= 3
            }
            #expect(failing)
            let queued = try #require(try await service.mails("?status=queued").first)
            #expect(queued.status == "QUEUED" && queued.attempts >= 3 && queued.lastError?.contains("connection refused") == true && queued.nextAttemptAt != nil)
            service.transport.set(.accept)
            #expect(try await eventually(timeout: .seconds(10)) {
                service.clock.advance(by: .seconds(901))
                return service.transport.sent.count == 1
            })
            let sent = try #require(try await service.mails().first)
            #expect(sent.status == "SENT" && sent.lastError == nil)
            service.clock.advance(by: .seconds(3600))
            #expect(try await service.mails("?status=queued").isEmpty, "a sent mail is never due again")
            #expect(service.transport.sent.count == 1)
        }
    }

    @Test("a refusal for good is FAILED and visible; an admin sends it again; only admins see the queue")
    func failedAndRetried() async throws {
        try await withNotificationService(.sqlite) { service in
            service.transport.set(.refuse)
            _ = try await service.send([notice()])
            #expect(try await eventually(timeout: .seconds(10)) { try await service.mails("?status=failed").count == 1 })
            let failed = try #require(try await service.mails("?status=FAILED").first)
            #expect(failed.lastError?.contains("550") == true && failed.attempts == 1)
            #expect(service.transport.attempts == 1, "a refusal for good is not retried by itself")

            let shown = try await service.client.execute(uri: "/notifications/\(failed.id)", method: .get, headers: .bearer(service.adminToken))
            #expect(try shown.json(MailResponse.self).text?.contains("Thank you") == true)
            #expect(try await service.client.execute(uri: "/notifications", method: .get, headers: .bearer(service.donorToken)).status == .forbidden)
            #expect(try await service.client.execute(uri: "/notifications", method: .get).status == .unauthorized)
            #expect(try await service.client.execute(uri: "/notifications?status=lost", method: .get, headers: .bearer(service.adminToken)).status == .badRequest)

            service.transport.set(.accept)
            let retry = try await service.client.execute(uri: "/notifications/\(failed.id)/retry", method: .post, headers: .bearer(service.adminToken))
            #expect(retry.status == .ok)
            #expect(try await eventually(timeout: .seconds(10)) { service.transport.sent.count == 1 })
            #expect(try await eventually(timeout: .seconds(5)) { try await service.mails().first?.status == "SENT" })
            let twice = try await service.client.execute(uri: "/notifications/\(failed.id)/retry", method: .post, headers: .bearer(service.adminToken))
            #expect(twice.status == .conflict && twice.errorCode == "mail_already_sent")
            #expect(try await service.client.execute(uri: "/notifications/nope/retry", method: .post, headers: .bearer(service.adminToken)).status == .notFound)
        }
    }

    @Test("without SMTP, each mail is an .eml file a mail client opens")
    func emlFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mail-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let message = MailMessage(
            from: MailAddress("a@careforall.example")!, to: [MailAddress("b@example.org")!], subject: "Hello", text: "Hi", html: "<p>Hi</p>",
            messageId: MailMessage.makeMessageId(domain: "careforall.example")
        )
        let delivery = try await FileMailTransport(directory: directory).deliver(message, name: "20261126-receipt-../../x")
        #expect(delivery == "mail/20261126-receipt-x.eml")
        let written = try String(contentsOfFile: directory + "/20261126-receipt-x.eml", encoding: .utf8)
        #expect(written == message.rendered())
    }
}
