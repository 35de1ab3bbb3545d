import Auth
import Crypto
import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import Idempotency
import Logging
import NIOCore
import Observability
import Persistence
import ServiceClient
import CoreMetrics
import NIOFoundationEssentialsCompat

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

/// `/pledges`: create (idempotent, signed in or as a guest), read one, list the caller's.
public struct PledgeController: Sendable {
    let store: any PledgeStore
    let idempotency: IdempotencyStore
    let campaigns: any CampaignDirectory
    let metrics: ServiceMetrics
    let clock: any StoreClock
    let maximumMajorUnits: Int64
    /// Guests' receipt tokens, made from the pledge id.
    let receiptTokens: ReceiptTokens

    /// 22 characters of a base-64 alphabet are 132 bits; a UUID (36) is well over.
    static let minimumGuestKeyLength = 22

    public init(
        store: any PledgeStore, idempotency: IdempotencyStore, campaigns: any CampaignDirectory, metrics: ServiceMetrics, clock: any StoreClock,
        maximumMajorUnits: Int64, receiptTokens: ReceiptTokens
    ) {
        self.store = store
        self.idempotency = idempotency
        self.campaigns = campaigns
        self.metrics = metrics
        self.clock = clock
        self.maximumMajorUnits = maximumMajorUnits
        self.receiptTokens = receiptTokens
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(":id", use: show)
        group.get(":id/receipt", use: receipt)
        group.group().add(middleware: RequireRoleMiddleware()).get(use: list)
    }

    // MARK: Create

    /// One transaction for the whole request: the key with its answer, the pledge, its transition
    /// and its event commit together (`PledgeStore.create`). A request the campaign refuses may
    /// still be the retry of one that succeeded: the key is asked before it is refused.
    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let key = try IdempotencyError.key(from: request.headers[.idempotencyKey])
        let body = try await request.collectBody(context: context)
        let input = try JSONRequestDecoder.decode(PledgeInput.self, from: Data(buffer: body)).limited(toMajorUnits: maximumMajorUnits)
        let principal = context.principal
        guard principal != nil || input.donor != nil else { throw PledgeServiceError.donorRequired }
        // A guest's key scopes only by the email they typed: it must be unguessable, or anyone who
        // guessed a key and an address would be handed that guest's stored answer and receipt token.
        if principal == nil && key.count < Self.minimumGuestKeyLength {
            throw IdempotencyError.tooShort(minimum: Self.minimumGuestKeyLength)
        }
        // Keys belong to the caller: a signed-in user, or a guest by the email they gave.
        let scope = principal.map { "user:\($0.userID)" } ?? "guest:\(input.donor!.email)"
        let requestHash = IdempotencyKey.fingerprint(ofJSON: body.readableBytesView)

