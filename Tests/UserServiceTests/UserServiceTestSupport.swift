import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Persistence
import PlatformConfig
import Testing
import TestSupport
@testable import UserService

/// Builds user-service on a fresh database of `database`'s kind and drives its router.
func withUserService<Value: Sendable>(
    _ database: TestDatabase,
    admin: AdminBootstrap? = nil,
    _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Value
) async throws -> Value {
    try await database.withFreshDatabase { url in
        try await withUserService(url: url, admin: admin, test)
    }
}

func withUserService<Value: Sendable>(
    url: DatabaseURL,
    admin: AdminBootstrap? = nil,
    onAdminBootstrap: @escaping @Sendable (AdminBootstrap.Outcome) -> Void = { _ in },
    _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Value
) async throws -> Value {
    let config = UserServiceConfig(
        database: url, signingKeyPEM: TestKeys.signingKeyPEM, admin: admin, bcryptCost: 4, secrets: InternalSecrets(shared: userSecret),
        logLevel: TestLogging.level
    )
    let app = try await UserServiceApp.buildApplication(config: config, onAdminBootstrap: onAdminBootstrap)
    return try await app.test(.router, test)
}

let userSecret = "user-service-test-secret"

let testAdmin = AdminBootstrap(email: "Admin@CareForAll.test", password: "admin-password-1")

extension TestClientProtocol {
    @discardableResult
    func register(email: String, password: String = "correct horse", name: String = "Donor") async throws -> TestResponse {
        try await execute(
            uri: "/users/register", method: .post, headers: .json,
            body: ByteBuffer(json: ["email": email, "password": password, "name": name])
        )
    }

    func login(email: String, password: String) async throws -> TestResponse {
        try await execute(uri: "/users/login", method: .post, headers: .json, body: ByteBuffer(json: ["email": email, "password": password]))
    }

    /// Registers and returns the access token.
    func token(forNew email: String, password: String = "correct horse") async throws -> String {
        let response = try await register(email: email, password: password)
        #expect(response.status == .created)
        return try response.json(AuthResponse.self).accessToken
    }

    func adminToken() async throws -> String {
        let response = try await login(email: testAdmin.email, password: testAdmin.password)
        #expect(response.status == .ok)
        return try response.json(AuthResponse.self).accessToken
    }
}
