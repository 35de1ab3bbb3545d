import AsyncHTTPClient
import Auth
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import Platform
import Signatures
import PlatformConfig
import ServiceLifecycle
import Synchronization
import Testing
import TestSupport
import NIOHTTP1
import HTTPSupport

/// The dev platform on free loopback ports, in a temp data folder, driven over real HTTP.
struct RunningPlatform: Sendable {
    /// Logs in as the bootstrap admin with the password the platform announced at start.
    func adminToken() async throws -> String {
        let line = try #require(announcements.all.first { $0.hasPrefix("Admin account created:") })
        let credentials = line.dropFirst("Admin account created: ".count).split(separator: " ")
        let login = try await HTTPClient.testing.send(
            "POST", gateway + "/api/users/login", json: ["email": String(credentials[0]), "password": String(credentials[2])]
        )
        return try #require(try login.json()["access_token"] as? String)
    }

    let gateway: String
    let userService: String
    let campaignService: String
    let pledgeService: String
    let notificationService: String
    let paymentService: String
    let dataDirectory: String
    let announcements: Announcements
}

final class Announcements: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

func withDevPlatform<Value: Sendable>(
    dataDirectory: String,
    environment: [String: String] = [:],
    tracing: TracingBackend? = nil,
    _ body: @escaping @Sendable (RunningPlatform) async throws -> Value
) async throws -> Value {
    let gatewayPort = try FreePort.next()
    let userPort = try FreePort.next()
    let campaignPort = try FreePort.next()
    let pledgePort = try FreePort.next()
    let paymentPort = try FreePort.next()
    let notificationPort = try FreePort.next()
    let platform = try PlatformConfig.load(
        arguments: [
            "--gateway-port", "\(gatewayPort)", "--user-service-port", "\(userPort)", "--campaign-service-port", "\(campaignPort)",
            "--pledge-service-port", "\(pledgePort)", "--payment-service-port", "\(paymentPort)",
            "--notification-service-port", "\(notificationPort)",
            "--log-level", TestLogging.level,
        ],
        environment: environment.merging(["CAREFORALL_DATA_DIR": dataDirectory]) { _, new in new }
    )
    let announcements = Announcements()
    let services = try await DevPlatform.makeServices(platform: platform, bcryptCost: 4, tracing: tracing) { announcements.append($0) }
    let group = ServiceGroup(configuration: .init(services: services, logger: TestLogging.logger))
    let running = RunningPlatform(
        gateway: "http://127.0.0.1:\(gatewayPort)", userService: "http://127.0.0.1:\(userPort)",
        campaignService: "http://127.0.0.1:\(campaignPort)", pledgeService: "http://127.0.0.1:\(pledgePort)",
        notificationService: "http://127.0.0.1:\(notificationPort)",
        paymentService: "http://127.0.0.1:\(paymentPort)", dataDirectory: dataDirectory, announcements: announcements
    )
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        defer { tasks.cancelAll() }
        let ready = try await eventually(timeout: .seconds(30)) {
            let gateway = try await HTTPClient.testing.get(running.gateway + "/health/ready")
            let user = try await HTTPClient.testing.get(running.userService + "/health/ready")
            let campaign = try await HTTPClient.testing.get(running.campaignService + "/health/ready")
            let pledge = try await HTTPClient.testing.get(running.pledgeService + "/health/ready")
            let payment = try await HTTPClient.testing.get(running.paymentService + "/health/ready")
            let notification = try await HTTPClient.testing.get(running.notificationService + "/health/ready")
            return gateway.status == 200 && user.status == 200 && campaign.status == 200 && pledge.status == 200 && payment.status == 200
                && notification.status == 200
        }
        #expect(ready, "the platform did not become ready")
        let value = try await body(running)
        await group.triggerGracefulShutdown()
        try await tasks.next()
        return value
    }
}

struct HTTPAnswer: Sendable {
    let status: Int
    let body: Data
    let headers: [String: String]

    func json() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
    }
}

extension HTTPClient {
    func get(_ url: String, bearer: String? = nil) async throws -> HTTPAnswer {
        try await send("GET", url, bearer: bearer)
    }

    func send(
        _ method: String, _ url: String, json: [String: any Sendable]? = nil, bearer: String? = nil, signWith secret: String? = nil,
        headers extra: [String: String] = [:]
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let json {
            let body = try JSONSerialization.data(withJSONObject: json)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
            if let secret { request.headers.add(name: "X-CareForAll-Signature", value: SignatureScheme(secret: secret).sign(method: method, path: URLComponents(string: url)?.path ?? "", body: body)) }
        }
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        let response = try await execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for (name, value) in response.headers { headers[name.lowercased()] = value }
        return HTTPAnswer(status: Int(response.status.code), body: Data(buffer: body), headers: headers)
    }
}

