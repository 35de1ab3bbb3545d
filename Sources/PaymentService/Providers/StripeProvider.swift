import AsyncHTTPClient
import Events
import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1

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
            return try await declinedIntent(error: body["error"] as? [String: Any] ?? [:], idempotencyKey: idempotencyKey, metadata: metadata)
        case 404:
            throw ProviderError.noSuchPaymentMethod(paymentMethod)
        default:
            throw Self.failure(status: status, body: body)
        }
    }

    public func capture(intentId: String, idempotencyKey: String) async throws -> ProviderIntent {
        let (status, body) = try await call(.POST, "/v1/payment_intents/\(Self.escape(intentId))/capture", form: [], idempotencyKey: idempotencyKey)
        guard (200..<300).contains(status) else {
            if status == 404 { throw ProviderError.noSuchIntent(intentId) }
            throw Self.failure(status: status, body: body)
        }
        return try Self.intent(from: body)
    }

    public func retrieve(intentId: String) async throws -> ProviderIntent {
        let (status, body) = try await call(.GET, "/v1/payment_intents/\(Self.escape(intentId))")
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
        let (status, body) = try await call(.GET, "/v1/payment_intents/search?query=\(Self.escape(query))")
        if (200..<300).contains(status) {
            return try (body["data"] as? [[String: Any]] ?? []).first.map(Self.intent)
        }
        guard status == 404 else { throw Self.failure(status: status, body: body) }
        var after: String?
        for _ in 0..<100 {
            let (status, page) = try await call(.GET, "/v1/payment_intents?limit=100" + (after.map { "&starting_after=\(Self.escape($0))" } ?? ""))
            guard (200..<300).contains(status) else { throw Self.failure(status: status, body: page) }
            let items = page["data"] as? [[String: Any]] ?? []
            if let match = items.first(where: { ($0["metadata"] as? [String: Any])?["charge_key"] as? String == idempotencyKey }) {
                return try Self.intent(from: match)
            }
            guard page["has_more"] as? Bool == true, let last = items.last?["id"] as? String else { return nil }
            after = last
        }
        return nil
    }

    func declinedIntent(error: [String: Any], idempotencyKey: String, metadata: [String: String]) async throws -> ProviderIntent {
        if let intent = error["payment_intent"] as? [String: Any] {
            return try Self.intent(from: intent)
        }
        if let charge = error["charge"] as? String {
            let (status, body) = try await call(.GET, "/v1/charges/\(Self.escape(charge))")
            if (200..<300).contains(status), let intentId = body["payment_intent"] as? String {
                return try await retrieve(intentId: intentId)
            }
        }
        if let found = try await findIntent(idempotencyKey: idempotencyKey, pledgeId: metadata["pledge_id"] ?? "") {
            return found
        }
        throw ProviderError.refused(status: 402, message: error["message"] as? String ?? "card declined")
    }

    // MARK: HTTP

    func call(_ method: HTTPMethod, _ path: String, form: [(String, String)]? = nil, idempotencyKey: String? = nil) async throws -> (Int, [String: Any]) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")))
        }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 4 << 20)
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
            if response.status.code >= 500 { throw ProviderError.unavailable("stripe answered \(response.status.code)") }
            return (Int(response.status.code), object)
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError.unavailable("\(error)")
        }
    }

    static func failure(status: Int, body: [String: Any]) -> ProviderError {
        let message = (body["error"] as? [String: Any])?["message"] as? String ?? "HTTP \(status)"
        return .refused(status: status, message: message)
    }

    /// Form and path encoding: everything but RFC 3986 unreserved characters is percent-encoded.
    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// A PaymentIntent object as Stripe returns it.
    static func intent(from object: [String: Any]) throws -> ProviderIntent {
        guard let id = object["id"] as? String, let rawStatus = object["status"] as? String,
            let status = PaymentIntentStatus(rawValue: rawStatus)
        else { throw ProviderError.refused(status: 200, message: "the answer is not a payment intent") }
        let amount = (object["amount"] as? NSNumber)?.int64Value ?? 0
        let error = object["last_payment_error"] as? [String: Any]
        return ProviderIntent(
            id: id, status: status, amount: amount, currency: object["currency"] as? String ?? "",
            pledgeId: (object["metadata"] as? [String: Any])?["pledge_id"] as? String,
            failureReason: error.map { $0["code"] as? String ?? $0["message"] as? String ?? "payment_failed" },
            clientSecret: object["client_secret"] as? String
        )
    }
}
