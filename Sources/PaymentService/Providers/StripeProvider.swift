import AsyncHTTPClient
import Contracts
import Foundation
import HTTPSupport
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import ServiceClient

/// The Stripe REST API over AsyncHTTPClient: form-encoded PaymentIntents with manual capture,
/// confirmed at creation, an `Idempotency-Key` on every create and capture. `baseURL` is
/// `STRIPE_API_BASE`, so tests run it against localstripe.
public struct StripeProvider: PaymentProvider {
    let apiKey: String
    let baseURL: String
    let client: HTTPClient
    let timeout: TimeAmount

    public var name: String { "stripe" }

    public init(apiKey: String, baseURL: String = "https://api.stripe.com", client: HTTPClient = .shared, timeout: TimeAmount = .seconds(20)) {
        self.apiKey = apiKey
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.client = client
        self.timeout = timeout
    }

    public func createIntent(
        amount: Int64, currency: Currency, paymentMethod: String, metadata: [String: String], idempotencyKey: String
    ) async throws -> ProviderIntent {
        var form: [(String, String)] = [
            ("amount", String(amount)), ("currency", currency.rawValue.lowercased()), ("payment_method", paymentMethod),
            ("confirm", "true"), ("capture_method", "manual"),
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { form.append(("metadata[\(key)]", value)) }
        let (status, body) = try await call(.POST, "/v1/payment_intents", form: form, idempotencyKey: idempotencyKey)
        switch status {
        case 200..<300:
            return try Self.intent(from: body)
        case 402:
            // A declined card: Stripe still made the intent, now `requires_payment_method` with a
            // `last_payment_error`. Stripe names it in the error; localstripe names the charge.
            let error = (try? WireCoding.decoder.decode(StripeErrorBody.self, from: body))?.error
            return try await declinedIntent(error: error, idempotencyKey: idempotencyKey, metadata: metadata)
        case 404:
            throw ProviderError.noSuchPaymentMethod(paymentMethod)
        default:
            throw Self.failure(status: status, body: body)
        }
    }

    public func capture(intentId: String, idempotencyKey: String) async throws -> ProviderIntent {
        let (status, body) = try await call(.POST, "/v1/payment_intents/\(PercentEncoding.encode(intentId))/capture", form: [], idempotencyKey: idempotencyKey)
        guard (200..<300).contains(status) else {
            if status == 404 { throw ProviderError.noSuchIntent(intentId) }
            throw Self.failure(status: status, body: body)
        }
        return try Self.intent(from: body)
    }

    public func retrieve(intentId: String) async throws -> ProviderIntent {
        let (status, body) = try await call(.GET, "/v1/payment_intents/\(PercentEncoding.encode(intentId))")
        guard (200..<300).contains(status) else {
            if status == 404 { throw ProviderError.noSuchIntent(intentId) }
            throw Self.failure(status: status, body: body)
        }
        return try Self.intent(from: body)
    }

    /// Stripe's search API by the `charge_key` metadata; where search is missing (localstripe),
    /// the intent list, read page by page (bounded).
    public func findIntent(idempotencyKey: String, pledgeId: String) async throws -> ProviderIntent? {
        let query = "metadata['charge_key']:'\(idempotencyKey)'"
        let (status, body) = try await call(.GET, "/v1/payment_intents/search?query=\(PercentEncoding.encode(query))")
        if (200..<300).contains(status) {
            return try Self.decode(StripeList<StripeIntent>.self, from: body).data.first.map(\.providerIntent)
        }
        guard status == 404 else { throw Self.failure(status: status, body: body) }
        var after: String?
        for _ in 0..<100 {
            let (status, page) = try await call(.GET, "/v1/payment_intents?limit=100" + (after.map { "&starting_after=\(PercentEncoding.encode($0))" } ?? ""))
            guard (200..<300).contains(status) else { throw Self.failure(status: status, body: page) }
            let list = try Self.decode(StripeList<StripeIntent>.self, from: page)
            if let match = list.data.first(where: { $0.metadata?["charge_key"] == idempotencyKey }) {
                return match.providerIntent
            }
            guard list.hasMore == true, let last = list.data.last?.id else { return nil }
            after = last
        }
        return nil
    }

    /// `POST /v1/refunds` against the intent. Stripe's `reason` is an enumeration, so ours goes in
    /// the metadata with our refund's id.
    public func refund(intentId: String, amount: Int64, metadata: [String: String], idempotencyKey: String) async throws -> ProviderRefund {
        var form: [(String, String)] = [("payment_intent", intentId), ("amount", String(amount))]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { form.append(("metadata[\(key)]", value)) }
        let (status, body) = try await call(.POST, "/v1/refunds", form: form, idempotencyKey: idempotencyKey)
        guard (200..<300).contains(status) else {
            if status == 404 { throw ProviderError.noSuchIntent(intentId) }
            throw Self.failure(status: status, body: body)
        }
        return try Self.decode(StripeRefund.self, from: body).providerRefund
    }

    /// `GET /v1/refunds?payment_intent=`, page by page (bounded).
    public func refunds(intentId: String) async throws -> [ProviderRefund] {
        var refunds: [ProviderRefund] = []
        var after: String?
        for _ in 0..<100 {
            let query = "/v1/refunds?limit=100&payment_intent=\(PercentEncoding.encode(intentId))" + (after.map { "&starting_after=\(PercentEncoding.encode($0))" } ?? "")
            let (status, body) = try await call(.GET, query)
            guard (200..<300).contains(status) else {
                if status == 404 { throw ProviderError.noSuchIntent(intentId) }
                throw Self.failure(status: status, body: body)
            }
            let page = try Self.decode(StripeList<StripeRefund>.self, from: body)
            refunds += page.data.map(\.providerRefund)
            guard page.hasMore == true, let last = page.data.last?.id else { break }
            after = last
        }
        return refunds
    }

    func declinedIntent(error: StripeErrorBody.Details?, idempotencyKey: String, metadata: [String: String]) async throws -> ProviderIntent {
        if let intent = error?.paymentIntent {
            return intent.providerIntent
        }
        if let charge = error?.charge {
            let (status, body) = try await call(.GET, "/v1/charges/\(PercentEncoding.encode(charge))")
            if (200..<300).contains(status), let intentId = (try? WireCoding.decoder.decode(StripeCharge.self, from: body))?.paymentIntent {
                return try await retrieve(intentId: intentId)
            }
        }
        if let found = try await findIntent(idempotencyKey: idempotencyKey, pledgeId: metadata["pledge_id"] ?? "") {
            return found
        }
        throw ProviderError.refused(status: 402, message: error?.message ?? "card declined")
    }

    // MARK: HTTP

    /// The status and the body of Stripe's answer; a 5xx or no answer is `unavailable`.
    func call(_ method: HTTPMethod, _ path: String, form: [(String, String)]? = nil, idempotencyKey: String? = nil) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form.map { "\(PercentEncoding.encode($0.0))=\(PercentEncoding.encode($0.1))" }.joined(separator: "&")))
        }
        do {
            let response = try await client.tracedExecute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 4 << 20)
            if response.status.code >= 500 { throw ProviderError.unavailable("stripe answered \(response.status.code)") }
            return (Int(response.status.code), Data(buffer: body))
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError.unavailable("\(error)")
        }
    }

    static func failure(status: Int, body: Data) -> ProviderError {
        let message = (try? WireCoding.decoder.decode(StripeErrorBody.self, from: body))?.error?.message ?? "HTTP \(status)"
        return .refused(status: status, message: message)
    }

    /// A successful answer of the shape `type`; anything else means Stripe answered what we did
    /// not ask for.
    static func decode<Answer: Decodable>(_ type: Answer.Type, from body: Data) throws -> Answer {
        do {
            return try WireCoding.decoder.decode(type, from: body)
        } catch {
            throw ProviderError.refused(status: 200, message: "the answer is not a \(Answer.self)")
        }
    }


    /// A PaymentIntent object as Stripe returns it.
    static func intent(from body: Data) throws -> ProviderIntent {
        try decode(StripeIntent.self, from: body).providerIntent
    }
}

