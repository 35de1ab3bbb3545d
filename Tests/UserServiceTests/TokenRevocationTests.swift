import Auth
import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Signatures
import Synchronization
import Testing
import TestSupport
@testable import UserService

@Suite("user-service: ending tokens (logout, password change, role change) and the token-version route")
struct TokenRevocationTests {
    func me(_ client: some TestClientProtocol, _ token: String) async throws -> TestResponse {
        try await client.execute(uri: "/users/me", method: .get, headers: .bearer(token))
    }

    func version(_ client: some TestClientProtocol, _ id: UserID, secret: String? = userSecret, path: String? = nil) async throws -> TestResponse {
        let uri = "/users/internal/token-versions/\(id)"
        var headers: HTTPFields = [:]
        if let secret { headers[.careForAllSignature] = SignatureScheme(secret: secret).sign(method: "GET", path: path ?? uri, body: Data()) }
        return try await client.execute(uri: uri, method: .get, headers: headers)
    }

    @Test("logout ends every token issued before it, this one included; a new login works", arguments: TestDatabase.all)
    func logout(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let first = try await client.token(forNew: "lou@example.org")
            let second = try await client.login(email: "lou@example.org", password: "correct horse").json(AuthResponse.self).accessToken
            let out = try await client.execute(uri: "/users/logout", method: .post, headers: .bearer(first))
            #expect(out.status == .noContent)
            for token in [first, second] {
                let answer = try await me(client, token)
                #expect(answer.status == .unauthorized)
                #expect(answer.errorCode == "token_revoked")
            }
            let fresh = try await client.login(email: "lou@example.org", password: "correct horse").json(AuthResponse.self).accessToken
            #expect(try await me(client, fresh).status == .ok)
            #expect(try await client.execute(uri: "/users/logout", method: .post).status == .unauthorized, "logout needs a token")
        }
    }

    @Test("a password change needs the current password, ends older tokens, answers a new one, never cached", arguments: TestDatabase.all)
    func passwordChange(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let old = try await client.token(forNew: "pat@example.org")
            let wrong = try await client.execute(
                uri: "/users/me/password", method: .post, headers: .bearer(old),
                body: ByteBuffer(json: ["current_password": "not my password", "new_password": "a new password"])
            )
            #expect(wrong.status == .unauthorized && wrong.errorCode == "invalid_credentials")
            let short = try await client.execute(
                uri: "/users/me/password", method: .post, headers: .bearer(old),
                body: ByteBuffer(json: ["current_password": "correct horse", "new_password": "short"])
            )
            #expect(short.errorCode == "password_too_short")
            #expect(try await me(client, old).status == .ok, "refused changes end nothing")
            let changed = try await client.execute(
                uri: "/users/me/password", method: .post, headers: .bearer(old),
                body: ByteBuffer(json: ["current_password": "correct horse", "new_password": "a new password"])
            )
            #expect(changed.status == .ok)
            #expect(changed.headers[.cacheControl] == "no-store")
            let fresh = try changed.json(AuthResponse.self).accessToken
            #expect(try await me(client, old).errorCode == "token_revoked")
            #expect(try await me(client, fresh).status == .ok)
            #expect(try await client.login(email: "pat@example.org", password: "correct horse").status == .unauthorized)
            #expect(try await client.login(email: "pat@example.org", password: "a new password").status == .ok)
        }
    }

    @Test("a user's password attempts are limited wherever they come from: the 11th within a minute is 429 with Retry-After, even with the right password", arguments: TestDatabase.all)
    func passwordGuessing(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let token = try await client.token(forNew: "guess@example.org")
            for guess in 0..<10 {
                let wrong = try await client.execute(
                    uri: "/users/me/password", method: .post, headers: .bearer(token),
                    body: ByteBuffer(json: ["current_password": "guess \(guess)", "new_password": "a new password"])
                )
                #expect(wrong.status == .unauthorized, "attempt \(guess)")
            }
            let right = try await client.execute(
                uri: "/users/me/password", method: .post, headers: .bearer(token),
                body: ByteBuffer(json: ["current_password": "correct horse", "new_password": "a new password"])
            )
            #expect(right.status == .tooManyRequests && right.errorCode == "rate_limited")
            #expect(right.headers[.retryAfter].flatMap { Int($0) }.map { (1...60).contains($0) } == true)
            // Another user is not held back by this one's attempts.
            let other = try await client.token(forNew: "other@example.org")
            let theirs = try await client.execute(
                uri: "/users/me/password", method: .post, headers: .bearer(other),
                body: ByteBuffer(json: ["current_password": "correct horse", "new_password": "a new password"])
            )
            #expect(theirs.status == .ok)
        }
    }

    @Test("a role change ends the user's older tokens; setting the same role again ends nothing", arguments: TestDatabase.all)
    func roleChange(database: TestDatabase) async throws {
        try await withUserService(database, admin: testAdmin) { client in
            let admin = try await client.adminToken()
            let promoted = try await client.register(email: "rae@example.org").json(AuthResponse.self)
            let promote = try await client.execute(
                uri: "/users/\(promoted.user.id)", method: .patch, headers: .bearer(admin), body: ByteBuffer(json: ["role": "admin"])
            )
            #expect(promote.status == .ok)
            #expect(try await me(client, promoted.accessToken).errorCode == "token_revoked")
            let asAdmin = try await client.login(email: "rae@example.org", password: "correct horse").json(AuthResponse.self).accessToken
            let again = try await client.execute(
                uri: "/users/\(promoted.user.id)", method: .patch, headers: .bearer(admin), body: ByteBuffer(json: ["role": "admin"])
            )
            #expect(again.status == .ok)
            #expect(try await me(client, asAdmin).status == .ok, "the same role again changes nothing")
            _ = try await client.execute(
                uri: "/users/\(promoted.user.id)", method: .patch, headers: .bearer(admin), body: ByteBuffer(json: ["role": "donor"])
            )
            let demoted = try await client.execute(uri: "/users", method: .get, headers: .bearer(asAdmin))
            #expect(demoted.status == .unauthorized && demoted.errorCode == "token_revoked", "a demoted admin is no admin")
        }
    }

    @Test("register and login answers are never cached", arguments: [TestDatabase.sqlite])
    func noStore(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let registered = try await client.register(email: "nia@example.org")
            let loggedIn = try await client.login(email: "nia@example.org", password: "correct horse")
            #expect(registered.headers[.cacheControl] == "no-store")
            #expect(loggedIn.headers[.cacheControl] == "no-store")
        }
    }

    @Test("the token-version route answers signed calls only (v2, for this very path), and 404 for an unknown user", arguments: TestDatabase.all)
    func versionRoute(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let user = try await client.register(email: "vic@example.org").json(AuthResponse.self)
            let first = try await version(client, user.user.id)
            #expect(first.status == .ok)
            #expect(first.text.contains(#""token_version":0"#))
            _ = try await client.execute(uri: "/users/logout", method: .post, headers: .bearer(user.accessToken))
            #expect(try await version(client, user.user.id).text.contains(#""token_version":1"#))
            #expect(try await version(client, .new()).status == .notFound)
            #expect(try await version(client, user.user.id, secret: nil).errorCode == "invalid_signature")
            #expect(try await version(client, user.user.id, secret: "another secret").errorCode == "invalid_signature")
            #expect(try await version(client, user.user.id, path: "/users/internal/token-versions/someone-else").errorCode == "invalid_signature")
        }
    }
}

