import Contracts
import Foundation
import Logging
import Outbox
import Synchronization

/// The chaos suite's crash between a delivery and its recording (`OUTBOX_RELAY_EXIT_AFTER_DELIVERIES`,
/// `scripts/chaos --scenario relay-crash`): after the n-th delivered batch the process exits at
/// once, as a crash would (no exit handlers, nothing else finishes), before the relay records the
/// delivery. The rows go out again once their lease ends; consumers drop the copies. Installed
/// only when that setting is given; production code knows nothing of it but the hook.
public final class ExitAfterDeliveries: DeliveryFaults {
    private let left: Atomic<Int>

    public init(_ deliveries: Int) {
        left = Atomic(deliveries)
    }

    public func delivered(to destination: OutboxDestination, logger: Logger) {
        guard left.subtract(1, ordering: .relaxed).newValue == 0 else { return }
        logger.critical("chaos: exiting between delivery and marking", metadata: ["destination": .string(destination.rawValue)])
        fflush(nil)
        _exit(86)
    }
}