/// The parts of Stripe's answers the provider reads; everything else in them is skipped.
struct StripeIntent: Decodable {
    struct PaymentError: Decodable {
        let code: String?
        let message: String?
    }

    let id: String
    let status: PaymentIntentStatus
    let amount: Int64?
    let currency: String?
    let metadata: [String: String]?
    let lastPaymentError: PaymentError?
    let clientSecret: String?

    enum CodingKeys: String, CodingKey {
        case id, status, amount, currency, metadata
        case lastPaymentError = "last_payment_error"
        case clientSecret = "client_secret"
    }

    var providerIntent: ProviderIntent {
        ProviderIntent(
            id: id, status: status, amount: amount ?? 0, currency: currency ?? "", pledgeId: metadata?["pledge_id"],
            failureReason: lastPaymentError.map { $0.code ?? $0.message ?? "payment_failed" }, clientSecret: clientSecret
        )
    }
}

/// A Refund object.
struct StripeRefund: Decodable {
    let id: String
    let amount: Int64
    let status: String?
    let metadata: [String: String]?
    let failureReason: String?

    enum CodingKeys: String, CodingKey {
        case id, amount, status, metadata
        case failureReason = "failure_reason"
    }

    var providerRefund: ProviderRefund {
        ProviderRefund(id: id, amount: amount, status: status ?? "pending", refundId: metadata?["refund_id"], failureReason: failureReason)
    }
}

struct StripeList<Item: Decodable>: Decodable {
    let data: [Item]
    let hasMore: Bool?

    enum CodingKeys: String, CodingKey {
        case data
        case hasMore = "has_more"
    }
}

struct StripeCharge: Decodable {
    let paymentIntent: String?

    enum CodingKeys: String, CodingKey {
        case paymentIntent = "payment_intent"
    }
}

/// `{"error": {...}}`: what Stripe answers a refused request with.
struct StripeErrorBody: Decodable {
    struct Details: Decodable {
        let message: String?
        let charge: String?
        let paymentIntent: StripeIntent?

        enum CodingKeys: String, CodingKey {
            case message, charge
            case paymentIntent = "payment_intent"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            message = try? container.decode(String.self, forKey: .message)
            charge = try? container.decode(String.self, forKey: .charge)
            paymentIntent = try? container.decode(StripeIntent.self, forKey: .paymentIntent)
        }
    }

    let error: Details?
}
