import Contracts
import HTTPSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Persistence
import Testing
import TestSupport
@testable import CampaignService
import SQLKit

@Suite("campaign-service: signed event ingestion")
struct EventIngestionTests {
    @Test("a signed event is applied once; the same event again is a duplicate", arguments: TestDatabase.all)
    func appliedThenDuplicate(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let created = PledgeEvents(campaignId: campaign.id, amount: 2500).created()
            let first = try await harness.send([created])
            #expect(first.status == .ok)
            #expect(try first.wire(IngestResults.self).results.map(\.result.rawValue) == ["applied"])
            #expect(try first.wire(IngestResults.self).results.map(\.eventId) == [created.eventId])
            let again = try await harness.send([created, created], batch: true)
            #expect(try again.wire(IngestResults.self).results.map(\.result.rawValue) == ["duplicate", "duplicate"])
            let metrics = try await harness.client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains(#"events_ingested_total{type="PLEDGE_CREATED",result="applied"} 1"#))
            #expect(metrics.contains(#"events_ingested_total{type="PLEDGE_CREATED",result="duplicate"} 2"#))
            let totals = try await harness.campaign(campaign.id).totals
            #expect(totals == CampaignTotals(pendingAmount: 2500, authorizedAmount: 0, capturedAmount: 0, failedAmount: 0, totalPledges: 1, totalPayments: 0))
        }
    }

    @Test("a missing, wrong or stale signature is 401 invalid_signature and applies nothing", arguments: TestDatabase.all)
    func signatures(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let event = PledgeEvents(campaignId: campaign.id, amount: 100).created()
            let body = try WireCoding.encoder.encode(event)
            let unsigned = try await harness.sendRaw(body, secret: nil)
            let wrong = try await harness.sendRaw(body, secret: "not-the-secret")
            let stale = try await harness.sendRaw(body, signedAt: Date().addingTimeInterval(-301))
            for response in [unsigned, wrong, stale] {
                #expect(response.status == .unauthorized)
                #expect(response.errorCode == "invalid_signature")
            }
            #expect(try await harness.campaign(campaign.id).totalPledges == 0)
            let metrics = try await harness.client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains(#"signature_failures_total{reason="missingHeader"} 1"#))
            #expect(metrics.contains(#"signature_failures_total{reason="mismatch"} 1"#))
            #expect(metrics.contains(#"signature_failures_total{reason="expired"} 1"#))
            let signedAfter = try await harness.send([event])
            #expect(try signedAfter.wire(IngestResults.self).results.map(\.result.rawValue) == ["applied"])
        }
    }