@Suite("End to end: the one-command dev platform", .serialized)
struct DevPlatformTests {
    @Test("register, log in and read the profile through the gateway; the admin credentials are announced")
    func registerAndLogin() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }

        let token = try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let registered = try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/users/register",
                json: ["email": "e2e@example.org", "password": "end-to-end", "name": "E2E Donor"]
            )
            #expect(registered.status == 201)
            #expect(registered.headers["x-request-id"] != nil)
            #expect(try registered.json()["access_token"] is String)

            let login = try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/users/login", json: ["email": "E2E@example.org", "password": "end-to-end"]
            )
            #expect(login.status == 200)
            let token = try #require(try login.json()["access_token"] as? String)

            let me = try await HTTPClient.testing.get(platform.gateway + "/api/users/me", bearer: token)
            #expect(me.status == 200)
            #expect(try me.json()["email"] as? String == "e2e@example.org")

            // Another service verifies the token from user-service's published JWKS, over HTTP.
            let verifier = TokenVerifier(
                source: HTTPJWKSSource(url: platform.userService + "/users/.well-known/jwks.json"), logger: TestLogging.logger
            )
            #expect(try await verifier.verify(token).email == "e2e@example.org")

            // The generated admin password printed at start works.
            let adminLine = try #require(platform.announcements.all.first { $0.hasPrefix("Admin account created:") })
            let credentials = adminLine.dropFirst("Admin account created: ".count).split(separator: " ")
            #expect(credentials[0] == "admin@careforall.local")
            let adminLogin = try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/users/login", json: ["email": String(credentials[0]), "password": String(credentials[2])]
            )
            #expect(adminLogin.status == 200)
            #expect((try adminLogin.json()["user"] as? [String: Any])?["role"] as? String == "admin")
            #expect(platform.announcements.all.contains { $0.contains("running at http://localhost:") })

            // Internal and unknown routes are not reachable through the gateway.
            #expect(try await HTTPClient.testing.send("POST", platform.gateway + "/api/campaigns/events", json: [:]).status == 404)
            return token
        }

        // A restart keeps the data and the signing key: the old token still works, the admin is not re-created.
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let me = try await HTTPClient.testing.get(platform.gateway + "/api/users/me", bearer: token)
            #expect(me.status == 200)
            #expect(platform.announcements.all.contains { $0.hasPrefix("Admin account: admin@careforall.local") })
            #expect(!platform.announcements.all.contains { $0.hasPrefix("Admin account created") })
        }
        let keyFile = (dataDirectory as NSString).appendingPathComponent("jwt-private-key.pem")
        let permissions = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
    }

    @Test("an admin opens a campaign through the gateway; signed events move its public totals")
    func campaignThroughGateway() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let adminToken = try await platform.adminToken()

            let created = try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/campaigns", json: ["title": "School meals", "goal_amount": 50_000, "currency": "EUR"], bearer: adminToken
            )
            #expect(created.status == 201)
            let campaignId = try #require(try created.json()["id"] as? String)

            // The internal ingestion route is refused at the gateway, but answers signed calls on the service itself.
            let pledgeId = UUID().uuidString.lowercased()
            let event: [String: any Sendable] = [
                "event_id": UUID().uuidString.lowercased(), "type": "PAYMENT_CAPTURED", "source": "e2e",
                "occurred_at": "2026-11-25T12:00:00Z",
                "data": ["payment_id": "pay_1", "pledge_id": pledgeId, "campaign_id": campaignId, "amount": 1500, "currency": "EUR"] as [String: any Sendable],
            ]
            let secret = try String(contentsOfFile: (platform.dataDirectory as NSString).appendingPathComponent("internal-signing-secret"), encoding: .utf8)
            #expect(try await HTTPClient.testing.send("POST", platform.gateway + "/api/campaigns/events", json: event, signWith: secret).status == 404)
            let ingested = try await HTTPClient.testing.send("POST", platform.campaignService + "/campaigns/events", json: event, signWith: secret)
            #expect(ingested.status == 200)
            let unsigned = try await HTTPClient.testing.send("POST", platform.campaignService + "/campaigns/events", json: event)
            #expect(unsigned.status == 401)

            let campaign = try await HTTPClient.testing.get(platform.gateway + "/api/campaigns/\(campaignId)").json()
            #expect(campaign["captured_amount"] as? Int == 1500)
            #expect(campaign["current_amount"] as? Int == 1500)
            #expect(campaign["total_payments"] as? Int == 1)
            let donations = try await HTTPClient.testing.get(platform.gateway + "/api/campaigns/\(campaignId)/donations").json()
            #expect((donations["items"] as? [Any])?.count == 1)
            let list = try await HTTPClient.testing.get(platform.gateway + "/api/campaigns").json()
            #expect((list["items"] as? [[String: Any]])?.contains { $0["id"] as? String == campaignId } == true)
        }
    }

    @Test("every service serves its OpenAPI 3.1 document; the gateway serves each one's public part under /api/openapi and lists them")
    func apiDocuments() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            for (service, segment) in [(platform.userService, "users"), (platform.campaignService, "campaigns"), (platform.pledgeService, "pledges"),
                                       (platform.paymentService, "payments"), (platform.notificationService, "notifications")] {
                let served = try await HTTPClient.testing.get(service + "/openapi.json")
                let through = try await HTTPClient.testing.get(platform.gateway + "/api/openapi/\(segment).json")
                #expect(served.status == 200 && through.status == 200, "\(segment)")
                let document = try served.json()
                #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
                let paths = document["paths"] as? [String: Any] ?? [:]
                #expect(paths.keys.contains { $0.hasPrefix("/\(segment)") } && paths["/health/live"] != nil, "\(segment)")
                // Through the gateway: the public part, nothing signed between services, no operations routes.
                let publicPaths = try through.json()["paths"] as? [String: Any] ?? [:]
                #expect(Set(publicPaths.keys).isSubset(of: Set(paths.keys)) && publicPaths.keys.contains { $0.hasPrefix("/\(segment)") }, "\(segment)")
                #expect(!publicPaths.keys.contains { $0.contains("/internal/") || $0.hasPrefix("/health") || $0 == "/metrics" }, "\(segment)")
                #expect(!String(decoding: through.body, as: UTF8.self).contains("X-CareForAll-Signature"), "\(segment)")
            }
            let page = try await HTTPClient.testing.get(platform.gateway + "/api/openapi")
            #expect(page.status == 200 && String(decoding: page.body, as: UTF8.self).contains("/api/openapi/payments.json"))
            #expect(try await HTTPClient.testing.get(platform.gateway + "/api/openapi/secrets.json").status == 404)
        }
    }

    @Test("a guest's pledge and its payment webhooks move the campaign's public totals, through the outbox")
    func donationFlow() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let adminToken = try await platform.adminToken()
            let campaignId = try #require(try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/campaigns", json: ["title": "Wells", "goal_amount": 100_000, "currency": "USD"], bearer: adminToken
            ).json()["id"] as? String)

            let body: [String: any Sendable] = [
                "campaign_id": campaignId, "amount": 4200, "currency": "USD", "anonymous": false, "message": "Go!",
                "donor": ["name": "Guest Gita", "email": "gita@example.org"] as [String: any Sendable],
            ]
            let created = try await HTTPClient.testing.send("POST", platform.gateway + "/api/pledges", json: body, headers: ["Idempotency-Key": "e2e-1-0123456789abcdef"])
            #expect(created.status == 201)
            let replayed = try await HTTPClient.testing.send("POST", platform.gateway + "/api/pledges", json: body, headers: ["Idempotency-Key": "e2e-1-0123456789abcdef"])
            #expect(replayed.status == 201 && replayed.headers["idempotent-replayed"] == "true")
            let pledgeId = try #require(try created.json()["id"] as? String)
            let receipt = try #require(try created.json()["receipt_token"] as? String)

            @Sendable func campaign() async throws -> [String: Any] { try await HTTPClient.testing.get(platform.gateway + "/api/campaigns/\(campaignId)").json() }
            let pending = try await eventually(timeout: .seconds(20)) { try await campaign()["pending_amount"] as? Int == 4200 }
            #expect(pending, "the relay delivered PLEDGE_CREATED")
            #expect(try await campaign()["total_pledges"] as? Int == 1)

            // payment-service's webhook (signed; refused at the gateway).
            let secret = try String(contentsOfFile: (platform.dataDirectory as NSString).appendingPathComponent("internal-signing-secret"), encoding: .utf8)
            let webhook: [String: any Sendable] = [
                "event_id": UUID().uuidString, "pledge_id": pledgeId, "payment_id": "pay_e2e", "status": "CAPTURED", "occurred_at": "2026-11-25T12:00:00Z",
            ]
            #expect(try await HTTPClient.testing.send("POST", platform.gateway + "/api/pledges/webhooks/payment", json: webhook, signWith: secret).status == 404)
            let applied = try await HTTPClient.testing.send("POST", platform.pledgeService + "/pledges/webhooks/payment", json: webhook, signWith: secret)
            #expect(try applied.json()["result"] as? String == "applied")
            let captured = try await eventually(timeout: .seconds(20)) { try await campaign()["captured_amount"] as? Int == 4200 }
            #expect(captured, "the relay delivered PLEDGE_STATUS_CHANGED")
            let totals = try await campaign()
            #expect(totals["pending_amount"] as? Int == 0 && totals["current_amount"] as? Int == 4200 && totals["total_payments"] as? Int == 1)

            let mine = try await HTTPClient.testing.get(platform.gateway + "/api/pledges/\(pledgeId)?receipt_token=\(receipt)")
            #expect(try mine.json()["status"] as? String == "CAPTURED")
            let history = try await HTTPClient.testing.get(platform.gateway + "/api/campaigns/\(campaignId)/donations").json()
            let items = history["items"] as? [[String: Any]] ?? []
            // One row for the donation, though two events told the campaign about it.
            #expect(items.count == 1)
            #expect(items.first?["donor_name"] as? String == "Guest Gita" && items.first?["status"] as? String == "CAPTURED")
            #expect(items.first?["pledge_id"] as? String == pledgeId && items.first?["amount"] as? Int == 4200)
        }
    }
}

