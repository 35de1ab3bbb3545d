import Contracts
import Foundation
import HTTPSupport
import Persistence
import SMTP
import SQLKit

/// `NotificationStore` on PostgreSQL or SQLite: the events seen and the `mails` table, which
/// `MailDispatcher` works as a `LeasedQueue`.
public struct SQLNotificationStore: NotificationStore {
    let database: any DatabaseClient

    public init(database: any DatabaseClient) {
        self.database = database
    }

    static let columns: SQLQueryString = """
        id, event_id, kind, subject_id, recipients, subject, text_body, html_body, message_id, status, attempts, last_error,
        next_attempt_at, delivery, sent_at, created_at, trace_parent
        """

    public func accept(_ events: [IncomingEvent], messageDomain: String, at time: String) async throws -> [IngestOutcome] {
        guard !events.isEmpty else { return [] }
        return try await database.retryingTransaction { db in
            // The events first, in one statement: those it returns are new; the rest were seen before
            // (or appear twice in the batch, and only the first counts).
            var firstIndex: [String: Int] = [:]
            for (index, event) in events.enumerated() where firstIndex[event.eventId] == nil { firstIndex[event.eventId] = index }
            let rows = firstIndex.values.sorted().map { index -> SQLQueryString in
                let event = events[index]
                return "(\(bind: event.eventId), \(bind: event.type), \(bind: event.mail == nil ? "ignored" : "applied"), \(bind: time))"
            }
            let new = Set(try await db.raw("""
                INSERT INTO notification_events (event_id, type, result, received_at) VALUES \(rows.joined(separator: ", "))
                ON CONFLICT (event_id) DO NOTHING
                RETURNING event_id
                """).all().map { try $0.decode(column: "event_id", as: String.self) })
            // Their mails, in one statement; the (event, kind) key keeps each to one.
            let mails = firstIndex.values.sorted().compactMap { index -> SQLQueryString? in
                let event = events[index]
                guard new.contains(event.eventId), let mail = event.mail else { return nil }
                return """
                    (\(bind: UUID().uuidString.lowercased()), \(bind: event.eventId), \(bind: mail.kind.rawValue), \(bind: mail.subjectId),
                     \(bind: Self.encode(mail.recipients)), \(bind: mail.subject), \(bind: mail.text), \(bind: mail.html),
                     \(bind: MailMessage.makeMessageId(domain: messageDomain)), 'QUEUED', 0, \(bind: time), \(bind: time), \(bind: event.traceParent))
                    """
            }
            if !mails.isEmpty {
                try await db.raw("""
                    INSERT INTO mails (id, event_id, kind, subject_id, recipients, subject, text_body, html_body, message_id, status,
                                       attempts, next_attempt_at, created_at, trace_parent)
                    VALUES \(mails.joined(separator: ", "))
                    ON CONFLICT (event_id, kind) DO NOTHING
                    """).run()
            }
            return events.enumerated().map { index, event in
                guard firstIndex[event.eventId] == index, new.contains(event.eventId) else {
                    return IngestOutcome(eventId: event.eventId, result: .duplicate)
                }
                return event.mail == nil
                    ? IngestOutcome(eventId: event.eventId, result: .ignored, reason: event.skipped) : IngestOutcome(eventId: event.eventId, result: .applied)
            }
        }
    }

    public func requeue(id: String, at time: String) async throws -> Mail? {
        try await database.withConnection { db in
            try await db.raw("""
                UPDATE mails SET status = 'QUEUED', next_attempt_at = \(bind: time), locked_until = NULL
                WHERE id = \(bind: id) AND status IN ('QUEUED', 'FAILED')
                RETURNING \(Self.columns)
                """).first().map(Self.mail)
        }
    }

    public func find(id: String) async throws -> Mail? {
        try await database.withConnection { db in
            try await db.raw("SELECT \(Self.columns) FROM mails WHERE id = \(bind: id)").first().map(Self.mail)
        }
    }

    public func list(kind: MailKind?, status: MailStatus?, limit: Int, after cursor: PageCursor?) async throws -> [Mail] {
        try await database.withConnection { db in
            var query: SQLQueryString = "SELECT \(Self.columns) FROM mails WHERE 1 = 1"
            if let kind { query += " AND kind = \(bind: kind.rawValue)" }
            if let status { query += " AND status = \(bind: status.rawValue)" }
            if let cursor {
                query += " AND (created_at < \(bind: cursor.sortKey) OR (created_at = \(bind: cursor.sortKey) AND id < \(bind: cursor.id)))"
            }
            query += " ORDER BY created_at DESC, id DESC LIMIT \(bind: limit + 1)"
            return try await db.raw(query).all().map(Self.mail)
        }
    }

    public func queueState(now: Date) async throws -> (queued: Int, failed: Int, oldestSeconds: Double) {
        try await database.withConnection { db in
            let row = try await db.raw("""
                SELECT (SELECT COUNT(*) FROM mails WHERE status = 'QUEUED') AS queued,
                       (SELECT COUNT(*) FROM mails WHERE status = 'FAILED') AS failed,
                       (SELECT MIN(created_at) FROM mails WHERE status = 'QUEUED') AS oldest
                """).first()
            let oldest = try row?.decode(column: "oldest", as: String?.self).flatMap(Timestamp.parse)
            return (
                try row?.decode(column: "queued", as: Int.self) ?? 0, try row?.decode(column: "failed", as: Int.self) ?? 0,
                oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0
            )
        }
    }

    /// One line per recipient: the address, then its name after a space (addresses hold none).
    static func encode(_ recipients: [MailAddress]) -> String {
        recipients.map { $0.address + ($0.name.map { " " + $0 } ?? "") }.joined(separator: "\n")
    }

    static func decode(recipients: String) -> [MailAddress] {
        recipients.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return parts.first.flatMap { MailAddress(String($0), name: parts.count > 1 ? String(parts[1]) : nil) }
        }
    }

    static func mail(_ row: any SQLRow) throws -> Mail {
        Mail(
            id: try row.decode(column: "id", as: String.self),
            eventId: try row.decode(column: "event_id", as: String.self),
            kind: try row.decode(column: "kind", known: MailKind.self),
            subjectId: try row.decode(column: "subject_id", as: String.self),
            recipients: decode(recipients: try row.decode(column: "recipients", as: String.self)),
            subject: try row.decode(column: "subject", as: String.self),
            text: try row.decode(column: "text_body", as: String.self),
            html: try row.decode(column: "html_body", as: String.self),
            messageId: try row.decode(column: "message_id", as: String.self),
            status: try row.decode(column: "status", known: MailStatus.self),
            attempts: try row.decode(column: "attempts", as: Int.self),
            lastError: try row.decode(column: "last_error", as: String?.self),
            nextAttemptAt: try row.decode(column: "next_attempt_at", as: String.self),
            delivery: try row.decode(column: "delivery", as: String?.self),
            sentAt: try row.decode(column: "sent_at", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            traceParent: try row.decode(column: "trace_parent", as: String?.self)
        )
    }
}
