import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Persistence
import Synchronization
import Testing
import TestSupport
@testable import UserService
import HTTPSupport

@Suite("user-service: the bootstrap admin and the admin routes")
struct AdminTests {
    @Test("the bootstrap admin is created once and never reset", arguments: TestDatabase.all)
    func bootstrapOnce(database: TestDatabase) async throws {
        try await database.withFreshDatabase { url in
            let outcomes = OutcomeLog()
            try await withUserService(url: url, admin: testAdmin, onAdminBootstrap: outcomes.record) { client in
                let response = try await client.login(email: "admin@careforall.test", password: testAdmin.password)
                #expect(response.status == .ok)
                #expect(try response.json(AuthResponse.self).user.role == .admin)
            }
            // A restart with another configured password leaves the account as it was.
            let changed = AdminBootstrap(email: testAdmin.email, password: "a-different-password")
            try await withUserService(url: url, admin: changed, onAdminBootstrap: outcomes.record) { client in
                let original = try await client.login(email: testAdmin.email, password: testAdmin.password)
                #expect(original.status == .ok)
                let configured = try await client.login(email: testAdmin.email, password: "a-different-password")
                #expect(configured.status == .unauthorized)
            }
            #expect(outcomes.all == [.created(email: "admin@careforall.test"), .alreadyExists(email: "admin@careforall.test")])
        }
    }

    @Test("admins page through users newest first with an opaque cursor", arguments: TestDatabase.all)
    func listUsers(database: TestDatabase) async throws {
        try await withUserService(database, admin: testAdmin) { client in
            for index in 0..<5 { try await client.register(email: "donor\(index)@example.org") }
            let token = try await client.adminToken()
            var seen: [UserResponse] = []
            var cursor: String?
            var pages = 0
            repeat {
                let uri = "/users?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let response = try await client.execute(uri: uri, method: .get, headers: .bearer(token))
                #expect(response.status == .ok)
                #expect(response.text.contains("\"next_cursor\""))
                #expect(!response.text.contains("password"))
                let page = try response.json(PageBody<UserResponse>.self)
                #expect(page.items.count <= 2)
                seen += page.items
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen.count == 6)
            #expect(Set(seen.map(\.id)).count == 6)
            #expect(seen.map(\.createdAt) == seen.map(\.createdAt).sorted(by: >))
            let all = try await client.execute(uri: "/users", method: .get, headers: .bearer(token)).json(PageBody<UserResponse>.self)
            #expect(all.items.count == 6 && all.nextCursor == nil)
        }
    }

    @Test("bad paging parameters are 400s", arguments: TestDatabase.all)
    func badPaging(database: TestDatabase) async throws {
        try await withUserService(database, admin: testAdmin) { client in
            let token = try await client.adminToken()
            for (query, code) in [("limit=0", "invalid_parameter"), ("limit=101", "invalid_parameter"), ("limit=ten", "invalid_parameter"), ("cursor=%%%", "invalid_cursor"), ("cursor=bm9wZQ", "invalid_cursor")] {
                let response = try await client.execute(uri: "/users?\(query)", method: .get, headers: .bearer(token))
                #expect(response.status == .badRequest, "\(query)")
                #expect(response.errorCode == code, "\(query)")
            }
        }
    }

    @Test("donors cannot list users or change roles: 403 forbidden", arguments: TestDatabase.all)
    func donorsRefused(database: TestDatabase) async throws {
        try await withUserService(database, admin: testAdmin) { client in
            let token = try await client.token(forNew: "helen@example.org")
            let list = try await client.execute(uri: "/users", method: .get, headers: .bearer(token))
            #expect(list.status == .forbidden && list.errorCode == "forbidden")
            let me = try await client.execute(uri: "/users/me", method: .get, headers: .bearer(token)).json(UserResponse.self)
            let patch = try await client.execute(uri: "/users/\(me.id)", method: .patch, headers: .bearer(token), body: ByteBuffer(json: ["role": "admin"]))
            #expect(patch.status == .forbidden)
            let anonymous = try await client.execute(uri: "/users", method: .get)
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test("an admin changes a user's role; the user's next token carries it", arguments: TestDatabase.all)
    func changeRole(database: TestDatabase) async throws {
        try await withUserService(database, admin: testAdmin) { client in
            let donor = try await client.register(email: "ivan@example.org", password: "ivan-pass").json(AuthResponse.self)
            let token = try await client.adminToken()
            let response = try await client.execute(
                uri: "/users/\(donor.user.id)", method: .patch, headers: .bearer(token), body: ByteBuffer(json: ["role": "admin"])
            )
            #expect(response.status == .ok)
            #expect(try response.json(UserResponse.self).role == .admin)
            let relogin = try await client.login(email: "ivan@example.org", password: "ivan-pass").json(AuthResponse.self)
            let list = try await client.execute(uri: "/users", method: .get, headers: .bearer(relogin.accessToken))
            #expect(list.status == .ok)
        }
    }

    @Test("a bad role is 400 invalid_role; an unknown user is 404 not_found", arguments: TestDatabase.all)
    func changeRoleErrors(database: TestDatabase) async throws {
        try await withUserService(database, admin: testAdmin) { client in
            let donor = try await client.register(email: "judy@example.org").json(AuthResponse.self)
            let token = try await client.adminToken()
            let badRole = try await client.execute(
                uri: "/users/\(donor.user.id)", method: .patch, headers: .bearer(token), body: ByteBuffer(json: ["role": "superuser"])
            )
            #expect(badRole.status == .badRequest && badRole.errorCode == "invalid_role")
            let missing = try await client.execute(
                uri: "/users/\(UUID().uuidString.lowercased())", method: .patch, headers: .bearer(token), body: ByteBuffer(json: ["role": "admin"])
            )
            #expect(missing.status == .notFound && missing.errorCode == "not_found")
            let noBody = try await client.execute(uri: "/users/\(donor.user.id)", method: .patch, headers: .bearer(token), body: ByteBuffer(string: "{}"))
            #expect(noBody.status == .badRequest && noBody.errorCode == "missing_field")
        }
    }
}

/// Records bootstrap outcomes across two app lifetimes.
final class OutcomeLog: Sendable {
    private let outcomes = Mutex<[AdminBootstrap.Outcome]>([])
    var record: @Sendable (AdminBootstrap.Outcome) -> Void { { outcome in self.outcomes.withLock { $0.append(outcome) } } }
    var all: [AdminBootstrap.Outcome] { outcomes.withLock { $0 } }
}