    @Test("a malformed event is rejected with its reason and never holds back the good events of its batch", arguments: TestDatabase.all)
    func malformedEvent(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let c = campaign.id
            let variants: [(String, String)] = [
                (#"{"event_id": "not-a-uuid", "type": "PLEDGE_CREATED", "source": "t", "occurred_at": "2026-01-01T00:00:00Z", "data": {}}"#, "not-a-uuid"),
                (#"{"event_id": "e-type", "type": "PLEDGE_EXPLODED", "source": "t", "occurred_at": "2026-01-01T00:00:00Z", "data": {}}"#, "e-type"),
                (#"{"event_id": "\#(UUID())", "type": "PAYMENT_CAPTURED", "source": "t", "occurred_at": "2026-01-01T00:00:00Z", "data": {"payment_id": "p", "pledge_id": "x", "campaign_id": "\#(c)", "amount": -5, "currency": "USD"}}"#, ""),
                (#"{"event_id": "\#(UUID())", "type": "PAYMENT_CAPTURED", "source": "t", "occurred_at": "2026-01-01T00:00:00Z", "data": {"payment_id": "p", "pledge_id": "x", "campaign_id": "\#(c)", "amount": 5, "currency": "XXX"}}"#, ""),
                (#"{"event_id": "\#(UUID())", "type": "PAYMENT_CAPTURED", "source": "t", "occurred_at": "yesterday", "data": {"payment_id": "p", "pledge_id": "x", "campaign_id": "\#(c)", "amount": 5, "currency": "USD"}}"#, ""),
                (#"{"event_id": "\#(UUID())", "type": "PAYMENT_CAPTURED", "source": "t", "occurred_at": "2026-01-01T00:00:00Z", "data": {"payment_id": "p", "campaign_id": "\#(c)", "amount": 5, "currency": "USD"}}"#, ""),
                (#"{"event_id": "\#(UUID())", "type": "PLEDGE_STATUS_CHANGED", "source": "t", "occurred_at": "2026-01-01T00:00:00Z", "data": {"pledge_id": "x", "campaign_id": "\#(c)", "previous_status": "PENDING", "new_status": "EXPLODED", "amount": 5, "currency": "USD"}}"#, ""),
                ("42", ""),
            ]
            var applied = 0
            for (bad, id) in variants {
                let good = PledgeEvents(campaignId: c, amount: 700).created()
                let goodJSON = String(decoding: try WireCoding.encoder.encode(good), as: UTF8.self)
                let response = try await harness.sendRaw(Data(#"{"events": [\#(goodJSON), \#(bad)]}"#.utf8))
                #expect(response.status == .ok, "\(bad)")
                let results = try response.wire(IngestResults.self).results
                #expect(results.map(\.result.rawValue) == ["applied", "rejected"], "\(bad)")
                #expect(results[1].reason?.isEmpty == false, "\(bad)")
                if !id.isEmpty { #expect(results[1].eventId == id) }
                applied += 1
            }
            #expect(try await harness.campaign(c).totalPledges == applied, "every good event counted, no bad one")
            let notJSON = try await harness.sendRaw(Data("{nope".utf8))
            #expect(notJSON.status == .badRequest && notJSON.errorCode == "invalid_json")
            let notABatch = try await harness.sendRaw(Data(#"{"events": 7}"#.utf8))
            #expect(notABatch.status == .badRequest && notABatch.errorCode == "invalid_event")
            let metrics = try await harness.client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains(#"result="rejected""#))
        }
    }

    @Test("an event for an unknown campaign, or in another currency than its campaign's, is rejected; the others apply", arguments: TestDatabase.all)
    func wrongCampaign(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let ghost = UUID().uuidString.lowercased()
            var euros = PledgeEvents(campaignId: campaign.id, amount: 300)
            euros.currency = Currency(rawValue: "EUR")!
            let good = PledgeEvents(campaignId: campaign.id, amount: 400).created()
            let response = try await harness.send([PledgeEvents(campaignId: CampaignID(ghost), amount: 300).created(), euros.created(), good], batch: true)
            let results = try response.wire(IngestResults.self).results
            #expect(results.map(\.result.rawValue) == ["rejected", "rejected", "applied"])
            #expect(results[0].reason?.contains("unknown campaign") == true)
            #expect(results[1].reason?.contains("EUR") == true)
            #expect(try await harness.campaign(campaign.id).totals.pendingAmount == 400)
            #expect(try await harness.client.execute(uri: "/campaigns/\(ghost)", method: .get).status == .notFound)
        }
    }

    @Test("8 batches at once, sharing some events: each answers its own events in order, every event counts once, the totals are exact", arguments: TestDatabase.all)
    func concurrentBatches(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let pledges = (0..<40).map { PledgeEvents(campaignId: campaign.id, amount: Int64(100 + $0)) }
            let events = pledges.flatMap { [$0.created(), $0.captured()] }
            // Batch n carries events 10n..<10n+20: every event is in two batches but the first and last ten.
            let batches = (0..<8).map { n in Array(events[(10 * n)..<min(events.count, 10 * n + 20)]) }
            @Sendable func ingest(_ batch: [EventEnvelope]) async throws -> [(id: String, applied: Bool)] {
                try await harness.send(batch, batch: true).wire(IngestResults.self).results.map { ($0.eventId ?? "", $0.result == .applied) }
            }
            let answers = try await withThrowingTaskGroup(of: (Int, [(id: String, applied: Bool)]).self) { group in
                for (n, batch) in batches.enumerated() {
                    group.addTask { (n, try await ingest(batch)) }
                }
                return try await group.reduce(into: [Int: [(id: String, applied: Bool)]]()) { $0[$1.0] = $1.1 }
            }
            for (n, batch) in batches.enumerated() {
                #expect(answers[n]?.map(\.id) == batch.map(\.eventId), "batch \(n) answers its own events, in order")
            }
            let applied = answers.values.flatMap { $0 }.filter(\.applied).map(\.id)
            #expect(applied.count == events.count && Set(applied) == Set(events.map(\.eventId)), "each event applied once")
            let totals = try await harness.campaign(campaign.id)
            #expect(totals.totalPledges == 40 && totals.capturedAmount == pledges.map(\.amount).reduce(0, +) && totals.pendingAmount == 0)
        }
    }

    @Test("a pledge's life moves its money bucket by bucket, and late news changes nothing", arguments: TestDatabase.all)
    func lifecycle(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let pledge = PledgeEvents(campaignId: campaign.id, amount: 5000)
            func totals() async throws -> CampaignTotals { try await harness.campaign(campaign.id).totals }

            _ = try await harness.send([pledge.created()])
            #expect(try await totals() == CampaignTotals(pendingAmount: 5000, authorizedAmount: 0, capturedAmount: 0, failedAmount: 0, totalPledges: 1, totalPayments: 0))
            _ = try await harness.send([pledge.changed(.pending, .authorized)])
            #expect(try await totals() == CampaignTotals(pendingAmount: 0, authorizedAmount: 5000, capturedAmount: 0, failedAmount: 0, totalPledges: 1, totalPayments: 0))
            _ = try await harness.send([pledge.changed(.authorized, .captured), pledge.captured()], batch: true)
            let captured = CampaignTotals(pendingAmount: 0, authorizedAmount: 0, capturedAmount: 5000, failedAmount: 0, totalPledges: 1, totalPayments: 1)
            #expect(try await totals() == captured)
            #expect(try await harness.campaign(campaign.id).currentAmount == 5000)
            // A late AUTHORIZED and a stray failure after capture change nothing.
            let late = try await harness.send([pledge.changed(.pending, .authorized), pledge.failed()], batch: true)
            #expect(try late.wire(IngestResults.self).results.map(\.result.rawValue) == ["applied", "applied"])
            #expect(try await totals() == captured)
        }
    }

    @Test("CAPTURED before CREATED still ends CAPTURED, counted once, with the donor filled in later", arguments: TestDatabase.all)
    func capturedFirst(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let pledge = PledgeEvents(campaignId: campaign.id, amount: 1200)
            let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            _ = try await harness.send([pledge.captured(at: now.addingTimeInterval(2))])
            let early = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/donations", method: .get).json(PageBody<DonationResponse>.self)
            #expect(early.items.first?.donorName == "Anonymous")
            _ = try await harness.send([pledge.created(at: now), pledge.changed(.pending, .authorized, at: now.addingTimeInterval(1))], batch: true)
            let totals = try await harness.campaign(campaign.id).totals
            #expect(totals == CampaignTotals(pendingAmount: 0, authorizedAmount: 0, capturedAmount: 1200, failedAmount: 0, totalPledges: 1, totalPayments: 1))
            let history = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/donations", method: .get).json(PageBody<DonationResponse>.self)
            // One row for the donation, whatever number of events told us about it.
            #expect(history.items.count == 1)
            let donation = try #require(history.items.first)
            #expect(donation.pledgeId == pledge.pledgeId && donation.status == "CAPTURED" && donation.amount == 1200)
            #expect(donation.donorName == "Grace" && donation.message == "Good luck!")
            // Made when it was created, changed when it was captured, though CAPTURED came first.
            #expect(donation.createdAt == Timestamp.format(now))
            #expect(donation.updatedAt == Timestamp.format(now.addingTimeInterval(2)))
            #expect(donation.refundedAmount == 0)
        }
    }

    @Test("the public history is newest first, paginated, anonymous where asked, with no emails or user ids", arguments: TestDatabase.all)
    func history(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            var named = PledgeEvents(campaignId: campaign.id, amount: 100)
            named.donorName = "Guest Gita"
            var hidden = PledgeEvents(campaignId: campaign.id, amount: 200)
            hidden.anonymous = true
            hidden.donorName = "Secret Sam"
            var events = [named.created(at: start), hidden.created(at: start.addingTimeInterval(1))]
            for index in 0..<3 {
                events.append(PledgeEvents(campaignId: campaign.id, amount: Int64(10 + index)).created(at: start.addingTimeInterval(Double(2 + index))))
            }
            // A failed donation is not listed.
            let failed = PledgeEvents(campaignId: campaign.id, amount: 999)
            events += [failed.created(at: start.addingTimeInterval(10)), failed.failed()]
            _ = try await harness.send(events.shuffled(), batch: true)

            var items: [DonationResponse] = []
            var cursor: String?
            var raw = ""
            repeat {
                let response = try await harness.client.execute(
                    uri: "/campaigns/\(campaign.id)/donations?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), method: .get
                )
                raw += response.text
                let page = try response.json(PageBody<DonationResponse>.self)
                items += page.items
                cursor = page.nextCursor
            } while cursor != nil && items.count < 20
            #expect(items.count == 5)
            #expect(items.map(\.createdAt) == items.map(\.createdAt).sorted(by: >))
            #expect(Set(items.map(\.pledgeId)).count == 5)
            #expect(!items.contains { $0.pledgeId == failed.pledgeId })
            #expect(items.last?.donorName == "Guest Gita")
            #expect(items.first { $0.pledgeId == hidden.pledgeId }?.donorName == "Anonymous")
            #expect(!raw.contains("Secret Sam"))
            #expect(!raw.contains("@") && !raw.contains("user_id"))
        }
    }

    @Test("refunds: a partial one moves money from captured to refunded, a full one makes the donation REFUNDED, in any order", arguments: TestDatabase.all)
    func refunds(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let pledge = PledgeEvents(campaignId: campaign.id, amount: 5000)
            _ = try await harness.send([pledge.created(at: start), pledge.captured(at: start.addingTimeInterval(1))], batch: true)

            let partial = try await harness.send([pledge.refunded(cumulative: 2000, at: start.addingTimeInterval(2))])
            #expect(try partial.wire(IngestResults.self).results.map(\.result.rawValue) == ["applied"])
            var totals = try await harness.campaign(campaign.id)
            #expect(totals.capturedAmount == 3000 && totals.refundedAmount == 2000 && totals.currentAmount == 3000 && totals.totalPayments == 1)
            var history = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/donations", method: .get).json(PageBody<DonationResponse>.self)
            #expect(history.items.map { [$0.status, String($0.refundedAmount)] } == [["CAPTURED", "2000"]])

            // An older, smaller refund (late news) changes nothing; the rest of it makes it REFUNDED.
            _ = try await harness.send([pledge.refunded(cumulative: 1000, at: start.addingTimeInterval(3))])
            #expect(try await harness.campaign(campaign.id).refundedAmount == 2000)
            _ = try await harness.send([pledge.refunded(cumulative: 5000, at: start.addingTimeInterval(4))])
            totals = try await harness.campaign(campaign.id)
            #expect(totals.capturedAmount == 0 && totals.refundedAmount == 5000 && totals.totalPayments == 1 && totals.totalPledges == 1)
            history = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/donations", method: .get).json(PageBody<DonationResponse>.self)
            #expect(history.items.map { [$0.status, String($0.refundedAmount)] } == [["REFUNDED", "5000"]])

            // A refund that reaches the campaign before the capture and the pledge: the same end.
            let early = PledgeEvents(campaignId: campaign.id, amount: 800)
            _ = try await harness.send([early.refunded(cumulative: 300, at: start.addingTimeInterval(7))])
            _ = try await harness.send([early.captured(at: start.addingTimeInterval(6)), early.created(at: start.addingTimeInterval(5))], batch: true)
            totals = try await harness.campaign(campaign.id)
            #expect(totals.capturedAmount == 500 && totals.refundedAmount == 5300 && totals.totalPayments == 2 && totals.pendingAmount == 0)

            // A FAILED donation takes no refund.
            let failed = PledgeEvents(campaignId: campaign.id, amount: 700)
            _ = try await harness.send([failed.created(at: start), failed.failed(at: start.addingTimeInterval(1)), failed.refunded(cumulative: 700)], batch: true)
            totals = try await harness.campaign(campaign.id)
            #expect(totals.failedAmount == 700 && totals.refundedAmount == 5300)

            // The rollup agrees with a recompute from the projection.
            let rebuilt = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/rebuild?from=projection", method: .post, headers: .bearer(harness.adminToken))
            #expect(rebuilt.text.contains("\"drift_corrected\":false"), "\(rebuilt.text)")
        }
    }

    @Test("a refund larger than the amount, or in another currency, is rejected and changes nothing", arguments: [TestDatabase.sqlite])
    func badRefunds(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let pledge = PledgeEvents(campaignId: campaign.id, amount: 1000)
            _ = try await harness.send([pledge.created(), pledge.captured()], batch: true)
            var euros = PledgeEvents(campaignId: campaign.id, pledgeId: pledge.pledgeId, amount: 1000)
            euros.currency = Currency(rawValue: "EUR")!
            let answer = try await harness.send([pledge.refunded(cumulative: 1001), euros.refunded(cumulative: 10)], batch: true)
            let results = try answer.wire(IngestResults.self).results
            #expect(results.map(\.result.rawValue) == ["rejected", "rejected"])
            #expect(results.first?.reason?.contains("refunded_amount") == true)
            let totals = try await harness.campaign(campaign.id)
            #expect(totals.capturedAmount == 1000 && totals.refundedAmount == 0)
        }
    }

    @Test("rebuild recomputes the rollup from the projection and reports drift it corrected", arguments: TestDatabase.all)
    func rebuild(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let a = PledgeEvents(campaignId: campaign.id, amount: 400)
            let b = PledgeEvents(campaignId: campaign.id, amount: 600)
            _ = try await harness.send([a.created(), b.created(), b.captured()], batch: true)
            let expected = CampaignTotals(pendingAmount: 400, authorizedAmount: 0, capturedAmount: 600, failedAmount: 0, totalPledges: 2, totalPayments: 1)

            let clean = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/rebuild", method: .post, headers: .bearer(harness.adminToken))
            #expect(clean.status == .ok)
            let cleanReport = try clean.json(RebuildReport.self)
            #expect(cleanReport.driftCorrected == false && cleanReport.after == expected)

            // Damage the rollup behind the service's back, as a bad manual fix would.
            try await Databases.withClient(harness.databaseURL, logger: TestLogging.logger) { client in
                try await client.withConnection { db in
                    try await db.raw("UPDATE campaign_rollups SET captured_amount = 1, total_payments = 9 WHERE campaign_id = \(bind: campaign.id)").run()
                }
            }
            #expect(try await harness.campaign(campaign.id).capturedAmount == 1)
            let repaired = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/rebuild", method: .post, headers: .bearer(harness.adminToken))
            let report = try repaired.json(RebuildReport.self)
            #expect(report.driftCorrected)
            #expect(report.before.capturedAmount == 1 && report.before.totalPayments == 9)
            #expect(report.after == expected)
            #expect(try await harness.campaign(campaign.id).totals == expected)
        }
    }

    @Test("rebuild from the event log: a dry run names every difference and changes nothing; the real one swaps the replayed read model in", arguments: TestDatabase.all)
    func rebuildFromEvents(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let a = PledgeEvents(campaignId: campaign.id, amount: 400)
            let b = PledgeEvents(campaignId: campaign.id, amount: 600)
            _ = try await harness.send([a.created(), b.created(), b.captured(), b.refunded(cumulative: 100)], batch: true)
            let live = try await harness.campaign(campaign.id).totals
            func rebuild(_ query: String) async throws -> TestResponse {
                try await harness.client.execute(uri: "/campaigns/\(campaign.id)/rebuild" + query, method: .post, headers: .bearer(harness.adminToken))
            }
            struct Report: Decodable {
                struct Difference: Decodable, Equatable { let pledgeId: PledgeID; let field: String; let before: String?; let after: String? }
                let from: String
                let dryRun: Bool
                let before: CampaignTotals
                let after: CampaignTotals
                let differences: [Difference]
                let swapped: Bool
                let events: Int?
            }
            let clean = try await rebuild("?dry_run=true").json(Report.self)
            #expect(clean.from == "events" && clean.dryRun && clean.differences.isEmpty && clean.before == live && clean.after == live && clean.events == 4)

            // A projection row and the rollup damaged behind the service's back.
            try await Databases.withClient(harness.databaseURL, logger: TestLogging.logger) { client in
                try await client.withConnection { db in
                    try await db.raw("UPDATE campaign_pledges SET status = 'FAILED', refunded_amount = 0 WHERE pledge_id = \(bind: b.pledgeId)").run()
                    try await db.raw("UPDATE campaign_rollups SET captured_amount = 0 WHERE campaign_id = \(bind: campaign.id)").run()
                }
            }
            let dry = try await rebuild("?from=events&dry_run=true").json(Report.self)
            #expect(dry.differences == [
                .init(pledgeId: b.pledgeId, field: "refunded_amount", before: "0", after: "100"),
                .init(pledgeId: b.pledgeId, field: "status", before: "FAILED", after: "CAPTURED"),
            ])
            #expect(dry.before.capturedAmount == 0 && dry.after == live && !dry.swapped)
            #expect(try await rebuild("?dry_run=true").json(Report.self).before.capturedAmount == 0, "a dry run changes nothing")

            let real = try await rebuild("").json(Report.self)
            #expect(real.swapped && real.differences.count == 2 && real.after == live)
            #expect(try await rebuild("").json(Report.self).swapped == false, "a second rebuild finds nothing")
            let donations = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/donations", method: .get).json(PageBody<DonationResponse>.self)
            #expect(donations.items.first { $0.pledgeId == b.pledgeId }?.status == "CAPTURED")

            #expect(try await rebuild("?from=nowhere").status == .badRequest)
            #expect(try await rebuild("?dry_run=maybe").status == .badRequest)
            #expect(try await rebuild("?from=projection&dry_run=true").status == .badRequest)
            let events = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/events?limit=100", method: .get, headers: .bearer(harness.adminToken))
            #expect(try events.json(PageBody<IngestedEventResponse>.self).items.count == 4, "the log is kept, event for event")
            let mine = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/events?pledge_id=\(b.pledgeId)", method: .get, headers: .bearer(harness.adminToken))
            #expect(try mine.json(PageBody<IngestedEventResponse>.self).items.map(\.pledgeId) == [b.pledgeId, b.pledgeId, b.pledgeId])
        }
    }

    @Test("admins list a campaign's ingested events with what each did", arguments: TestDatabase.all)
    func adminEvents(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let pledge = PledgeEvents(campaignId: campaign.id, amount: 900)
            let created = pledge.created()
            let captured = pledge.captured()
            let late = pledge.changed(.pending, .authorized)
            for event in [created, captured, late] { _ = try await harness.send([event]) }
            let response = try await harness.client.execute(uri: "/campaigns/\(campaign.id)/events?limit=10", method: .get, headers: .bearer(harness.adminToken))
            let page = try response.json(PageBody<IngestedEventResponse>.self)
            let effects = Dictionary(uniqueKeysWithValues: page.items.map { ($0.eventId, $0.effect) })
            #expect(effects == [created.eventId: "new_pledge", captured.eventId: "status_raised", late.eventId: "no_change"])
        }
    }
}

private struct RebuildReport: Decodable {
    let campaignId: String
    let driftCorrected: Bool
    let before: CampaignTotals
    let after: CampaignTotals
}
