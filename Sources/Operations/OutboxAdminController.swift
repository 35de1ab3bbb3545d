import Contracts
import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Outbox
import Persistence

extension OutboxRow: ResponseEncodable {}

/// `GET /<segment>/admin/outbox?state=pending|dead|all&pledge_id=&limit=&cursor=`, `GET .../{id}`,
/// `POST .../{id}/retry`, `POST .../{id}/park {reason}`: admins only, on every service that publishes.
public struct OutboxAdminController: Sendable {
    let rows: OutboxRows

    public init(rows: OutboxRows) {
        self.rows = rows
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        let admin = group.group("admin/outbox").add(middleware: RequireRoleMiddleware(.admin))
        admin.get(use: list)
        admin.get(":id", use: show)
        admin.post(":id/retry", use: retry)
        admin.post(":id/park", use: park)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<OutboxRow> {
        let page = try PageRequest(request: request)
        let raw = request.uri.queryParameters["state"].map(String.init) ?? "pending"
        guard let state = OutboxRows.State(rawValue: raw) else { throw APIError.invalidParameter("state", "must be pending, dead or all") }
        let pledgeId = request.uri.queryParameters["pledge_id"].map(String.init).flatMap { $0.isEmpty ? nil : PledgeID($0) }
        // A pledge id is a UUID; anything else (a NUL byte, which PostgreSQL's text refuses) names no row.
        if let pledgeId, !pledgeId.isUUID { throw APIError.invalidParameter("pledge_id", "must be a pledge id (a UUID)") }
        let found = try await rows.list(state, pledgeId: pledgeId, limit: page.limit, after: page.cursor)
        return Page(rows: found, limit: page.limit, item: { $0 }) { PageCursor(sortKey: state == .dead ? ($0.deadAt ?? "") : $0.createdAt, id: $0.id) }
    }

    /// One row, delivered or not: how an operator sees a retried row arrive.
    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> OutboxRow {
        guard let row = try await rows.find(id: try context.parameters.require("id")) else { throw Self.answer(.notFound) }
        return row
    }

    @Sendable func retry(_ request: Request, context: AppRequestContext) async throws -> OutboxRow {
        let id = try context.parameters.require("id")
        do {
            let row = try await rows.retry(id: id)
            context.logger.notice("outbox row sent again by an admin", metadata: ["outbox_id": .string(id), "destination": .string(row.destination)])
            return row
        } catch {
            throw Self.answer(error)
        }
    }

    struct ParkBody: Decodable {
        let reason: String?
    }

    @Sendable func park(_ request: Request, context: AppRequestContext) async throws -> OutboxRow {
        let id = try context.parameters.require("id")
        let body = try await request.decode(as: ParkBody.self, context: context)
        guard let reason = body.reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty, TextLimit(characters: 300).allows(reason)
        else { throw APIError(.badRequest, code: "invalid_reason", message: "reason is required: 1 to 300 characters.") }
        do {
            let row = try await rows.park(id: id, reason: reason)
            context.logger.notice("outbox row parked by an admin", metadata: ["outbox_id": .string(id), "reason": .string(reason)])
            return row
        } catch {
            throw Self.answer(error)
        }
    }

    static func answer(_ refusal: OutboxRows.Refusal) -> APIError {
        switch refusal {
        case .notFound: APIError(.notFound, code: "not_found", message: "No such outbox row.")
        case .delivered: APIError(.conflict, code: "already_delivered", message: "This row was delivered; there is nothing to send.")
        case .inFlight: APIError(.conflict, code: "in_flight", message: "A relay is sending this row right now; try again in a moment.")
        case .dead: APIError(.conflict, code: "already_dead", message: "This row is dead already (refused or parked); retry it to send it again.")
        }
    }
}
