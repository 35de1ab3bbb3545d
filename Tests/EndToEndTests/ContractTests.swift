import AsyncHTTPClient
import Auth
import Contracts
import Foundation
import Outbox
@testable import PaymentService
import CampaignService
import Persistence
@testable import PledgeService
import ServiceClient
import Signatures
import Testing
import TestSupport

/// Every edge between services, checked from both ends: the sender's own code writes what it
/// sends (the same builders its outbox and clients use), the receiver's real handler, on the
/// running platform, reads it. A field renamed or retyped on one side of a contract fails here.
@Suite("Contracts: what each sender writes, each receiver reads", .serialized)
struct ContractTests {
    @Test("payment-service's events and notices, pledge-service's notices, and the signed look-ups, summaries and token versions")
    func everyEdge() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let secret = try String(contentsOfFile: (platform.dataDirectory as NSString).appendingPathComponent("internal-signing-secret"), encoding: .utf8)
            let signatures = SignatureScheme(secret: secret)
            let admin = try await platform.adminToken()
            let campaignId = CampaignID(try #require(try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/campaigns", json: ["title": "Contracts", "goal_amount": 100_000, "currency": "USD"], bearer: admin
            ).json()["id"] as? String))

            // pledge-service -> campaign-service: the signed `pledgeable` question, read by HTTPCampaignDirectory.
            let campaigns = HTTPCampaignDirectory(baseURL: platform.campaignService, freshness: .charges, signatures: signatures, client: .testing)
            let summary = try #require(try await campaigns.pledgeable(id: campaignId, currency: "USD"))
            #expect(summary == CampaignSummary(id: campaignId, status: "active", currency: "USD", title: "Contracts", currencyLocked: true))

            // A guest's pledge through the gateway: PLEDGE_CREATED travels through pledge-service's outbox.
            let created = try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/pledges",
                json: ["campaign_id": campaignId.rawValue, "amount": 2500, "currency": "USD", "donor": ["name": "Cora", "email": "cora@example.org"] as [String: any Sendable]],
                headers: ["Idempotency-Key": UUID().uuidString]
            ).json()
            let pledgeId = PledgeID(try #require(created["id"] as? String))
            let receiptToken = try #require(created["receipt_token"] as? String)

            // payment-service -> pledge-service: the signed look-up, read by HTTPPledgeDirectory.
            let pledges = HTTPPledgeDirectory(baseURL: platform.pledgeService, signatures: signatures, client: .testing)
            let lookedUp = try #require(try await pledges.pledge(id: pledgeId, receiptToken: receiptToken))
            #expect(lookedUp.id == pledgeId && lookedUp.campaignId == campaignId && lookedUp.amount == 2500 && lookedUp.currency.rawValue == "USD")
            #expect(lookedUp.status == .pending && lookedUp.receiptTokenValid && lookedUp.userId == nil)

            // payment-service's outbox rows for a capture, as its settlement writes them: PAYMENT_CAPTURED
            // to campaign-service, the status notice to pledge-service; each receiver applies its own.
            let now = Timestamp.format(Date())
            let payment = Payment(
                id: .new(), pledgeId: pledgeId, campaignId: campaignId, userId: nil, receiptTokenHash: nil, amount: Money(2500, lookedUp.currency),
                status: .captured, provider: "sandbox", providerPaymentId: "pi_contract", paymentMethod: "pm_card_visa",
                chargeKey: "contract", clientSecret: nil, failureReason: nil, createdAt: now, updatedAt: now,
                refundedAmount: .zero(lookedUp.currency)
            )
            let entries = try SQLPaymentStore.events(for: payment, traceParent: nil, now: now)
            #expect(Set(entries.map(\.destination)) == [.campaignEvents, .pledgeNotices])
            let transport = HTTPEventTransport(endpoints: [
                .campaignEvents: OutboxEndpoint(.campaignEvents, at: platform.campaignService, signatures: signatures),
                .pledgeNotices: OutboxEndpoint(.pledgeNotices, at: platform.pledgeService, signatures: signatures),
                .notificationEvents: OutboxEndpoint(.notificationEvents, at: platform.notificationService, signatures: signatures),
            ], client: .testing)
            for entry in entries {
                let message = OutboxMessage(
                    id: entry.id, destination: entry.destination, eventType: entry.type, payload: entry.payload, traceParent: nil, createdAt: now, attempts: 1
                )
                let results = try await transport.deliver([message], to: entry.destination)
                #expect(results == [entry.id: .delivered], "\(entry.destination): \(results)")
            }
            #expect(try await eventually(timeout: .seconds(20)) {
                let pledge = try await HTTPClient.testing.get(platform.gateway + "/api/pledges/\(pledgeId)?receipt_token=\(receiptToken)").json()
                let campaign = try await HTTPClient.testing.get(platform.gateway + "/api/campaigns/\(campaignId)").json()
                return pledge["status"] as? String == "CAPTURED" && campaign["captured_amount"] as? Int == 2500
            }, "the notice moved the pledge and the event the campaign")

            // pledge-service -> notification-service: a DONATION_NOTICE as pledge-service writes it.
            let notices = DonationNotices(publicBaseURL: "http://localhost:8080", receiptTokens: ReceiptTokens(secret: "contract"))
            let pledge = Pledge(
                id: pledgeId, campaignId: campaignId, userId: nil, guestEmail: "cora@example.org", donorName: "Cora", amount: Money(2500, lookedUp.currency),
                status: .refunded, anonymous: false, message: nil, receiptTokenHash: nil, createdAt: now, updatedAt: now,
                refundedAmount: Money(2500, lookedUp.currency)
            )
            let notice = try #require(try notices.entry(.refunded, pledge: pledge, receiptNumber: nil, traceParent: nil, now: now))
            let noticeMessage = OutboxMessage(
                id: notice.id, destination: notice.destination, eventType: notice.type, payload: notice.payload, traceParent: nil, createdAt: now, attempts: 1
            )
            #expect(try await transport.deliver([noticeMessage], to: .notificationEvents) == [notice.id: .delivered])
            #expect(try await eventually(timeout: .seconds(20)) {
                let mails = try await HTTPClient.testing.send("GET", platform.gateway + "/api/notifications?kind=refunded", bearer: admin).json()
                return (mails["items"] as? [[String: Any]])?.contains { ($0["recipients"] as? [String]) == ["cora@example.org"] } == true
            })

            // campaign-service -> pledge- and payment-service: the reconciliation's summaries and resend.
            let ledgers = HTTPCampaignLedgers(
                pledgeServiceURL: platform.pledgeService, pledgeSignatures: signatures, paymentServiceURL: platform.paymentService,
                paymentSignatures: signatures, client: .testing
            )
            let ledger = try await ledgers.ledger(.pledges, campaignId: campaignId, entries: true, after: nil)
            #expect(ledger.campaignId == campaignId && ledger.counts["CAPTURED"] == 1 && ledger.amounts["CAPTURED"] == 2500)
            #expect(ledger.entries == [LedgerEntry(pledgeId: pledgeId, status: .captured, amount: 2500, refundedAmount: 0)])
            #expect(try await ledgers.resend(.pledges, pledgeIds: [pledgeId]) >= 1)
            #expect(try await ledgers.ledger(.payments, campaignId: campaignId, entries: false, after: nil).campaignId == campaignId)

            // every service -> user-service: a user's token version, read by HTTPTokenVersions.
            let registered = try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/users/register", json: ["email": "contract@example.org", "password": "a good password", "name": "C"]
            ).json()
            let userId = try #require((registered["user"] as? [String: Any])?["id"] as? String)
            let versions = HTTPTokenVersions(userServiceURL: platform.userService, signatures: signatures, client: .testing)
            #expect(try await versions.currentVersion(userID: UserID(userId)) != nil)
        }
    }
}
