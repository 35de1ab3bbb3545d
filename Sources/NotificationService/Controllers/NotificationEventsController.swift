import Contracts
import Foundation
import HTTPSupport
import Hummingbird
import NIOFoundationEssentialsCompat
import Observability
import Outbox
import Persistence
import ServiceClient
import Signatures
import CoreMetrics

/// Internal `POST /notifications/events`: signed envelopes from pledge-service's and
/// campaign-service's outboxes, one or `{events: [...]}` (at most 1,000), answered one result per
/// event, as campaign-service's ingestion answers. An event that cannot be read is `rejected`
/// alone; the others in its batch are applied.
public struct NotificationEventsController: Sendable {
    let store: any NotificationStore
    let composer: MailComposer
    /// Where a donation notice without its campaign's title finds it; nil: mail names no campaign.
    let campaigns: (any CampaignDirectory)?
    let messageDomain: String
    let signatures: SignatureScheme
    /// Wakes the dispatcher once mails are queued.
    let signal: QueueSignal
    let clock: any StoreClock
    let metrics: ServiceMetrics

    static let maximumBatchSize = Batch<NotificationEnvelope>.maximumCount

    public init(
        store: any NotificationStore, composer: MailComposer, campaigns: (any CampaignDirectory)? = nil, messageDomain: String,
        signatures: SignatureScheme, signal: QueueSignal, clock: any StoreClock, metrics: ServiceMetrics
    ) {
        self.store = store
        self.composer = composer
        self.campaigns = campaigns
        self.messageDomain = messageDomain
        self.signatures = signatures
        self.signal = signal
        self.clock = clock
        self.metrics = metrics
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("events", use: ingest)
    }

    @Sendable func ingest(_ request: Request, context: AppRequestContext) async throws -> IngestResults {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        let batch: Batch<NotificationEnvelope>
        do {
            batch = try WireCoding.decoder.decode(Batch<NotificationEnvelope>.self, from: Data(buffer: body))
        } catch {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be an event envelope or {\"events\": [...]}.")
        }
        guard batch.elements.count <= Self.maximumBatchSize else {
            throw APIError(.badRequest, code: "invalid_event", message: "A batch holds at most \(Self.maximumBatchSize) events.")
        }
        var rejected: [Int: IngestOutcome] = [:]
        var incoming: [IncomingEvent] = []
        let titles = await titles(of: batch.elements)
        for (index, element) in batch.elements.enumerated() {
            switch element {
            case .unreadable(let eventId, let reason):
                rejected[index] = .rejected(eventId ?? "", reason)
            case .decoded(var event):
                if case .donationNotice(var notice) = event.data, notice.campaignTitle == nil, let title = titles[notice.campaignId] {
                    notice.campaignTitle = title
                    event.data = .donationNotice(notice)
                }
                if let problem = Self.problem(with: event) {
                    rejected[index] = .rejected(event.eventId, problem)
                    continue
                }
                do {
                    incoming.append(IncomingEvent(
                        eventId: event.eventId, type: event.type.rawValue, mail: try composer.compose(event), skipped: nil, traceParent: event.traceParent
                    ))
                } catch {
                    guard case .noRecipient(let reason) = error else { continue }
                    incoming.append(IncomingEvent(eventId: event.eventId, type: event.type.rawValue, mail: nil, skipped: reason, traceParent: event.traceParent))
                }
            }
        }
        // Each event in a span of its own trace; its mail is sent under that span's context.
        let traced = incoming.map { TracedEvent(id: $0.eventId, type: $0.type, traceParent: $0.traceParent) }
        var accepted = try await Trace.ingest(batch: "events.accept_batch", each: "accept", items: traced) { traceParents in
            var incoming = incoming
            for index in incoming.indices { incoming[index].traceParent = traceParents[index] }
            return try await store.accept(incoming, messageDomain: messageDomain, at: clock.timestamp())
        }[...]
        if accepted.contains(where: { $0.result == .applied }) { signal.notify() }
        // Back in the batch's order.
        let results = batch.elements.indices.map { index in
            rejected[index] ?? accepted.popFirst() ?? .rejected("", "lost")
        }
        for result in results {
            metrics.counter(.notificationEventsTotal, [("result", result.result.rawValue)]).increment()
        }
        return IngestResults(results: results)
    }

    /// The titles of the campaigns the batch's donation notices name without one, asked of
    /// campaign-service (its answers are cached); a campaign it cannot tell is left out, and its
    /// mail names no campaign rather than wait.
    func titles(of elements: [Batch<NotificationEnvelope>.Element]) async -> [CampaignID: String] {
        guard let campaigns else { return [:] }
        var ids = Set<CampaignID>()
        for case .decoded(let event) in elements {
            if case .donationNotice(let notice) = event.data, notice.campaignTitle == nil, notice.campaignId.isWithinLimits {
                ids.insert(notice.campaignId)
            }
        }
        return await withTaskGroup(of: (CampaignID, String?).self) { group in
            for id in ids.prefix(50) {
                group.addTask { (id, try? await campaigns.campaign(id: id)?.title) }
            }
            var titles: [CampaignID: String] = [:]
            for await (id, title) in group {
                if let title { titles[id] = title }
            }
            return titles
        }
    }

    /// What makes a decoded event unusable, if anything.
    static func problem(with event: NotificationEnvelope) -> String? {
        if let problem = event.headerProblem { return problem }
        switch event.data {
        case .donationNotice(let notice):
            guard notice.pledgeId.isWithinLimits, notice.campaignId.isWithinLimits else {
                return "pledge_id and campaign_id must be 1 to 100 characters"
            }
            guard notice.amount > 0, (0...notice.amount).contains(notice.refundedAmount) else {
                return "amount must be positive and refunded_amount between 0 and it"
            }
            guard TextLimit(characters: 200).allows(notice.donorName), TextLimit(characters: 254).allows(notice.donorEmail) else {
                return "donor_name or donor_email is too long"
            }
            if let url = notice.receiptUrl, !(url.hasPrefix("https://") || url.hasPrefix("http://")) || url.count > 2000 {
                return "receipt_url must be an http(s) address"
            }
        case .campaignGoalReached(let goal):
            guard goal.campaignId.isWithinLimits, TextLimit(characters: 200).allows(goal.title), goal.goalAmount > 0 else {
                return "campaign_id, title and goal_amount are required"
            }
        case .reconciliationDrift(let run):
            guard !run.runId.isEmpty, run.runId.count <= 100, !run.drift.isEmpty, run.drift.count <= 10_000 else {
                return "run_id and 1 to 10,000 drift entries are required"
            }
        }
        return nil
    }
}