        let campaign: CampaignSummary
        do {
            campaign = try await openCampaign(input, logger: context.logger)
        } catch {
            if let earlier = try await idempotency.lookup(scope: scope, key: key, requestHash: requestHash) { return try answer(earlier) }
            throw error
        }
        let (new, body201) = try newPledge(
            input, campaign: campaign, principal: principal, scope: scope, key: key, requestHash: requestHash, traceParent: context.traceParent
        )
        let decision = try await store.create(new)
        guard decision == .proceed else { return try answer(decision) }
        context.logger.info("pledge created", metadata: ["pledge_id": .string(new.pledge.id.rawValue), "campaign_id": .string(new.pledge.campaignId.rawValue)])
        return Self.json(status: .created, body: body201, replayed: false)
    }

    /// What an earlier use of the key answers: the stored response, or why not.
    func answer(_ decision: IdempotencyDecision) throws -> Response {
        let stored = try decision.storedAnswer()
        metrics.counter(.idempotentReplaysTotal).increment()
        return Self.json(status: HTTPResponse.Status(code: stored.status), body: stored.body, replayed: true)
    }

    /// The campaign, if it takes this pledge: it exists, it is active, and it counts this currency.
    func openCampaign(_ input: PledgeInput, logger: Logger) async throws -> CampaignSummary {
        let campaign: CampaignSummary?
        do {
            campaign = try await campaigns.pledgeable(id: input.campaignId, currency: input.currency.rawValue)
        } catch {
            logger.warning("campaign lookup failed", metadata: ["campaign_id": .string(input.campaignId.rawValue), "error": "\(error)"])
            throw PledgeServiceError.campaignServiceUnavailable
        }
        guard let campaign, campaign.status == "active" else { throw PledgeServiceError.campaignNotOpen }
        guard campaign.currency == input.currency.rawValue else { throw PledgeServiceError.currencyMismatch }
        return campaign
    }

    /// The pledge, its PLEDGE_CREATED event and the 201 body stored with the key.
    func newPledge(
        _ input: PledgeInput, campaign: CampaignSummary, principal: Principal?, scope: String, key: String, requestHash: String,
        traceParent: String
    ) throws -> (NewPledge, String) {
        let now = clock.timestamp()
        // Guests prove ownership later with an unguessable token (made from the pledge id under a
        // key, so the receipt mail can carry it); only its hash is kept.
        let id = PledgeID.new()
        let receiptToken = principal == nil ? receiptTokens.token(for: id) : nil
        let pledge = Pledge(
            id: id, campaignId: campaign.id, userId: principal?.userID,
            guestEmail: principal == nil ? input.donor?.email : nil, donorName: principal?.name ?? input.donor?.name ?? "",
            amount: input.amount, status: .pending, anonymous: input.anonymous, message: input.message,
            receiptTokenHash: receiptToken.map(ReceiptToken.hash), createdAt: now, updatedAt: now, refundedAmount: .zero(input.currency), accountEmail: principal?.email
        )
        let event = EventEnvelope(
            eventId: UUID().uuidString.lowercased(), type: .pledgeCreated, source: "pledge-service", occurredAt: now,
            traceParent: traceParent,
            data: .pledgeCreated(PledgeCreated(
                pledgeId: pledge.id, campaignId: pledge.campaignId, userId: pledge.userId, amount: pledge.amount.minorUnits,
                currency: pledge.currency, status: .pending, anonymous: pledge.anonymous, donorName: pledge.donorName, message: pledge.message
            ))
        )
        let body = String(decoding: try JSONCoding.encoder.encode(PledgeResponse(pledge, receiptToken: receiptToken)), as: UTF8.self)
        let new = NewPledge(
            pledge: pledge, event: event, idempotencyScope: scope, idempotencyKey: key, requestHash: requestHash, responseStatus: 201,
            responseBody: body
        )
        return (new, body)
    }

    static func json(status: HTTPResponse.Status, body: String, replayed: Bool) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if replayed { headers[.idempotentReplayed] = "true" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    // MARK: Read

    /// The owner, an admin, or whoever holds the receipt token; anyone else gets 404, so ids leak nothing.
    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> PledgeResponse {
        let id = PledgeID(try context.parameters.require("id"))
        guard let (pledge, transitions) = try await store.find(id: id) else { throw PledgeServiceError.pledgeNotFound }
        try Self.requireAccess(to: pledge, request: request, context: context)
        return PledgeResponse.read(pledge, receipt: try await store.receipts(pledgeIds: [pledge.id])[pledge.id], transitions: transitions)
    }

    static func requireAccess(to pledge: Pledge, request: Request, context: AppRequestContext) throws {
        let token = request.uri.queryParameters["receipt_token"].map(String.init)
        let isOwner = context.principal.map { $0.isAdmin || $0.userID == pledge.userId } ?? false
        let holdsReceipt = token.map { ReceiptToken.matches($0, hash: pledge.receiptTokenHash) } ?? false
        guard isOwner || holdsReceipt else { throw PledgeServiceError.pledgeNotFound }
    }

    /// The receipt of a captured pledge, to the same people as the pledge: JSON, or with
    /// `Accept: text/html` a printable page. 404 `no_receipt` before the capture.
    @Sendable func receipt(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = PledgeID(try context.parameters.require("id"))
        guard let pledge = try await store.pledge(id: id) else { throw PledgeServiceError.pledgeNotFound }
        try Self.requireAccess(to: pledge, request: request, context: context)
        let wantsPage = request.headers[.accept].map { $0.contains("text/html") } ?? false
        guard let receipt = try await store.receipts(pledgeIds: [pledge.id])[pledge.id] else {
            if wantsPage { return Self.page(ReceiptPage.notYet(), status: .notFound) }
            throw PledgeServiceError.noReceipt
        }
        // The title is for the reader's benefit only: without campaign-service, the receipt still shows.
        let title = try? await campaigns.campaign(id: pledge.campaignId)?.title
        let ownEmail = context.principal.flatMap { $0.userID == pledge.userId ? $0.email : nil }
        let answer = ReceiptResponse(pledge: pledge, receipt: receipt, campaignTitle: title ?? nil, donorEmail: pledge.guestEmail ?? pledge.accountEmail ?? ownEmail)
        if wantsPage { return Self.page(ReceiptPage.html(answer), status: .ok) }
        return Self.json(status: .ok, body: String(decoding: try JSONCoding.encoder.encode(answer), as: UTF8.self), replayed: false)
    }

    static func page(_ html: String, status: HTTPResponse.Status) -> Response {
        // A receipt names its donor: never kept by a shared cache. The page runs no script and
        // loads nothing; its one stylesheet is inline.
        let headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            HTTPField.Name("Content-Security-Policy")!:
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The caller's pledges; admins see everyone's. Both may narrow by `campaign_id` and `status`.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<PledgeResponse> {
        let principal = try context.requirePrincipal()
        let page = try PageRequest(request: request)
        let campaignId = request.uri.queryParameters["campaign_id"].map { CampaignID(String($0)) }
        var status: PledgeStatus?
        if let raw = request.uri.queryParameters["status"].map(String.init), !raw.isEmpty {
            guard let parsed = PledgeStatus(rawValue: raw.uppercased()) else {
                throw APIError.invalidParameter("status", "must be one of PENDING, AUTHORIZED, CAPTURED, FAILED, REFUNDED")
            }
            status = parsed
        }
        // Admins look a donor's pledges up by email (a guest's, or an account's when they pledged).
        let email = request.uri.queryParameters["email"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if email != nil && !principal.isAdmin { throw APIError.forbidden }
        let rows = try await store.list(
            userId: principal.isAdmin ? nil : principal.userID, campaignId: campaignId, status: status, email: email, limit: page.limit, after: page.cursor
        )
        let receipts = try await store.receipts(pledgeIds: rows.filter { $0.status == .captured }.map(\.id))
        return Page(rows: rows, limit: page.limit, item: { PledgeResponse.read($0, receipt: receipts[$0.id]) }) {
            PageCursor(sortKey: $0.createdAt, id: $0.id.rawValue)
        }
    }
}
