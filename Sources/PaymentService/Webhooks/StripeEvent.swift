import Contracts
import Foundation
import HTTPSupport

/// A Stripe webhook event, as much of it as reconciliation needs: its id (for deduplication),
/// its type, and the PaymentIntent it is about (for a `charge.*` event, the charge's intent).
/// The state in the event is never acted on: the intent and its refunds are retrieved from the
/// provider first.
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

    /// The event types that can change what a payment has refunded: their object is a charge.
    public static let refundTypes: Set<String> = ["charge.refunded", "charge.refund.updated"]

    /// Whether the event is about refunds.
    public var isRefund: Bool { Self.refundTypes.contains(type) }

    public init(id: String, type: String, paymentIntentId: String?) {
        self.id = id
        self.type = type
        self.paymentIntentId = paymentIntentId
    }

    /// Parses an event body; throws `StripeEventError.malformed` for anything that is not one.
    public init(json data: Data) throws {
        guard let wire = try? WireCoding.decoder.decode(Wire.self, from: data), let id = wire.id, !id.isEmpty,
            let type = wire.type, !type.isEmpty
        else { throw StripeEventError.malformed("an event needs an id and a type") }
        var intentId: String?
        if Self.handledTypes.contains(type) {
            guard let intent = wire.intent, intent.object == "payment_intent", let pi = intent.id, !pi.isEmpty
            else { throw StripeEventError.malformed("\(type) must carry a payment_intent in data.object") }
            intentId = pi
        } else if Self.refundTypes.contains(type) {
            guard let charge = wire.intent, charge.object == "charge", let pi = charge.paymentIntent, !pi.isEmpty
            else { throw StripeEventError.malformed("\(type) must carry a charge with its payment_intent in data.object") }
            intentId = pi
        }
        self.init(id: id, type: type, paymentIntentId: intentId)
    }

    /// The fields read from the body; anything else in it is skipped, and a `data.object` of
    /// another shape only matters to the types that need an intent there.
    struct Wire: Decodable {
        struct Object: Decodable {
            let object: String?
            let id: String?
            /// A charge's intent.
            let paymentIntent: String?

            enum CodingKeys: String, CodingKey {
                case object, id
                case paymentIntent = "payment_intent"
            }

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                object = try? container.decode(String.self, forKey: .object)
                id = try? container.decode(String.self, forKey: .id)
                paymentIntent = try? container.decode(String.self, forKey: .paymentIntent)
            }
        }

        let id: String?
        let type: String?
        let intent: Object?

        enum CodingKeys: String, CodingKey {
            case id, type, data
        }

        enum DataKeys: String, CodingKey {
            case object
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try? container.decode(String.self, forKey: .id)
            type = try? container.decode(String.self, forKey: .type)
            intent = try? container.nestedContainer(keyedBy: DataKeys.self, forKey: .data).decode(Object.self, forKey: .object)
        }
    }
}

public enum StripeEventError: Error, Equatable {
    case malformed(String)
}
