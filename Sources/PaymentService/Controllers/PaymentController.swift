import Auth
import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import Logging
import Observability
import Persistence
import ServiceClient
import CoreMetrics

/// A test hook: runs right after the provider answered a create, before the answer is recorded.
/// The crash test throws from it to stop the request there, as a process killed at that point would.
public typealias AfterProviderCall = @Sendable (ProviderIntent) async throws -> Void

/// `/payments`: pay a pledge (owner, admin, or the guest's receipt token), read one (with its
/// refunds), list the caller's.
/// A pledge is paid only while its campaign is active, and a pledge whose payment methods the
/// provider refused `maximumRefusedAttempts` times takes no more (card testing).
public struct PaymentController: Sendable {
    let store: any PaymentStore
    let provider: any PaymentProvider
    let reconciler: PaymentReconciler
    let pledges: any PledgeDirectory
    let campaigns: any CampaignDirectory
    let clock: any StoreClock
    let metrics: ServiceMetrics
    let afterProviderCall: AfterProviderCall?

    /// The sandbox's default card, so a bare `{pledge_id}` pays in local runs. Stripe needs one given.
    static let sandboxDefaultMethod = "pm_card_visa"
    /// Refused payment methods a pledge may see before it takes no more.
    static let maximumRefusedAttempts = 3

    public init(
        store: any PaymentStore, provider: any PaymentProvider, reconciler: PaymentReconciler, pledges: any PledgeDirectory,
        campaigns: any CampaignDirectory, clock: any StoreClock, metrics: ServiceMetrics, afterProviderCall: AfterProviderCall? = nil
    ) {
        self.store = store
        self.provider = provider
        self.reconciler = reconciler
        self.pledges = pledges
        self.campaigns = campaigns
        self.clock = clock
        self.metrics = metrics
        self.afterProviderCall = afterProviderCall
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(":id", use: show)
        group.get(use: list)
    }

    // MARK: Pay

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<PaymentResponse> {
        let input = try await request.decode(as: PaymentInput.self, context: context)
        let pledgeId = input.pledgeId
        let paymentMethod: String
        if let method = input.paymentMethod {
            paymentMethod = method
        } else {
            guard provider.name == "sandbox" else { throw PaymentServiceError.invalidPaymentMethod }
            paymentMethod = Self.sandboxDefaultMethod
        }
        let receiptToken = request.uri.queryParameters["receipt_token"].map(String.init) ?? input.receiptToken

        // The amount, currency, campaign and owner come from pledge-service, never from the client.
        let pledge: PledgeLookupResponse?
        do {
            pledge = try await pledges.pledge(id: pledgeId, receiptToken: receiptToken)
        } catch {
            context.logger.warning("pledge lookup failed", metadata: ["pledge_id": .string(pledgeId.rawValue), "error": "\(error)"])
            throw PaymentServiceError.pledgeServiceUnavailable
        }
        guard let pledge, Self.mayPay(pledge, principal: context.principal) else { throw PaymentServiceError.pledgeNotFound }

        let start = try await store.start(pledgeId: pledge.id)
        if let existing = start.payment {
            return try await answerExisting(existing)
        }
        guard !pledge.status.isSettled else { throw PaymentServiceError.pledgeNotPayable(status: pledge.status.rawValue) }
        guard start.refusedAttempts < Self.maximumRefusedAttempts else {
            throw PaymentServiceError.paymentAttemptsExhausted
        }
        try await requireOpenCampaign(pledge.campaignId, currency: pledge.currency, logger: context.logger)

        let now = clock.timestamp()
        let chargeKey = ChargeKey.make(userId: pledge.userId, pledgeId: pledge.id, campaignId: pledge.campaignId, amount: pledge.amount, currency: pledge.currency)
        let new = Payment(
            id: .new(), pledgeId: pledge.id, campaignId: pledge.campaignId, userId: pledge.userId,
            receiptTokenHash: pledge.userId == nil ? receiptToken.map(ReceiptToken.hash) : nil, amount: Money(pledge.amount, pledge.currency),
            status: .pending, provider: provider.name, providerPaymentId: nil, paymentMethod: paymentMethod, chargeKey: chargeKey,
            clientSecret: nil, failureReason: nil, createdAt: now, updatedAt: now, refundedAmount: .zero(pledge.currency), traceParent: context.traceParent
        )
        // The row first: of any number of concurrent requests, one creates it and calls the provider.
        let (payment, created) = try await store.insertIfAbsent(new)
        guard created else { return try await answerExisting(payment) }
        metrics.counter(.paymentsCreatedTotal, [("provider", provider.name)]).increment()
        var logger = context.logger
        logger[metadataKey: "payment_id"] = .string(payment.id.rawValue)
        logger[metadataKey: "pledge_id"] = .string(payment.pledgeId.rawValue)

        let intent: ProviderIntent
        do {
            intent = try await provider.createIntent(
                amount: payment.amount.minorUnits, currency: payment.currency, paymentMethod: paymentMethod,
                metadata: ["pledge_id": payment.pledgeId.rawValue, "charge_key": chargeKey], idempotencyKey: chargeKey
            )
        } catch ProviderError.noSuchPaymentMethod(let method) {
            // Nothing was created at the provider: forget the attempt so another method can be
            // tried, a few times.
            try await recordRefusal(payment, logger: logger)
            throw PaymentServiceError.paymentMethodRefused("no such payment method '\(method)'")
        } catch ProviderError.refused(let status, let message) where status != 402 {
            try await recordRefusal(payment, logger: logger)
            throw PaymentServiceError.paymentMethodRefused(message)
        } catch {
            // The outcome is unknown: the payment stays PENDING and the recovery service settles it.
            logger.warning("provider create failed; recovery will settle the payment", metadata: ["error": "\(error)"])
            throw PaymentServiceError.providerUnavailable
        }
        try await afterProviderCall?(intent)
        logger.info("payment created", metadata: ["intent_id": .string(intent.id), "intent_status": .string(intent.status.rawValue)])
        var (result, settled) = try await reconciler.settle(payment, with: intent, traceParent: context.traceParent)
        if result != .applied && settled.status == .authorized {
            // A provider webhook got here first and is capturing it: answer what that comes to.
            settled = try await awaitProgress(settled)
        }
        return PaymentResponse(settled).with(status: .created)
    }