/// A live stream opened over a plain socket from a chosen loopback address (every 127.x.y.z reaches
/// the loopback interface on Linux), so a test can be many clients at once.
struct RawStream {
    let descriptor: Int32
    let status: Int

    static func open(port: Int, path: String, from source: String) throws -> RawStream {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func address(_ host: String, _ port: Int) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            return address
        }
        var local = address(source, 0)
        var remote = address("127.0.0.1", port)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, connected == 0 else {
            _ = Glibc.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        let head = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return RawStream(descriptor: fd, status: status)
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}

@Suite("End to end: what an attacker found in the running dev platform, closed", .serialized)
struct DevPlatformHardeningTests {
    @Test("the data folder and its SQLite files are private to the user who runs the platform")
    func privateDataFolder() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        // A folder made loose by an earlier version is tightened at start.
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try await withDevPlatform(dataDirectory: dataDirectory) { _ in }
        let mode = { (path: String) in (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1 }
        #expect(try mode(dataDirectory) == 0o700)
        let files = try FileManager.default.contentsOfDirectory(atPath: dataDirectory)
        #expect(files.contains("pledge.sqlite"))
        for file in files {
            let permissions = try mode((dataDirectory as NSString).appendingPathComponent(file))
            #expect(permissions & 0o077 == 0, "\(file) is \(String(permissions, radix: 8))")
        }
    }

