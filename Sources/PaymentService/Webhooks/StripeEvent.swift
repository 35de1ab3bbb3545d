import Foundation

/// A Stripe webhook event, as much of it as reconciliation needs: its id (for deduplication),
/// its type, and the PaymentIntent it is about. The intent's state in the event is never acted
/// on: the intent is retrieved from the provider first.
public struct StripeEvent: Sendable, Equatable {
    public let id: String
    public let type: String
    /// The PaymentIntent id, for `payment_intent.*` events; nil for types we do not handle.
    public let paymentIntentId: String?

    /// The event types that can move a payment.
    public static let handledTypes: Set<String> = [
        "payment_intent.amount_capturable_updated", "payment_intent.succeeded", "payment_intent.payment_failed",
        "payment_intent.canceled", "payment_intent.processing", "payment_intent.created",
    ]

    public init(id: String, type: String, paymentIntentId: String?) {
        self.id = id
        self.type = type
        self.paymentIntentId = paymentIntentId
    }

    /// Parses an event body; throws `StripeEventError.malformed` for anything that is not one.
    public init(json data: Data) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let id = object["id"] as? String, !id.isEmpty,
            let type = object["type"] as? String, !type.isEmpty
        else { throw StripeEventError.malformed("an event needs an id and a type") }
        var intentId: String?
        if Self.handledTypes.contains(type) {
            guard let payload = object["data"] as? [String: Any], let intent = payload["object"] as? [String: Any],
                intent["object"] as? String == "payment_intent", let pi = intent["id"] as? String, !pi.isEmpty
            else { throw StripeEventError.malformed("\(type) must carry a payment_intent in data.object") }
            intentId = pi
        }
        self.init(id: id, type: type, paymentIntentId: intentId)
    }
}

public enum StripeEventError: Error, Equatable {
    case malformed(String)
}
