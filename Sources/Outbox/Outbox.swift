import Events
import Foundation
import Persistence
import SQLKit
import Synchronization

/// One event waiting in (or delivered from) the outbox.
public struct OutboxMessage: Sendable, Equatable {
    public let id: String
    public let destination: String
    public let eventType: String
    /// The event envelope as JSON, exactly as it will be sent.
    public let payload: String
    public let traceParent: String?
    public let createdAt: String
    /// Delivery attempts so far, this one included once claimed.
    public let attempts: Int
}

/// One outbox row to write: the exact body to send, its unique id, and where it goes.
public struct OutboxEntry: Sendable {
    public let id: String
    public let type: String
    public let payload: String
    public let traceParent: String?
    public let destination: String

    public init(id: String, type: String, payload: String, traceParent: String?, destination: String) {
        self.id = id
        self.type = type
        self.payload = payload
        self.traceParent = traceParent
        self.destination = destination
    }

    /// An event envelope as its row: the row id is the event id.
    public init<Body>(_ event: Envelope<Body>, destination: String) throws {
        self.init(
            id: event.eventId, type: event.type.rawValue, payload: String(decoding: try Outbox.encoder.encode(event), as: UTF8.self),
            traceParent: event.traceParent, destination: destination
        )
    }
}

/// Writing to the outbox: always inside the transaction of the state change the event describes,
/// so the two commit together or not at all.
public enum Outbox {
    /// Made once: their settings never change, and coding with them is safe from any thread.
    static let encoder = JSONEncoder()
    static let decoder = JSONDecoder()

    /// Adds `event` for `destination` in the caller's transaction. The row id is the event id, so
    /// a business operation replayed in a new transaction cannot enqueue the same event twice.
    public static func enqueue(_ event: EventEnvelope, destination: String, on db: any SQLDatabase, now: String = Timestamp.now()) async throws {
        try await enqueue([OutboxEntry(event, destination: destination)], on: db, now: now)
    }

    /// Adds every entry in one statement, in the caller's transaction.
    public static func enqueue(_ entries: [OutboxEntry], on db: any SQLDatabase, now: String = Timestamp.now()) async throws {
        guard !entries.isEmpty else { return }
        let rows = entries.map { entry -> SQLQueryString in
            "(\(bind: entry.id), \(bind: entry.destination), \(bind: entry.type), \(bind: entry.payload), \(bind: entry.traceParent), \(bind: now), \(bind: now))"
        }
        try await db.raw("""
            INSERT INTO outbox (id, destination, event_type, payload, trace_parent, created_at, next_attempt_at)
            VALUES \(rows.joined(separator: ", "))
            """).run()
    }
}

/// Wakes the relay as soon as a transaction that wrote to the outbox commits, so delivery does
/// not wait for the next poll. In-process only: replicas fall back to polling each other's rows.
public final class OutboxSignal: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    /// Call after the commit.
    public func notify() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next `notify` (or at once if one came since the last wait), or after
    /// `timeout`. One waiter at a time (the relay, or one live stream).
    public func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.pending {
                            state.pending = false
                            return true
                        }
                        state.waiter?.resume()
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
            }
            await group.next()
            group.cancelAll()
            // Whichever finished first, release a continuation still parked so its task can end.
            let parked = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            parked?.resume()
        }
    }
}