@Suite("Token versions cached by the other services")
struct TokenVersionCacheTests {
    /// A user-service stand-in that counts its answers and can be switched off.
    final class Source: TokenVersionSource {
        struct State {
            var versions: [UserID: Int] = ["u1": 0]
            var down = false
            var calls = 0
        }

        let state = Mutex(State())

        func currentVersion(userID: UserID) async throws -> Int? {
            try state.withLock { state in
                state.calls += 1
                if state.down { throw CancellationError() }
                return state.versions[userID]
            }
        }

        var calls: Int { state.withLock { $0.calls } }
        func set(_ id: UserID, _ version: Int) { state.withLock { $0.versions[id] = version } }
        func setDown() { state.withLock { $0.down = true } }
    }

    let principal = Principal(userID: "u1", email: "u@example.org", name: "U", role: .donor, tokenVersion: 0)

    @Test("a fresh entry answers without asking; a newer version ends the token once the entry is stale")
    func freshness() async throws {
        let source = Source()
        let clock = TestClock()
        let cache = TokenVersionCache(source: source, freshFor: .milliseconds(200), now: clock.instant)
        try await cache.check(principal)
        try await cache.check(principal)
        #expect(source.calls == 1)
        source.set("u1", 1)
        clock.advance(by: .milliseconds(199))
        try await cache.check(principal)  // still fresh: not yet seen
        clock.advance(by: .milliseconds(1))
        await #expect(throws: APIError.tokenRevoked) { try await cache.check(principal) }
    }

    @Test("an unknown user's tokens are over")
    func unknownUser() async throws {
        let cache = TokenVersionCache(source: Source())
        let ghost = Principal(userID: "ghost", email: "g@example.org", name: "G", role: .admin, tokenVersion: 5)
        await #expect(throws: APIError.tokenRevoked) { try await cache.check(ghost) }
    }

    @Test("user-service down: a stale entry still answers for a while; with none, 503 and never a pass")
    func outage() async throws {
        let source = Source()
        let clock = TestClock()
        let cache = TokenVersionCache(source: source, freshFor: .zero, staleFor: .seconds(60), now: clock.instant)
        try await cache.check(principal)
        source.setDown()
        clock.advance(by: .seconds(59))
        try await cache.check(principal)
        clock.advance(by: .seconds(1))
        await #expect(throws: APIError.tokenCheckUnavailable, "too stale to answer for") { try await cache.check(principal) }
        let stranger = Principal(userID: "u2", email: "s@example.org", name: "S", role: .donor, tokenVersion: 0)
        await #expect(throws: APIError.tokenCheckUnavailable) { try await cache.check(stranger) }
        let strict = TokenVersionCache(source: source, freshFor: .zero, staleFor: .zero)
        await #expect(throws: APIError.tokenCheckUnavailable) { try await strict.check(principal) }
    }
}
