import AsyncHTTPClient
import Foundation
import PlatformConfig
import Testing
import TestSupport

/// The whole donation through the gateway: register, pledge, pay, watch the campaign total move.
@Suite("End to end: donations paid through payment-service", .serialized)
struct PaymentFlowTests {
    @Test("register, pledge, pay with the sandbox: the pledge is CAPTURED and the campaign total moves")
    func donate() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let api = platform.gateway + "/api"
            let adminToken = try await platform.adminToken()
            let campaignId = try #require(try await HTTPClient.testing.send(
                "POST", api + "/campaigns", json: ["title": "Clean water", "goal_amount": 100_000, "currency": "USD", "status": "active"], bearer: adminToken
            ).json()["id"] as? String)
            let donor = try #require(try await HTTPClient.testing.send(
                "POST", api + "/users/register", json: ["email": "pay@example.org", "password": "pay-pay-pay", "name": "Paula"]
            ).json()["access_token"] as? String)

            let pledge = try await HTTPClient.testing.send(
                "POST", api + "/pledges", json: ["campaign_id": campaignId, "amount": 2500, "currency": "USD", "anonymous": false],
                bearer: donor, headers: ["Idempotency-Key": "pay-1"]
            )
            #expect(pledge.status == 201)
            let pledgeId = try #require(try pledge.json()["id"] as? String)

            let paid = try await HTTPClient.testing.send("POST", api + "/payments", json: ["pledge_id": pledgeId, "payment_method": "pm_card_visa"], bearer: donor)
            #expect(paid.status == 201)
            #expect(try paid.json()["status"] as? String == "CAPTURED")
            let paymentId = try #require(try paid.json()["id"] as? String)
            let again = try await HTTPClient.testing.send("POST", api + "/payments", json: ["pledge_id": pledgeId], bearer: donor)
            #expect(try again.status == 200 && again.json()["id"] as? String == paymentId)

            let settled = try await eventually(timeout: .seconds(20)) {
                let campaign = try await HTTPClient.testing.get(api + "/campaigns/\(campaignId)").json()
                let pledge = try await HTTPClient.testing.get(api + "/pledges/\(pledgeId)", bearer: donor).json()
                return campaign["captured_amount"] as? Int == 2500 && campaign["total_payments"] as? Int == 1
                    && pledge["status"] as? String == "CAPTURED"
            }
            #expect(settled, "PAYMENT_CAPTURED reached campaign-service and the notice reached pledge-service")
            let campaign = try await HTTPClient.testing.get(api + "/campaigns/\(campaignId)").json()
            #expect(campaign["pending_amount"] as? Int == 0 && campaign["authorized_amount"] as? Int == 0 && campaign["total_pledges"] as? Int == 1)

            let mine = try await HTTPClient.testing.get(api + "/payments?pledge_id=\(pledgeId)", bearer: donor).json()
            #expect((mine["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [paymentId])
            // Every service names itself and its version.
            for (url, role) in [(platform.paymentService, ServiceRole.payment), (platform.pledgeService, .pledge), (platform.userService, .user),
                                (platform.campaignService, .campaign), (platform.gateway, .gateway)] {
                let live = try await HTTPClient.testing.get(url + "/health/live").json()
                #expect(live["service"] as? String == role.serviceName && live["version"] as? String == role.version)
            }
            // The internal routes are not reachable through the gateway.
            #expect(try await HTTPClient.testing.send("POST", api + "/pledges/internal/lookup", json: ["pledge_id": pledgeId]).status == 404)
        }
    }

    @Test("an admin refunds part, then the rest, through the gateway: the campaign, the pledge, the history and the receipt follow")
    func refund() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let api = platform.gateway + "/api"
            let adminToken = try await platform.adminToken()
            let campaignId = try #require(try await HTTPClient.testing.send(
                "POST", api + "/campaigns", json: ["title": "Refunds", "goal_amount": 4000, "currency": "USD", "status": "active"], bearer: adminToken
            ).json()["id"] as? String)
            let pledge = try await HTTPClient.testing.send(
                "POST", api + "/pledges", json: ["campaign_id": campaignId, "amount": 4000, "currency": "USD", "donor": ["name": "Rita", "email": "rita@example.org"]],
                headers: ["Idempotency-Key": "refund-pledge-0123456789abcdef"]
            ).json()
            let pledgeId = try #require(pledge["id"] as? String)
            let receipt = try #require(pledge["receipt_token"] as? String)
            let paid = try await HTTPClient.testing.send("POST", api + "/payments?receipt_token=\(receipt)", json: ["pledge_id": pledgeId]).json()
            let paymentId = try #require(paid["id"] as? String)
            @Sendable func state() async throws -> (campaign: [String: Any], pledge: [String: Any], row: [String: Any]?) {
                let campaign = try await HTTPClient.testing.get(api + "/campaigns/\(campaignId)").json()
                let pledge = try await HTTPClient.testing.get(api + "/pledges/\(pledgeId)?receipt_token=\(receipt)").json()
                let history = try await HTTPClient.testing.get(api + "/campaigns/\(campaignId)/donations").json()
                return (campaign, pledge, (history["items"] as? [[String: Any]])?.first)
            }
            #expect(try await eventually(timeout: .seconds(20)) { try await state().campaign["captured_amount"] as? Int == 4000 })

            // Only an admin refunds; a guest's token is no key to it.
            let guest = try await HTTPClient.testing.send(
                "POST", api + "/payments/\(paymentId)/refunds?receipt_token=\(receipt)", json: ["reason": "mine"], headers: ["Idempotency-Key": "g"]
            )
            #expect(guest.status == 401)
            let part = try await HTTPClient.testing.send(
                "POST", api + "/payments/\(paymentId)/refunds", json: ["amount": 1500, "reason": "asked by the donor"], bearer: adminToken,
                headers: ["Idempotency-Key": "refund-a"]
            )
            #expect(try part.status == 201 && part.json()["status"] as? String == "SUCCEEDED")
            let partial = try await eventually(timeout: .seconds(20)) {
                let (campaign, pledge, row) = try await state()
                return campaign["captured_amount"] as? Int == 2500 && campaign["refunded_amount"] as? Int == 1500
                    && pledge["refunded_amount"] as? Int == 1500 && pledge["status"] as? String == "CAPTURED" && row?["refunded_amount"] as? Int == 1500
            }
            #expect(partial, "PAYMENT_REFUNDED reached campaign-service and the notice reached pledge-service")

            let rest = try await HTTPClient.testing.send(
                "POST", api + "/payments/\(paymentId)/refunds", json: ["reason": "campaign cancelled"], bearer: adminToken, headers: ["Idempotency-Key": "refund-b"]
            )
            #expect(try rest.status == 201 && rest.json()["amount"] as? Int == 2500)
            let full = try await eventually(timeout: .seconds(20)) {
                let (campaign, pledge, row) = try await state()
                return campaign["captured_amount"] as? Int == 0 && campaign["refunded_amount"] as? Int == 4000 && campaign["total_pledges"] as? Int == 1
                    && pledge["status"] as? String == "REFUNDED" && row?["status"] as? String == "REFUNDED"
            }
            #expect(full)
            let receiptBody = try await HTTPClient.testing.get(api + "/pledges/\(pledgeId)/receipt?receipt_token=\(receipt)").json()
            #expect(receiptBody["refunded_amount"] as? Int == 4000 && (receiptBody["receipt_number"] as? String)?.hasPrefix("CFA-") == true)
            let payment = try await HTTPClient.testing.get(api + "/payments/\(paymentId)", bearer: adminToken).json()
            #expect(payment["status"] as? String == "REFUNDED" && (payment["refunds"] as? [[String: Any]])?.count == 2)

            // Rita's mail: the receipt, then a notice per refund; the admin's: the goal reached by her donation.
            // Written as .eml files in dev mode and listed for admins.
            let mailed = try await eventually(timeout: .seconds(20)) {
                let mails = try await HTTPClient.testing.get(api + "/notifications", bearer: adminToken).json()["items"] as? [[String: Any]] ?? []
                return mails.filter { $0["status"] as? String == "SENT" }.count == 4
            }
            #expect(mailed)
            let mails = try await HTTPClient.testing.get(api + "/notifications", bearer: adminToken).json()["items"] as? [[String: Any]] ?? []
            #expect(mails.compactMap { $0["kind"] as? String }.sorted() == ["goal_reached", "receipt", "refunded", "refunded"])
            #expect(mails.filter { $0["kind"] as? String != "goal_reached" }.allSatisfy { ($0["recipients"] as? [String]) == ["rita@example.org"] })
            #expect(mails.first { $0["kind"] as? String == "goal_reached" }?["recipients"] as? [String] == [PlatformConfig.defaultAdminEmail])
            let receiptMail = try #require(mails.first { $0["kind"] as? String == "receipt" })
            let file = try #require((receiptMail["delivery"] as? String).map { dataDirectory + "/" + $0 })
            let eml = try String(contentsOfFile: file, encoding: .utf8)
            #expect(eml.contains("To: \"Rita\" <rita@example.org>") && eml.contains("Message-ID: \(receiptMail["message_id"] as? String ?? "?")"))
            let opened = try await HTTPClient.testing.get(api + "/notifications/\(receiptMail["id"] as? String ?? "")", bearer: adminToken).json()
            #expect((opened["text"] as? String)?.contains("#/receipts/\(pledgeId)/\(receipt)") == true, "the guest's link opens their receipt")
        }
    }

    @Test("JPY and KWD: a guest's donation is counted in the currency's own minor units, end to end")
    func currencies() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let api = platform.gateway + "/api"
            let adminToken = try await platform.adminToken()
            // 5,000 yen has no minor units; 1.250 dinars is 1,250 fils.
            for (currency, digits, amount, tooMuch) in [("JPY", 0, 5_000, 1_000_001), ("KWD", 3, 1_250, 1_000_000_001)] {
                let created = try await HTTPClient.testing.send(
                    "POST", api + "/campaigns", json: ["title": "Fund in \(currency)", "goal_amount": 1_000_000, "currency": currency], bearer: adminToken
                )
                #expect(try created.json()["minor_units"] as? Int == digits)
                let campaignId = try #require(try created.json()["id"] as? String)
                let guest: [String: any Sendable] = ["name": "Guest \(currency)", "email": "\(currency.lowercased())@example.org"]

                // The largest pledge is 1,000,000 whole units of the currency, whatever its minor units.
                let refused = try await HTTPClient.testing.send(
                    "POST", api + "/pledges", json: ["campaign_id": campaignId, "amount": tooMuch, "currency": currency, "donor": guest],
                    headers: ["Idempotency-Key": "too-much-0123456789abcdef-\(currency)"]
                )
                #expect(refused.status == 400 && String(decoding: refused.body, as: UTF8.self).contains("invalid_amount"))

                let pledge = try await HTTPClient.testing.send(
                    "POST", api + "/pledges", json: ["campaign_id": campaignId, "amount": amount, "currency": currency, "donor": guest],
                    headers: ["Idempotency-Key": "pledge-0123456789abcdef-\(currency)"]
                )
                #expect(pledge.status == 201)
                let pledgeId = try #require(try pledge.json()["id"] as? String)
                let receipt = try #require(try pledge.json()["receipt_token"] as? String)
                let paid = try await HTTPClient.testing.send(
                    "POST", api + "/payments?receipt_token=\(receipt)", json: ["pledge_id": pledgeId, "payment_method": "pm_card_visa"]
                )
                #expect(try paid.status == 201 && paid.json()["amount"] as? Int == amount && paid.json()["currency"] as? String == currency)
                let counted = try await eventually(timeout: .seconds(20)) {
                    let campaign = try await HTTPClient.testing.get(api + "/campaigns/\(campaignId)").json()
                    return campaign["captured_amount"] as? Int == amount && campaign["total_payments"] as? Int == 1
                }
                #expect(counted, "\(currency): the capture reached the campaign")
                let history = try await HTTPClient.testing.get(api + "/campaigns/\(campaignId)/donations").json()
                let row = try #require((history["items"] as? [[String: Any]])?.first)
                #expect(row["amount"] as? Int == amount && row["currency"] as? String == currency && row["status"] as? String == "CAPTURED")
            }
        }
    }

    @Test("SANDBOX_WEBHOOK_CHAOS=1: 50 concurrent donations, a quarter declined, end with exact totals")
    func chaos() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory, environment: ["SANDBOX_WEBHOOK_CHAOS": "1", "GATEWAY_PLEDGE_RATE_LIMIT": "0", "GATEWAY_PAYMENT_RATE_LIMIT": "0"]) { platform in
            let api = platform.gateway + "/api"
            let adminToken = try await platform.adminToken()
            let campaignId = try #require(try await HTTPClient.testing.send(
                "POST", api + "/campaigns", json: ["title": "Chaos", "goal_amount": 1_000_000, "currency": "USD", "status": "active"], bearer: adminToken
            ).json()["id"] as? String)

            // 50 guest donations of 100 + i, from 10 concurrent clients; every fourth card declines.
            let donations = 50
            let outcomes = try await withThrowingTaskGroup(of: [(amount: Int, declined: Bool, pledgeId: String, receipt: String)].self) { group in
                for worker in 0..<10 {
                    group.addTask {
                        var done: [(amount: Int, declined: Bool, pledgeId: String, receipt: String)] = []
                        for i in stride(from: worker, to: donations, by: 10) {
                            let amount = 100 + i
                            let declined = i % 4 == 0
                            let pledge = try await HTTPClient.testing.send(
                                "POST", api + "/pledges",
                                json: ["campaign_id": campaignId, "amount": amount, "currency": "USD", "anonymous": i % 3 == 0,
                                       "donor": ["name": "Donor \(i)", "email": "donor\(i)@example.org"] as [String: any Sendable]],
                                headers: ["Idempotency-Key": "chaos-0123456789abcdef-\(i)"]
                            )
                            let pledgeId = try #require(try pledge.json()["id"] as? String)
                            let receipt = try #require(try pledge.json()["receipt_token"] as? String)
                            let method = declined ? "pm_card_visa_chargeDeclined" : "pm_card_visa"
                            let paid = try await HTTPClient.testing.send(
                                "POST", api + "/payments?receipt_token=\(receipt)", json: ["pledge_id": pledgeId, "payment_method": method]
                            )
                            #expect(paid.status == 201)
                            done.append((amount, declined, pledgeId, receipt))
                        }
                        return done
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(outcomes.count == donations)
            let captured = outcomes.filter { !$0.declined }
            let failed = outcomes.filter(\.declined)
            #expect(failed.count == 13)
            let capturedAmount = captured.reduce(0) { $0 + $1.amount }
            let failedAmount = failed.reduce(0) { $0 + $1.amount }

            @Sendable func campaign() async throws -> [String: Any] { try await HTTPClient.testing.get(api + "/campaigns/\(campaignId)").json() }
            let exact = try await eventually(timeout: .seconds(60)) {
                let totals = try await campaign()
                return totals["captured_amount"] as? Int == capturedAmount && totals["failed_amount"] as? Int == failedAmount
                    && totals["pending_amount"] as? Int == 0 && totals["authorized_amount"] as? Int == 0
            }
            #expect(exact, "the campaign totals settled")
            // Every chaotic redelivery (delays of up to 3 s) landed: then nothing may have moved.
            let landed = try await eventually(timeout: .seconds(30)) {
                let metrics = String(decoding: try await HTTPClient.testing.get(platform.paymentService + "/metrics").body, as: UTF8.self)
                return metrics.split(separator: "\n").contains { line in
                    line.hasPrefix("sandbox_webhooks_pending ") && Double(line.split(separator: " ").last ?? "") == 0
                }
            }
            #expect(landed, "the sandbox's redeliveries all landed")
            let totals = try await campaign()
            #expect(totals["captured_amount"] as? Int == capturedAmount)
            #expect(totals["current_amount"] as? Int == capturedAmount)
            #expect(totals["failed_amount"] as? Int == failedAmount)
            #expect(totals["pending_amount"] as? Int == 0 && totals["authorized_amount"] as? Int == 0)
            #expect(totals["total_pledges"] as? Int == donations)
            #expect(totals["total_payments"] as? Int == captured.count)

            for outcome in outcomes {
                let pledge = try await HTTPClient.testing.get(api + "/pledges/\(outcome.pledgeId)?receipt_token=\(outcome.receipt)").json()
                #expect(pledge["status"] as? String == (outcome.declined ? "FAILED" : "CAPTURED"), "pledge \(outcome.pledgeId)")
            }
        }
    }
}
