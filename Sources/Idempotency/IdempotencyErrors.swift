import HTTPSupport
import HTTPTypes

/// The one mapping of idempotency to answers, for every route that takes an `Idempotency-Key`
/// (pledges, refunds).
public enum IdempotencyError: Error, Equatable, APIErrorConvertible {
    /// No `Idempotency-Key` header.
    case required
    /// Not 1 to 255 printable ASCII characters.
    case invalid
    /// A guest's key under `minimum` characters: it could be guessed.
    case tooShort(minimum: Int)
    /// Used before with another body.
    case reused
    /// The same key is being worked on right now.
    case inUse

    public var apiError: APIError {
        switch self {
        case .required:
            APIError(.badRequest, code: "idempotency_key_required", message: "The Idempotency-Key header is required.")
        case .invalid:
            APIError(.badRequest, code: "invalid_idempotency_key", message: "The Idempotency-Key must be 1 to 255 printable characters.")
        case .tooShort(let minimum):
            APIError(
                .badRequest, code: "idempotency_key_too_short",
                message: "Without signing in, the Idempotency-Key must be at least \(minimum) characters (128 bits; a UUID is right)."
            )
        case .reused:
            APIError(.unprocessableContent, code: "idempotency_key_reused", message: "This Idempotency-Key was used with a different request.")
        case .inUse:
            APIError(.conflict, code: "idempotency_key_in_use", message: "A request with this Idempotency-Key is still in progress.")
        }
    }

    /// The request's key: present and well formed, or the error to answer.
    public static func key(from header: String?) throws(IdempotencyError) -> String {
        guard let header else { throw .required }
        guard IdempotencyKey.isValid(header) else { throw .invalid }
        return header
    }
}

extension IdempotencyDecision {
    /// The stored answer an earlier use of the key left, to send again; for any other decision,
    /// the error that answers it.
    public func storedAnswer() throws(IdempotencyError) -> (status: Int, body: String) {
        switch self {
        case .replay(let status, let body): return (status, body)
        case .mismatch: throw .reused
        case .inFlight, .proceed: throw .inUse
        }
    }
}
