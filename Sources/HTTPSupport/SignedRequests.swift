import HTTPTypes
import Hummingbird
import NIOCore
import CoreMetrics
import Observability
import Signatures
import Logging

extension HTTPField.Name {
    /// `t=<unix>,v2=<hex>` on service-to-service calls and events.
    public static let careForAllSignature = HTTPField.Name("X-CareForAll-Signature")!
}

extension Request {
    /// The raw body, after checking its signature header (`X-CareForAll-Signature` unless told
    /// otherwise) against `scheme`, for this request's method and path with its query (v2 binds both; Stripe's
    /// v1 only the body). A missing, wrong or stale signature is refused with
    /// `invalid_signature` and `refusal` (401 for internal calls; Stripe's webhooks expect 400).
    /// Refusals are counted in `signature_failures_total{reason}`.
    public func verifiedBody(
        scheme: SignatureScheme, header: HTTPField.Name = .careForAllSignature, refusal: HTTPResponse.Status = .unauthorized,
        context: some RequestContext, metrics: ServiceMetrics
    ) async throws -> ByteBuffer {
        let body = try await collectBody(context: context)
        do {
            // The query is signed with the path (a summary's campaign_id cannot be swapped).
            let target = uri.query.map { uri.path + "?" + $0 } ?? uri.path
            try scheme.verify(header: headers[header], method: method.rawValue, path: target, body: body.readableBytesView)
        } catch {
            metrics.counter(.signatureFailuresTotal, [("reason", "\(error)")]).increment()
            context.logger.warning("signature refused", metadata: ["reason": "\(error)", "header": .string(header.canonicalName)])
            throw APIError(refusal, code: "invalid_signature", message: "The request signature is missing, wrong or stale.")
        }
        return body
    }
}
