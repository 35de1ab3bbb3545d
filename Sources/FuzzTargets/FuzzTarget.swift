import Contracts
import Foundation
import GatewayPaths
import Signatures

/// What the fuzzers feed random bytes to, and what must hold whatever the bytes: the parsers that
/// read what strangers send. Each `check` either accepts the input (and then the invariants hold)
/// or rejects it with an error; a crash or a broken invariant (`FuzzFailure`, turned into a crash
/// by the fuzzer) is a finding. `scripts/fuzz` runs them under libFuzzer; the regression tests
/// replay the seeds and every finding kept under `Tests/Fuzz/`.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `X-CareForAll-Signature` / `Stripe-Signature`: `t=...,v1=...,v2=...`, and its verification.
    case signatureHeader = "signature-header"
    /// Access tokens: jwt-kit's parsing and ES256 verification, as the token verifier uses it.
    case jwt
    /// Event envelopes and `{"events": [...]}` batches, as consumers decode them.
    case envelope
    /// The gateway's path normalizer and its rules.
    case path

    public func check(_ input: [UInt8]) async throws(FuzzFailure) {
        switch self {
        case .signatureHeader: try Self.checkSignatureHeader(input)
        case .jwt: try await JWTFuzzing.check(input)
        case .envelope: try Self.checkEnvelope(input)
        case .path: try Self.checkPath(input)
        }
    }

    static let scheme = SignatureScheme(secret: "fuzzing-secret")

    /// A parsed header has a positive timestamp and 32-byte signatures; no header made of random
    /// bytes verifies (the chance that one carries the right HMAC is nil).
    static func checkSignatureHeader(_ input: [UInt8]) throws(FuzzFailure) {
        let header = String(decoding: input, as: UTF8.self)
        if let parsed = try? SignatureHeader(parsing: header) {
            guard parsed.timestamp > 0 else { throw FuzzFailure("timestamp \(parsed.timestamp) accepted") }
            guard parsed.signatures.values.allSatisfy({ $0.allSatisfy { $0.count == 32 } }) else { throw FuzzFailure("a signature is not 32 bytes") }
        }
        let body = Data("{\"fuzz\":true}".utf8)
        if (try? scheme.verify(header: header, method: "POST", path: "/campaigns/events", body: body)) != nil {
            throw FuzzFailure("a header that was never signed verified")
        }
    }

    /// What decodes re-encodes, and decodes again to the same envelope.
    static func checkEnvelope(_ input: [UInt8]) throws(FuzzFailure) {
        let (decoder, encoder) = (WireCoding.decoder, WireCoding.encoder)
        try roundTrips(EventEnvelope.self, input, decoder: decoder, encoder: encoder)
        try roundTrips(NotificationEnvelope.self, input, decoder: decoder, encoder: encoder)
    }

    static func roundTrips<Envelope: Codable & Equatable & BatchItem>(
        _ type: Envelope.Type, _ input: [UInt8], decoder: JSONDecoder, encoder: JSONEncoder
    ) throws(FuzzFailure) {
        guard let batch = try? decoder.decode(Batch<Envelope>.self, from: Data(input)) else { return }
        for case .decoded(let envelope) in batch.elements {
            guard let data = try? encoder.encode(envelope), let again = try? decoder.decode(Envelope.self, from: data), again == envelope else {
                throw FuzzFailure("\(Envelope.self) changes through encoding")
            }
        }
    }

    /// A normalized path has no empty, `.` or `..` segment, no slash inside a segment, none with a
    /// refused character, and its encoded form normalizes to itself; the rules judge every ASCII
    /// case of it the same.
    static func checkPath(_ input: [UInt8]) throws(FuzzFailure) {
        guard let path = try? GatewayPath(raw: String(decoding: input, as: UTF8.self)) else { return }
        for segment in path.segments {
            guard !segment.isEmpty, segment != ".", segment != "..", !segment.utf8.contains(UInt8(ascii: "/")) else {
                throw FuzzFailure("segment '\(segment)' survived normalizing")
            }
            guard !segment.unicodeScalars.contains(where: GatewayPath.isRefused) else { throw FuzzFailure("a refused character survived") }
        }
        guard let again = try? GatewayPath(raw: path.encoded), again == path else {
            throw FuzzFailure("\(path.encoded) does not normalize to itself")
        }
        // ASCII case, which is what spells the routes differently (Unicode's upper and lower case
        // do not round-trip: `ϖ` uppercases to `Π`, which lowercases to `π`).
        let shouted = GatewayPath(segments: path.segments.map { String(decoding: $0.utf8.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }, as: UTF8.self) })
        guard GatewayRules.isInternal(shouted) == GatewayRules.isInternal(path),
            GatewayRules.routeKey("POST", shouted) == GatewayRules.routeKey("POST", path)
        else { throw FuzzFailure("the rules depend on case: \(path.encoded)") }
    }
}

/// An invariant that did not hold.
public struct FuzzFailure: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
