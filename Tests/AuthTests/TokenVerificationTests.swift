import Contracts
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import Logging
import NIOConcurrencyHelpers
import Observability
import Testing
import TestSupport
@testable import Auth
@testable import HTTPSupport

private let donor = Principal(userID: "u-1", email: "d@example.org", name: "Dana", role: .donor)
private let admin = Principal(userID: "u-2", email: "a@example.org", name: "Ari", role: .admin)

private func makeIssuer(ttl: TimeInterval = 900) async throws -> TokenIssuer {
    try await TokenIssuer(privateKeyPEM: TestKeys.signingKeyPEM, timeToLive: ttl)
}

private func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

private func parts(_ token: String) -> [String] {
    token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
}

/// A JWKS endpoint whose keys can change, counting how often it is asked.
private final class RotatingSource: JWKSSource {
    let state: NIOLockedValueBox<(document: JWKSDocument, fetches: Int)>
    init(_ document: JWKSDocument) { state = .init((document, 0)) }
    func fetch() async throws -> JWKSDocument {
        state.withLockedValue { $0.fetches += 1; return $0.document }
    }
    func rotate(to document: JWKSDocument) { state.withLockedValue { $0.document = document } }
    var fetches: Int { state.withLockedValue { $0.fetches } }
}

@Suite("Access tokens: ES256, verified against the published JWKS")
struct TokenVerificationTests {
    @Test("a token the issuer signed verifies to the same caller")
    func roundTrip() async throws {
        let issuer = try await makeIssuer()
        let verifier = TokenVerifier(source: StaticJWKSSource(issuer.jwks), logger: TestLogging.logger)
        let token = try await issuer.issue(for: donor)
        #expect(try await verifier.verify(token) == donor)
        let header = try #require(TokenVerifier.header(of: token))
        #expect(header.alg == "ES256")
        #expect(header.kid == issuer.keyID)
    }

    @Test("the JWKS publishes the EC public key and nothing private")
    func jwks() async throws {
        let issuer = try await makeIssuer()
        let document = issuer.jwks
        #expect(document.keys.count == 1)
        let key = try #require(document.keys.first)
        #expect(key.kty == "EC" && key.crv == "P-256" && key.alg == "ES256" && key.kid == issuer.keyID)
        let json = String(decoding: try JSONEncoder().encode(document), as: UTF8.self)
        #expect(!json.contains("\"d\""))
    }