    @Test("a crowd of live streams through the gateway holds up neither reads nor pledge creation (whose campaign lookup shares the process)")
    func streamsDoNotStarve() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let adminToken = try await platform.adminToken()
            let created = try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/campaigns", json: ["title": "Crowded", "goal_amount": 10_000, "currency": "USD"], bearer: adminToken
            )
            let campaignId = try #require(try created.json()["id"] as? String)
            let port = try #require(URLComponents(string: platform.gateway)?.port)
            // 16 viewers, from 16 addresses: twice the connections a default client pool keeps per service.
            var streams: [RawStream] = []
            defer { streams.forEach { $0.close() } }
            for viewer in 1...16 {
                streams.append(try RawStream.open(port: port, path: "/api/campaigns/\(campaignId)/stream", from: "127.0.77.\(viewer)"))
            }
            #expect(streams.allSatisfy { $0.status == 200 }, "\(streams.map(\.status))")
            // One viewer past its share (6) is refused, not queued.
            var mine: [RawStream] = []
            defer { mine.forEach { $0.close() } }
            for _ in 0..<7 { mine.append(try RawStream.open(port: port, path: "/api/campaigns/\(campaignId)/stream", from: "127.0.78.1")) }
            #expect(mine.map(\.status) == Array(repeating: 200, count: 6) + [429])

            let started = ContinuousClock.now
            let read = try await HTTPClient.testing.get(platform.gateway + "/api/campaigns/\(campaignId)")
            #expect(read.status == 200)
            let pledge = try await HTTPClient.testing.send(
                "POST", platform.gateway + "/api/pledges",
                json: ["campaign_id": campaignId, "amount": 500, "currency": "USD", "anonymous": true,
                       "donor": ["name": "Guest", "email": "guest@example.org"] as [String: any Sendable]],
                headers: ["Idempotency-Key": UUID().uuidString]
            )
            #expect(pledge.status == 201)
            #expect(ContinuousClock.now - started < .seconds(5), "a read and a pledge waited behind the streams")
        }
    }
}
