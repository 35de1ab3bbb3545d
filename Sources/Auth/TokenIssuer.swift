import Contracts
import Crypto
import Foundation
import HTTPSupport
import JWTKit

/// Signs access tokens with user-service's ES256 key and publishes the public half as a JWKS.
/// Only user-service holds one of these.
public struct TokenIssuer: Sendable {
    public let keyID: String
    public let timeToLive: TimeInterval
    let keys: JWTKeyCollection
    let publicJWK: PublicJWK
    /// Keys that signed before a rotation, still published so their tokens verify until they expire.
    let previousJWKs: [PublicJWK]

    /// - Parameters:
    ///   - privateKeyPEM: a P-256 private key in PEM (PKCS#8 or SEC1).
    ///   - previousPublicKeyPEMs: public keys (PEM) of keys that signed before a rotation
    ///     (`JWT_PREVIOUS_PUBLIC_KEYS`): published in the JWKS beside the current one, never used to sign.
    public init(privateKeyPEM: String, previousPublicKeyPEMs: [String] = [], timeToLive: TimeInterval) async throws {
        let privateKey = try ES256PrivateKey(pem: privateKeyPEM)
        guard let parameters = privateKey.publicKey.parameters else {
            throw TokenIssuerError.unusableKey
        }
        let jwk = PublicJWK(kid: "", x: parameters.x, y: parameters.y)
        let currentKeyID = jwk.thumbprint
        self.keyID = currentKeyID
        self.publicJWK = PublicJWK(kid: keyID, x: parameters.x, y: parameters.y)
        self.timeToLive = timeToLive
        self.previousJWKs = try previousPublicKeyPEMs.map { pem in
            guard let previous = try ES256PublicKey(pem: pem).parameters else { throw TokenIssuerError.unusableKey }
            let jwk = PublicJWK(kid: "", x: previous.x, y: previous.y)
            return PublicJWK(kid: jwk.thumbprint, x: previous.x, y: previous.y)
        }.filter { $0.kid != currentKeyID }
        self.keys = JWTKeyCollection()
        await keys.add(ecdsa: privateKey, kid: JWKIdentifier(string: keyID))
    }

    /// A new P-256 private key in PEM, for dev mode's generated key.
    public static func generatePrivateKeyPEM() -> String {
        P256.Signing.PrivateKey().pemRepresentation
    }

    /// Signs a token for `principal` valid for `timeToLive` from `now`.
    public func issue(for principal: Principal, now: Date = Date()) async throws -> String {
        // NumericDate claims are whole seconds.
        let now = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let claims = AccessTokenClaims(
            sub: principal.userID.rawValue, email: principal.email, name: principal.name, role: principal.role,
            tokenVersion: principal.tokenVersion, issuedAt: now, expiresAt: now.addingTimeInterval(timeToLive)
        )
        return try await keys.sign(claims, kid: JWKIdentifier(string: keyID))
    }

    /// The document served at `/users/.well-known/jwks.json`: the current key first, then the
    /// previous ones.
    public var jwks: JWKSDocument {
        JWKSDocument(keys: [publicJWK] + previousJWKs)
    }

    /// The PEM blocks in `text` (`JWT_PREVIOUS_PUBLIC_KEYS` may hold several, one after another).
    public static func pemBlocks(_ text: String) -> [String] {
        var blocks: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "-----BEGIN "), let end = rest.range(of: "-----END ", range: start.upperBound..<rest.endIndex),
            let close = rest.range(of: "-----", range: end.upperBound..<rest.endIndex) {
            blocks.append(String(rest[start.lowerBound..<close.upperBound]))
            rest = rest[close.upperBound...]
        }
        return blocks
    }
}

enum TokenIssuerError: Error {
    case unusableKey
}

/// `{"keys": [...]}` with EC P-256 public keys.
public struct JWKSDocument: Codable, Sendable, Equatable {
    public var keys: [PublicJWK]

    public init(keys: [PublicJWK]) {
        self.keys = keys
    }
}

public struct PublicJWK: Codable, Sendable, Equatable {
    public var kty = "EC"
    public var crv = "P-256"
    public var alg = "ES256"
    public var use = "sig"
    public var kid: String
    public var x: String
    public var y: String

    public init(kid: String, x: String, y: String) {
        self.kid = kid
        self.x = x
        self.y = y
    }

    /// RFC 7638 thumbprint: base64url SHA-256 of the required members in lexicographic order.
    var thumbprint: String {
        let canonical = #"{"crv":"\#(crv)","kty":"\#(kty)","x":"\#(x)","y":"\#(y)"}"#
        return Data(SHA256.hash(data: Data(canonical.utf8))).base64URLEncoded
    }
}

extension Data {
    var base64URLEncoded: String {
        base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