    @Test("alg none, HS256, a tampered payload, another key, expiry and garbage are all invalid_token")
    func rejected() async throws {
        let issuer = try await makeIssuer()
        let verifier = TokenVerifier(source: StaticJWKSSource(issuer.jwks), logger: TestLogging.logger)
        let good = parts(try await issuer.issue(for: donor))

        // alg none, with our kid and an empty signature.
        let noneHeader = base64URL(Data(#"{"alg":"none","typ":"JWT","kid":"\#(issuer.keyID)"}"#.utf8))
        let none = "\(noneHeader).\(good[1])."

        // HS256 keyed with the public key: the classic algorithm-confusion attack.
        let hsHeader = base64URL(Data(#"{"alg":"HS256","typ":"JWT","kid":"\#(issuer.keyID)"}"#.utf8))
        let hsKey = SymmetricKey(data: Data(issuer.jwks.keys[0].x.utf8))
        let hsMAC = HMAC<SHA256>.authenticationCode(for: Data("\(hsHeader).\(good[1])".utf8), using: hsKey)
        let hs256 = "\(hsHeader).\(good[1]).\(base64URL(Data(hsMAC)))"

        // The payload edited to claim admin, the signature kept.
        var claims = try JSONSerialization.jsonObject(with: Data(base64Encoded: padded(good[1]))!) as! [String: Any]
        claims["role"] = "admin"
        let tampered = "\(good[0]).\(base64URL(try JSONSerialization.data(withJSONObject: claims))).\(good[2])"

        // Signed by a different key that claims our kid.
        let otherKeys = JWTKeyCollection()
        await otherKeys.add(ecdsa: ES256PrivateKey(), kid: JWKIdentifier(string: issuer.keyID))
        let forged = try await otherKeys.sign(
            AccessTokenClaims(sub: "u-1", email: "d@example.org", name: "D", role: .admin, tokenVersion: 0, issuedAt: Date(), expiresAt: Date().addingTimeInterval(600)),
            kid: JWKIdentifier(string: issuer.keyID)
        )
        // Signed by a different issuer altogether (unknown kid).
        let foreign = try await TokenIssuer(privateKeyPEM: P256.Signing.PrivateKey().pemRepresentation, timeToLive: 900).issue(for: donor)

        let expired = try await issuer.issue(for: donor, now: Date().addingTimeInterval(-3600))

        for token in [none, hs256, tampered, forged, foreign, expired, "", "garbage", "a.b.c", "...", good[0] + "." + good[1]] {
            await #expect(throws: APIError.invalidToken, "token \(token.prefix(24))…") { try await verifier.verify(token) }
        }
    }

    @Test("a token with a new kid makes the verifier refetch the JWKS once")
    func keyRotation() async throws {
        let first = try await makeIssuer()
        let second = try await TokenIssuer(privateKeyPEM: P256.Signing.PrivateKey().pemRepresentation, timeToLive: 900)
        let source = RotatingSource(first.jwks)
        let verifier = TokenVerifier(source: source, minimumRefetchInterval: .zero, logger: TestLogging.logger)

        #expect(try await verifier.verify(try await first.issue(for: donor)) == donor)
        #expect(try await verifier.verify(try await first.issue(for: admin)) == admin)
        #expect(source.fetches == 1)  // cached after the first fetch

        source.rotate(to: JWKSDocument(keys: first.jwks.keys + second.jwks.keys))
        #expect(try await verifier.verify(try await second.issue(for: donor)) == donor)
        #expect(source.fetches == 2)
    }

    @Test("unknown kids cannot make the verifier fetch more than once per interval")
    func refetchThrottled() async throws {
        let issuer = try await makeIssuer()
        let source = RotatingSource(issuer.jwks)
        let verifier = TokenVerifier(source: source, minimumRefetchInterval: .seconds(60), logger: TestLogging.logger)
        let stranger = try await TokenIssuer(privateKeyPEM: P256.Signing.PrivateKey().pemRepresentation, timeToLive: 900)
        for _ in 0..<5 {
            await #expect(throws: APIError.invalidToken) { try await verifier.verify(try await stranger.issue(for: donor)) }
        }
        #expect(source.fetches == 1)
    }

    private func padded(_ base64URL: String) -> String {
        var base64 = base64URL.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return base64
    }
}

@Suite("The authentication middleware and role guard")
struct AuthMiddlewareTests {
    func makeApp(issuer: TokenIssuer) -> some ApplicationProtocol {
        let router = ServiceRouter.make(service: "test-service", version: "0.0.0", metrics: .init(), ready: { true })
        router.add(middleware: AuthMiddleware(verifier: TokenVerifier(source: StaticJWKSSource(issuer.jwks), logger: TestLogging.logger)))
        router.get("/open") { _, context in context.principal?.userID.rawValue ?? "guest" }
        router.group("/mine").add(middleware: RequireRoleMiddleware()).get { _, context in try context.requirePrincipal().userID.rawValue }
        router.group("/admin").add(middleware: RequireRoleMiddleware(.admin)).get { _, _ in "welcome" }
        return Application(router: router)
    }

    @Test("no token: guests pass open routes, signed-in routes answer 401 unauthorized")
    func guest() async throws {
        try await makeApp(issuer: try await makeIssuer()).test(.router) { client in
            #expect(try await client.execute(uri: "/open", method: .get).text == "guest")
            let mine = try await client.execute(uri: "/mine", method: .get)
            #expect(mine.status == .unauthorized && mine.errorCode == "unauthorized")
        }
    }

    @Test("a bad Authorization header is 401 invalid_token on any route")
    func badHeader() async throws {
        try await makeApp(issuer: try await makeIssuer()).test(.router) { client in
            for value in ["Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer", "token"] {
                let response = try await client.execute(uri: "/open", method: .get, headers: [.authorization: value])
                #expect(response.status == .unauthorized && response.errorCode == "invalid_token", "\(value)")
            }
        }
    }

    @Test("the role guard lets admins in and answers donors 403 forbidden")
    func roles() async throws {
        let issuer = try await makeIssuer()
        let donorToken = try await issuer.issue(for: donor)
        let adminToken = try await issuer.issue(for: admin)
        try await makeApp(issuer: issuer).test(.router) { client in
            #expect(try await client.execute(uri: "/mine", method: .get, headers: .bearer(donorToken)).text == "u-1")
            let refused = try await client.execute(uri: "/admin", method: .get, headers: .bearer(donorToken))
            #expect(refused.status == .forbidden && refused.errorCode == "forbidden")
            #expect(try await client.execute(uri: "/admin", method: .get, headers: .bearer(adminToken)).text == "welcome")
        }
    }
}

@Suite("The verifier under concurrency")
struct TokenVerifierConcurrencyTests {
    /// A key set that takes a while to arrive, as over a network.
    final class SlowSource: JWKSSource {
        let document: JWKSDocument
        init(_ document: JWKSDocument) { self.document = document }
        func fetch() async throws -> JWKSDocument {
            try await Task.sleep(for: .milliseconds(100))
            return document
        }
    }

    @Test("many first requests at once all wait for the one key fetch and all verify")
    func concurrentFirstUse() async throws {
        let issuer = try await TokenIssuer(privateKeyPEM: TestKeys.signingKeyPEM, timeToLive: 900)
        let verifier = TokenVerifier(source: SlowSource(issuer.jwks), logger: TestLogging.logger)
        let token = try await issuer.issue(for: Principal(userID: "u", email: "u@example.org", name: "U", role: .donor))
        let verified = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<30 {
                group.addTask { (try? await verifier.verify(token)) != nil }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(verified == 30)
    }
}
