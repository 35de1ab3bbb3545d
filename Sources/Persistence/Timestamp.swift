import Foundation
import Observability

/// Times are stored as RFC 3339 UTC text with millisecond precision and fixed width, so they
/// sort correctly as text on both databases and read well in a SQL shell. What time it is comes
/// from a `StoreClock`.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        RFC3339.format(date)
    }

    public static func parse(_ string: String) -> Date? {
        try? style.parse(string)
    }

    /// A time from another service (RFC 3339, with or without fractional seconds) in the stored
    /// form; nil if it is not one.
    public static func normalize(_ raw: String) -> String? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(raw) { return format(date) }
        if let date = try? Date.ISO8601FormatStyle().parse(raw) { return format(date) }
        return nil
    }

    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
}
