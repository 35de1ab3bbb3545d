import Contracts
import HTTPSupport
import Hummingbird
import Observability
import Outbox
import Signatures

/// The operator routes every publishing service mounts the same way, under its own segment:
/// `admin/outbox...` (admins) and, for a service whose ledger reconciliation reads (`pledges`,
/// `payments`), the signed `internal/summary` and `internal/resend`.
public enum OperationsRoutes {
    public static func add(
        to group: RouterGroup<AppRequestContext>, outbox: OutboxRows, ledger: LedgerQuery? = nil, signatures: SignatureScheme, metrics: ServiceMetrics
    ) {
        OutboxAdminController(rows: outbox).addRoutes(to: group)
        if let ledger {
            LedgerController(ledger: ledger, outbox: outbox, signatures: signatures, metrics: metrics).addRoutes(to: group)
        }
    }
}
