import Auth
import Contracts
import Crypto
import Foundation
import HTTPSupport
import Testing
import TestSupport

@Suite("Rotating the signing key without signing anyone out")
struct KeyRotationTests {
    @Test("with the previous public key still published, tokens of both keys verify; without it, the old ones no longer do")
    func previousKeys() async throws {
        let oldPEM = P256.Signing.PrivateKey().pemRepresentation
        let newPEM = P256.Signing.PrivateKey().pemRepresentation
        let oldPublic = try P256.Signing.PrivateKey(pemRepresentation: oldPEM).publicKey.pemRepresentation
        let ada = Principal(userID: "u-1", email: "ada@example.org", name: "Ada", role: .donor)
        let old = try await TokenIssuer(privateKeyPEM: oldPEM, timeToLive: 900)
        let oldToken = try await old.issue(for: ada)

        let rotated = try await TokenIssuer(privateKeyPEM: newPEM, previousPublicKeyPEMs: [oldPublic], timeToLive: 900)
        #expect(rotated.jwks.keys.map(\.kid) == [rotated.keyID, old.keyID])
        let newToken = try await rotated.issue(for: ada)
        let verifier = TokenVerifier(source: StaticJWKSSource(rotated.jwks), logger: TestLogging.logger)
        #expect(try await verifier.verify(oldToken).userID == "u-1")
        #expect(try await verifier.verify(newToken).userID == "u-1")

        let done = try await TokenIssuer(privateKeyPEM: newPEM, timeToLive: 900)
        let later = TokenVerifier(source: StaticJWKSSource(done.jwks), logger: TestLogging.logger)
        await #expect(throws: APIError.self) { try await later.verify(oldToken) }
        #expect(try await later.verify(newToken).userID == "u-1")
    }

    @Test("JWT_PREVIOUS_PUBLIC_KEYS may hold several PEMs one after another; the current key is never listed twice")
    func pemBlocks() async throws {
        let keys = (0..<2).map { _ in P256.Signing.PrivateKey() }
        let text = keys.map(\.publicKey.pemRepresentation).joined(separator: "\n")
        #expect(TokenIssuer.pemBlocks(text) == keys.map(\.publicKey.pemRepresentation).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        #expect(TokenIssuer.pemBlocks("") == [])
        let current = try await TokenIssuer(privateKeyPEM: keys[0].pemRepresentation, previousPublicKeyPEMs: [keys[0].publicKey.pemRepresentation], timeToLive: 60)
        #expect(current.jwks.keys.count == 1)
    }
}
