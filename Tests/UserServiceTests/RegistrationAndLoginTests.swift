import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import Testing
import TestSupport
@testable import UserService

@Suite("user-service: register and log in")
struct RegistrationAndLoginTests {
    @Test("register answers 201 with the user, a bearer token and its lifetime", arguments: TestDatabase.all)
    func register(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let response = try await client.register(email: "  Alice@Example.ORG ", password: "password", name: " Alice ")
            #expect(response.status == .created)
            let body = try response.json(AuthResponse.self)
            #expect(body.user.email == "alice@example.org")
            #expect(body.user.name == "Alice")
            #expect(body.user.role == .donor)
            #expect(body.user.id.isUUID)
            #expect(body.tokenType == "Bearer")
            #expect(body.expiresIn == 900)
            #expect(body.accessToken.split(separator: ".").count == 3)
            #expect(!response.text.contains("password"))
            #expect(!response.text.contains("$2"))  // no bcrypt hash anywhere
        }
    }

    @Test("an email already registered, in any case or spacing, is 409 email_taken", arguments: TestDatabase.all)
    func duplicateEmail(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            #expect(try await client.register(email: "bob@example.org").status == .created)
            for variant in ["bob@example.org", "BOB@example.org", " bob@EXAMPLE.org "] {
                let again = try await client.register(email: variant)
                #expect(again.status == .conflict)
                #expect(again.errorCode == "email_taken")
            }
        }
    }

    @Test("concurrent registrations of one email create exactly one account", arguments: TestDatabase.all)
    func concurrentDuplicates(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<12 {
                    group.addTask { try await client.register(email: "race@example.org").status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1)
            #expect(statuses.filter { $0 == .conflict }.count == 11)
        }
    }

    @Test("invalid registrations are 400s with stable codes", arguments: TestDatabase.all)
    func invalidRegistration(database: TestDatabase) async throws {
        let cases: [(body: String, code: String)] = [
            (#"{"email": "a@example.org", "password": "1234567", "name": "A"}"#, "password_too_short"),
            (#"{"email": "a@example.org", "password": "\#(String(repeating: "p", count: 73))", "name": "A"}"#, "password_too_long"),
            (#"{"email": "a@example.org", "password": "12345678", "name": "   "}"#, "name_required"),
            (#"{"email": "a@example.org", "password": "12345678"}"#, "missing_field"),
            (#"{"email": "not-an-email", "password": "12345678", "name": "A"}"#, "invalid_email"),
            (#"{"email": "a@b", "password": "12345678", "name": "A"}"#, "invalid_email"),
            (#"{"email": 42, "password": "12345678", "name": "A"}"#, "invalid_field"),
            (#"{"email": "a@example.org", "password": "12345678", "name": "A""#, "invalid_json"),
            ("", "invalid_json"),
        ]
        try await withUserService(database) { client in
            for (body, code) in cases {
                let response = try await client.execute(uri: "/users/register", method: .post, headers: .json, body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.errorCode == code, "\(body)")
            }
            // Exactly eight characters is enough.
            #expect(try await client.register(email: "a@example.org", password: "12345678").status == .created)
        }
    }

    @Test("login answers 200 with the same shape, whatever the email's case", arguments: TestDatabase.all)
    func login(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let registered = try await client.register(email: "carol@example.org", password: "carol-pass", name: "Carol").json(AuthResponse.self)
            let response = try await client.login(email: " CAROL@example.org", password: "carol-pass")
            #expect(response.status == .ok)
            let body = try response.json(AuthResponse.self)
            #expect(body.user == registered.user)
            #expect(body.tokenType == "Bearer" && body.expiresIn == 900)
            #expect(!response.text.contains("$2"))
        }
    }

    @Test("a wrong password and an unknown email get the same 401 invalid_credentials", arguments: TestDatabase.all)
    func badCredentials(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            try await client.register(email: "dave@example.org", password: "dave-pass")
            let wrongPassword = try await client.login(email: "dave@example.org", password: "not-daves")
            let unknownEmail = try await client.login(email: "nobody@example.org", password: "dave-pass")
            #expect(wrongPassword.status == .unauthorized && unknownEmail.status == .unauthorized)
            #expect(wrongPassword.errorCode == "invalid_credentials")
            #expect(wrongPassword.text == unknownEmail.text)
        }
    }
}

@Suite("user-service: the caller's profile and the key set")
struct ProfileTests {
    @Test("GET /users/me answers the token's user, never a password hash", arguments: TestDatabase.all)
    func me(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let token = try await client.token(forNew: "erin@example.org")
            let response = try await client.execute(uri: "/users/me", method: .get, headers: .bearer(token))
            #expect(response.status == .ok)
            let user = try response.json(UserResponse.self)
            #expect(user.email == "erin@example.org")
            #expect(user.role == .donor)
            #expect((try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(user.createdAt)) != nil)
            #expect(!response.text.contains("password"))
        }
    }

    @Test("GET /users/me without a token is 401 unauthorized; with a bad one 401 invalid_token", arguments: TestDatabase.all)
    func meUnauthenticated(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let none = try await client.execute(uri: "/users/me", method: .get)
            #expect(none.status == .unauthorized && none.errorCode == "unauthorized")
            let garbage = try await client.execute(uri: "/users/me", method: .get, headers: .bearer("garbage"))
            #expect(garbage.status == .unauthorized && garbage.errorCode == "invalid_token")
        }
    }

    @Test("the JWKS route publishes the key that verifies issued tokens", arguments: TestDatabase.all)
    func jwks(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            let token = try await client.token(forNew: "frank@example.org")
            let jwks = try await client.execute(uri: "/users/.well-known/jwks.json", method: .get)
            #expect(jwks.status == .ok)
            let keys = try JSONDecoder().decode([String: [[String: String]]].self, from: Data(buffer: jwks.body))["keys"] ?? []
            let kid = try #require(keys.first?["kid"])
            let header = try #require(token.split(separator: ".").first)
            var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            #expect(String(decoding: Data(base64Encoded: base64)!, as: UTF8.self).contains(kid))
        }
    }

    @Test("readiness is reported once migrations are applied; metrics count the requests", arguments: TestDatabase.all)
    func health(database: TestDatabase) async throws {
        try await withUserService(database) { client in
            #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/health/ready", method: .get).status == .ok)
            try await client.register(email: "gina@example.org")
            let metrics = try await client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains(#"http_requests_total{route="/users/register",method="POST",status="201"} 1"#))
        }
    }
}
