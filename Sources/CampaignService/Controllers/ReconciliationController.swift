import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Observability
import Persistence
import ServiceLifecycle

/// `POST /campaigns/admin/reconcile?repair=` runs a reconciliation now and answers the run;
/// `GET /campaigns/admin/reconciliations` lists the kept runs, newest first. Admins only.
public struct ReconciliationController: Sendable {
    let reconciler: Reconciler

    public init(reconciler: Reconciler) {
        self.reconciler = reconciler
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        let admin = group.group("admin").add(middleware: RequireRoleMiddleware(.admin))
        admin.post("reconcile", use: reconcile)
        admin.get("reconciliations", use: list)
    }

    @Sendable func reconcile(_ request: Request, context: AppRequestContext) async throws -> ReconciliationRun {
        let repair: Bool
        switch request.uri.queryParameters["repair"].map(String.init) {
        case nil, "false", "0": repair = false
        case "true", "1": repair = true
        default: throw APIError.invalidParameter("repair", "must be true or false")
        }
        let run = try await reconciler.run(repair: repair)
        context.logger.notice("reconciliation run by an admin", metadata: [
            "run_id": .string(run.runId), "drift": .stringConvertible(run.drift.count), "repaired": .stringConvertible(repair),
        ])
        return run
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<ReconciliationRun> {
        let page = try PageRequest(request: request)
        let runs = try await reconciler.runs(limit: page.limit, after: page.cursor)
        return Page(rows: runs, limit: page.limit, item: { $0 }) { PageCursor(sortKey: $0.startedAt, id: $0.runId) }
    }
}

extension ReconciliationRun: ResponseEncodable {}

/// Reconciles every `interval` (reporting; an admin repairs), from the first interval after start.
public struct ReconciliationService: Service {
    let reconciler: Reconciler
    let interval: Duration
    let logger: Logger

    public init(reconciler: Reconciler, interval: Duration, logger: Logger) {
        self.reconciler = reconciler
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        guard interval > .zero else { return }
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                // A run asks both publishers about every campaign: a stop does not wait for it.
                _ = try await cancelWhenGracefulShutdown { try await reconciler.run(repair: false) }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("reconciliation failed; trying at the next interval", metadata: ["error": "\(error)"])
            }
        }
    }
}