    func recordRefusal(_ payment: Payment, logger: Logger) async throws {
        let refused = try await store.discardRefused(paymentId: payment.id, pledgeId: payment.pledgeId, at: clock.timestamp())
        metrics.counter(.paymentMethodsRefusedTotal, [("provider", provider.name)]).increment()
        logger.warning("payment method refused", metadata: ["refused_so_far": .stringConvertible(refused)])
    }

    /// 409 `campaign_not_open` unless the campaign is active now (asked afresh, never from a
    /// cache) and still counts the pledge's currency.
    func requireOpenCampaign(_ campaignId: CampaignID, currency: Currency, logger: Logger) async throws {
        let campaign: CampaignSummary?
        do {
            campaign = try await campaigns.campaign(id: campaignId)
        } catch {
            logger.warning("campaign lookup failed", metadata: ["campaign_id": .string(campaignId.rawValue), "error": "\(error)"])
            throw PaymentServiceError.campaignServiceUnavailable
        }
        guard let campaign, campaign.status == "active", campaign.currency == currency.rawValue else {
            throw PaymentServiceError.campaignNotOpen
        }
    }

    /// A payment the pledge already has: the same payment again, with 200. A concurrent request
    /// that is still talking to the provider gets a moment to record the intent.
    func answerExisting(_ payment: Payment) async throws -> EditedResponse<PaymentResponse> {
        PaymentResponse(try await awaitProgress(payment)).with(status: .ok)
    }

    /// The payment once another call working on it is done: one still talking to the provider
    /// (PENDING without an intent), or one capturing (AUTHORIZED). At most 3 s; then as it is.
    func awaitProgress(_ payment: Payment) async throws -> Payment {
        var current = payment
        for _ in 0..<60 where (current.status == .pending && current.providerPaymentId == nil) || current.status == .authorized {
            try await Task.sleep(for: .milliseconds(50))
            current = try await store.find(id: payment.id) ?? current
        }
        return current
    }

    static func mayPay(_ pledge: PledgeLookupResponse, principal: Principal?) -> Bool {
        if let principal, principal.isAdmin || principal.userID == pledge.userId { return true }
        return pledge.receiptTokenValid
    }

    // MARK: Read

    /// The owner, an admin, or the guest with the pledge's receipt token; anyone else gets 404.
    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> PaymentResponse {
        let id = try context.parameters.require("id")
        guard let payment = try await store.find(id: PaymentID(id)) else { throw PaymentServiceError.paymentNotFound }
        let isOwner = context.principal.map { $0.isAdmin || ($0.userID == payment.userId && payment.userId != nil) } ?? false
        let token = request.uri.queryParameters["receipt_token"].map(String.init)
        let holdsReceipt = token.map { ReceiptToken.matches($0, hash: payment.receiptTokenHash) } ?? false
        guard isOwner || holdsReceipt else { throw PaymentServiceError.paymentNotFound }
        return PaymentResponse(payment, refunds: try await store.refunds(paymentId: payment.id), forAdmin: context.principal?.isAdmin == true)
    }

    /// The caller's payments, newest first; admins see everyone's. Both may narrow by `pledge_id`.
    /// A guest lists the payment of one pledge with `?pledge_id=&receipt_token=`.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<PaymentResponse> {
        let page = try PageRequest(request: request)
        let pledgeId = request.uri.queryParameters["pledge_id"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        var rows: [Payment]
        if let principal = context.principal {
            rows = try await store.list(userId: principal.isAdmin ? nil : principal.userID, pledgeId: pledgeId.map { PledgeID($0) }, limit: page.limit, after: page.cursor)
        } else {
            guard let pledgeId, let token = request.uri.queryParameters["receipt_token"].map(String.init) else { throw APIError.unauthorized }
            rows = try await store.list(userId: nil, pledgeId: PledgeID(pledgeId), limit: page.limit, after: page.cursor)
            rows = rows.filter { $0.userId == nil && ReceiptToken.matches(token, hash: $0.receiptTokenHash) }
        }
        return Page(rows: rows, limit: page.limit, item: { PaymentResponse($0) }) { PageCursor(sortKey: $0.createdAt, id: $0.id.rawValue) }
    }
}
