import ServiceKit
import Auth
import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import Persistence
import ServiceClient
import PlatformConfig
import Signatures
import SMTP
import Synchronization
import TestSupport
@testable import NotificationService

let notificationSecret = "notification-test-secret"

/// A mail server stand-in: keeps what it is given, or refuses it as told.
final class RecordingTransport: MailTransport {
    enum Mode: Sendable {
        case accept
        /// The server is away: a temporary failure.
        case down
        /// The server refuses every mail for good (a 5xx).
        case refuse
    }

    private let state = Mutex<(mode: Mode, sent: [MailMessage], attempts: Int)>((.accept, [], 0))

    func set(_ mode: Mode) { state.withLock { $0.mode = mode } }
    var sent: [MailMessage] { state.withLock { $0.sent } }
    var attempts: Int { state.withLock { $0.attempts } }

    func deliver(_ message: MailMessage, name: String) async throws(SMTPError) -> String {
        let mode = state.withLock { state -> Mode in
            state.attempts += 1
            if state.mode == .accept { state.sent.append(message) }
            return state.mode
        }
        switch mode {
        case .accept: return "recorded"
        case .down: throw .connectionFailed("connection refused")
        case .refuse: throw .rejected(command: "RCPT", code: 550, message: "5.1.1 no such user")
        }
    }
}

/// campaign-service as the titles' source: a title per campaign id; any other id cannot be asked.
struct StubTitles: CampaignDirectory {
    let titles: [CampaignID: String]
    struct Unavailable: Error {}

    func campaign(id: CampaignID) async throws -> CampaignSummary? {
        guard let title = titles[id] else { throw Unavailable() }
        return CampaignSummary(id: id, status: "active", currency: "USD", title: title)
    }

    func pledgeable(id: CampaignID, currency: String) async throws -> CampaignSummary? { throw Unavailable() }
}

struct NotificationHarness: Sendable {
    let client: any TestClientProtocol
    let transport: RecordingTransport
    let adminToken: String
    let donorToken: String
    let databaseURL: DatabaseURL
    /// The mail queue's clock: a retry comes due when a test moves it.
    let clock: TestClock

    /// POSTs `events` (as a batch unless there is one) to the internal route, signed unless `secret` is nil.
    func send(_ events: [NotificationEnvelope], secret: String? = notificationSecret) async throws -> TestResponse {
        let body = events.count == 1 ? try WireCoding.encoder.encode(events[0]) : try WireCoding.encoder.encode(["events": events])
        return try await sendRaw(body, secret: secret)
    }

    func sendRaw(_ body: Data, secret: String? = notificationSecret) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let secret {
            headers[.careForAllSignature] = SignatureScheme(secret: secret).sign(path: "/notifications/events", body: body, at: Date())
        }
        return try await client.execute(uri: "/notifications/events", method: .post, headers: headers, body: ByteBuffer(data: body))
    }

    func mails(_ query: String = "", token: String? = nil) async throws -> [MailResponse] {
        let response = try await client.execute(uri: "/notifications" + query, method: .get, headers: .bearer(token ?? adminToken))
        return try response.json(PageBody<MailResponse>.self).items
    }
}

/// `{results: [...]}` of ingestion (its keys are spelled out, so read without key conversion).
struct Results: Decodable {
    let results: [IngestOutcome]
    var kinds: [String] { results.map(\.result.rawValue) }

    init(_ response: TestResponse) throws {
        self = try WireCoding.decoder.decode(Results.self, from: Data(buffer: response.body))
    }
}

func notice(
    _ kind: DonationNotice.Kind = .receipt, pledgeId: String = UUID().uuidString.lowercased(), email: String = "dora@example.org",
    refunded: Int64 = 0, receiptUrl: String? = "http://localhost:8080/#/receipts/p-1/tok", campaignId: String = "campaign-1"
) -> NotificationEnvelope {
    NotificationEnvelope(
        eventId: UUID().uuidString.lowercased(), source: "pledge-service", occurredAt: Timestamp.format(Date()),
        data: .donationNotice(DonationNotice(
            pledgeId: PledgeID(pledgeId), campaignId: CampaignID(campaignId), kind: kind, donorEmail: email, donorName: "Dora <Donor>", amount: 2500,
            refundedAmount: refunded, currency: Currency(rawValue: "USD")!, receiptNumber: kind == .paymentFailed ? nil : "CFA-2026-000042",
            receiptUrl: receiptUrl
        ))
    )
}

func withNotificationService<Value: Sendable>(
    _ database: TestDatabase,
    adminEmails: [String] = ["ops@example.org", "lead@example.org"],
    campaigns: StubTitles = StubTitles(titles: [:]),
    _ test: @escaping @Sendable (NotificationHarness) async throws -> Value
) async throws -> Value {
    let issuer = try await TokenIssuer(privateKeyPEM: TestKeys.signingKeyPEM, timeToLive: 900)
    let adminToken = try await issuer.issue(for: Principal(userID: "admin-1", email: "admin@example.org", name: "Admin", role: .admin))
    let donorToken = try await issuer.issue(for: Principal(userID: "donor-1", email: "donor@example.org", name: "Donor", role: .donor))
    return try await database.withFreshDatabase { url in
        var dispatcher = MailDispatcherConfig()
        dispatcher.pollInterval = .milliseconds(100)
        let clock = TestClock()
        let config = NotificationServiceConfig(
            port: try FreePort.next(), database: url, secrets: InternalSecrets(shared: notificationSecret), jwksURL: "http://127.0.0.1:9/unused",
            mailDirectory: "/nonexistent", from: MailAddress("receipts@careforall.example", name: "CareForAll")!,
            adminEmails: adminEmails.compactMap { MailAddress($0) }, publicBaseURL: "https://give.example", dispatcher: dispatcher,
            logLevel: TestLogging.level
        )
        let transport = RecordingTransport()
        let app = try await NotificationServiceApp.buildApplication(
            config: config, transport: transport, campaigns: campaigns,
            overrides: ServiceOverrides(jwks: StaticJWKSSource(issuer.jwks), tokenVersions: StaticTokenVersions(), clock: clock)
        )
        return try await app.test(.live) { client in
            try await test(NotificationHarness(
                client: client, transport: transport, adminToken: adminToken, donorToken: donorToken, databaseURL: url, clock: clock
            ))
        }
    }
}
