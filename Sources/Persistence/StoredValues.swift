import Contracts
import CoreMetrics
import Logging
import Observability
import SQLKit

/// A row held a value the code does not know (a status, a currency, a kind): the row was written
/// by something else, or the code is older than the data. Never read as a default: the request or
/// the round that met it fails with this, logged and counted (`stored_values_unknown_total`).
public struct UnknownStoredValue: Error, CustomStringConvertible, Sendable {
    public let column: String
    public let value: String

    public var description: String { "column \(column) holds \(value.debugDescription), which this code does not know" }

    /// Counts (`stored_values_unknown_total`, by column) and logs `error` when it is one; called
    /// where errors end up: the HTTP error middleware and the queue workers.
    public static func record(_ error: any Error, metrics: ServiceMetrics, logger: Logger) {
        guard let unknown = error as? UnknownStoredValue else { return }
        metrics.counter(.storedValuesUnknownTotal, [("column", unknown.column)]).increment()
        logger.error("stored value unknown", metadata: ["column": .string(unknown.column), "value": .string(String(unknown.value.prefix(100)))])
    }
}

extension SQLRow {
    /// The column's text as one of `type`'s values; `UnknownStoredValue` when it is none of them.
    public func decode<Value: RawRepresentable>(column: String, known type: Value.Type) throws -> Value where Value.RawValue == String {
        let raw = try decode(column: column, as: String.self)
        guard let value = Value(rawValue: raw) else { throw UnknownStoredValue(column: column, value: raw) }
        return value
    }

    /// The same, for a column that may be NULL.
    public func decode<Value: RawRepresentable>(column: String, known type: Value?.Type) throws -> Value? where Value.RawValue == String {
        guard let raw = try decode(column: column, as: String?.self) else { return nil }
        guard let value = Value(rawValue: raw) else { throw UnknownStoredValue(column: column, value: raw) }
        return value
    }
}

extension SQLRow {
    /// An amount stored as two columns, minor units and currency code, as `Money`.
    public func decodeMoney(_ amountColumn: String = "amount", currency currencyColumn: String = "currency") throws -> Money {
        Money(try decode(column: amountColumn, as: Int64.self), try decode(column: currencyColumn, known: Currency.self))
    }
}

extension SQLQueryString {
    /// An id binds as its text, as it is stored.
    public mutating func appendInterpolation<Kind>(bind id: Identifier<Kind>) {
        appendInterpolation(bind: id.rawValue)
    }

    /// Ids bind as a list of their texts (for `IN (...)`).
    public mutating func appendInterpolation<Kind>(binds ids: [Identifier<Kind>]) {
        appendInterpolation(binds: ids.map(\.rawValue))
    }

    /// A missing id binds as NULL.
    public mutating func appendInterpolation<Kind>(bind id: Identifier<Kind>?) {
        appendInterpolation(bind: id?.rawValue)
    }
}
