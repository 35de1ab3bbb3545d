import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Outbox
import Persistence

/// Admins: the mail queue and what was sent (`GET /notifications?kind=&status=`), one mail with
/// its text and HTML, and sending a FAILED or waiting mail again now.
public struct NotificationAdminController: Sendable {
    let store: any NotificationStore
    let signal: QueueSignal
    let clock: any StoreClock

    public init(store: any NotificationStore, signal: QueueSignal, clock: any StoreClock) {
        self.store = store
        self.signal = signal
        self.clock = clock
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        let admin = group.group().add(middleware: RequireRoleMiddleware(.admin))
        admin.get(use: list)
        admin.get(":id", use: show)
        admin.post(":id/retry", use: retry)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<MailResponse> {
        let page = try PageRequest(request: request)
        let kind = try Self.filter("kind", request, MailKind.init(rawValue:))
        let status = try Self.filter("status", request) { MailStatus(rawValue: $0.uppercased()) }
        let rows = try await store.list(kind: kind, status: status, limit: page.limit, after: page.cursor)
        return Page(rows: rows, limit: page.limit, item: { MailResponse($0) }) { PageCursor(sortKey: $0.createdAt, id: $0.id) }
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> MailResponse {
        guard let mail = try await store.find(id: try context.parameters.require("id")) else { throw Self.notFound }
        return MailResponse(mail, body: true)
    }

    @Sendable func retry(_ request: Request, context: AppRequestContext) async throws -> MailResponse {
        let id = try context.parameters.require("id")
        guard let mail = try await store.requeue(id: id, at: clock.timestamp()) else {
            if try await store.find(id: id) != nil {
                throw APIError(.conflict, code: "mail_already_sent", message: "This mail was sent; it is not sent again.")
            }
            throw Self.notFound
        }
        signal.notify()
        context.logger.info("mail queued again by an admin", metadata: ["mail_id": .string(id)])
        return MailResponse(mail)
    }

    static let notFound = APIError(.notFound, code: "not_found", message: "No such mail.")

    /// `?name=` read with `make`; 400 when it names nothing known.
    static func filter<Value>(_ name: String, _ request: Request, _ make: (String) -> Value?) throws -> Value? {
        guard let raw = request.uri.queryParameters[Substring(name)].map(String.init), !raw.isEmpty else { return nil }
        guard let value = make(raw) else { throw APIError.invalidParameter(name, "is not one of the known values") }
        return value
    }
}
