import HTTPTypes
import Hummingbird
import NIOCore
import CoreMetrics
import Observability
import Signatures
import Logging

extension HTTPField.Name {
    /// `t=<unix>,v1=<hex>` on service-to-service calls and events.
    public static let careForAllSignature = HTTPField.Name("X-CareForAll-Signature")!
}

extension Request {
    /// The raw body, after checking its `X-CareForAll-Signature` against `scheme`: 401
    /// `invalid_signature` when it is missing, wrong or stale.
    /// Refusals are counted in `signature_failures_total{reason}`.
    public func verifiedBody(scheme: SignatureScheme, context: some RequestContext, metrics: ServiceMetrics) async throws -> ByteBuffer {
        let body = try await collectBody(context: context)
        do {
            try scheme.verify(header: headers[.careForAllSignature], body: body.readableBytesView)
        } catch {
            metrics.counter("signature_failures_total", [("reason", "\(error)")]).increment()
            context.logger.warning("signature refused", metadata: ["reason": "\(error)"])
            throw APIError(.unauthorized, code: "invalid_signature", message: "The request signature is missing, wrong or stale.")
        }
        return body
    }
}
