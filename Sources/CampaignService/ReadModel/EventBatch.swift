import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import Persistence

/// One element of a batch: an event to apply, or one that cannot be read (with why).
public enum ReceivedEvent: Sendable {
    case event(EventEnvelope)
    case rejected(eventId: String, reason: String)
}

/// Reads one envelope or `{events: [...]}`, decoding each event once as the `EventEnvelope` the
/// publisher encoded. An element that is not a valid event becomes `.rejected` with the reason
/// (and its `event_id`, when it has one); only a body that is neither an envelope nor a batch, or
/// a batch over 1,000 events, refuses the whole request (400).
public enum EventBatch {
    static let maximumBatchSize = Batch<EventEnvelope>.maximumCount

    public static func parse(_ data: Data) throws -> [ReceivedEvent] {
        let body: Batch<EventEnvelope>
        do {
            body = try WireCoding.decoder.decode(Batch<EventEnvelope>.self, from: data)
        } catch is Batch<EventEnvelope>.NotAnArray {
            throw CampaignServiceError.invalidEvent(index: 0, reason: "events must be an array")
        } catch {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be an event envelope or {\"events\": [...]}.")
        }
        guard body.elements.count <= maximumBatchSize else {
            throw CampaignServiceError.invalidEvent(index: maximumBatchSize, reason: "a batch holds at most \(maximumBatchSize) events")
        }
        return body.elements.enumerated().map { index, element in
            switch element {
            case .decoded(let event):
                do {
                    try validate(event, index: index)
                    return .event(event)
                } catch let CampaignServiceError.invalidEvent(_, reason) {
                    return .rejected(eventId: event.eventId, reason: reason)
                } catch {
                    return .rejected(eventId: event.eventId, reason: "\(error)")
                }
            case .unreadable(let eventId, let reason):
                return .rejected(eventId: eventId ?? "", reason: reason)
            }
        }
    }

    static func validate(_ event: EventEnvelope, index: Int) throws {
        func fail(_ reason: String) -> CampaignServiceError { .invalidEvent(index: index, reason: reason) }
        if let problem = event.headerProblem { throw fail(problem) }
        let fact = event.data.pledgeFact
        guard fact.pledgeId.isWithinLimits else { throw fail("pledge_id is missing or too long") }
        guard fact.campaignId.isWithinLimits else { throw fail("campaign_id is missing or too long") }
        if let paymentId = fact.paymentId, !paymentId.isWithinLimits { throw fail("payment_id is missing or too long") }
        guard fact.amount > 0 else { throw fail("amount must be a positive integer of minor units") }
        if case .paymentRefunded(let refund) = event.data {
            guard refund.refundedAmount > 0, refund.refundedAmount <= refund.amount else {
                throw fail("refunded_amount must be a positive integer of minor units, at most the amount")
            }
            guard isIdentifier(refund.refundId) else { throw fail("refund_id is missing or too long") }
        }
        if case .pledgeCreated(let created) = event.data {
            if let name = created.donorName, !TextLimit(characters: 200).allows(name) { throw fail("donor_name is longer than 200 characters or 800 bytes") }
            if let message = created.message, !TextLimit(characters: 1000).allows(message) {
                throw fail("message is longer than 1000 characters or 4000 bytes")
            }
        }
    }

    static func isIdentifier(_ value: String) -> Bool {
        !value.isEmpty && value.count <= 100
    }
}
