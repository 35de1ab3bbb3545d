import Contracts
import CoreMetrics
import NIOCore
import PostgresNIO
import SQLiteNIO
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

// Ids are bound as their text, on the drivers' fast path: `\(bind: pledge.id)` reaches
// PostgreSQL as a `text` parameter and SQLite as text, never through the drivers' generic
// `Encodable` machinery (SQLKit's `bind:` takes any `Encodable`, so an overload for ids is not
// chosen; the conformance is what the drivers look for).
extension Identifier: PostgresEncodable, PostgresNonThrowingEncodable {
    public static var psqlType: PostgresDataType { String.psqlType }
    public static var psqlFormat: PostgresFormat { String.psqlFormat }

    public func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        rawValue.encode(into: &byteBuffer, context: context)
    }
}

extension Identifier: SQLiteDataConvertible {
    public init?(sqliteData: SQLiteData) {
        guard let text = String(sqliteData: sqliteData) else { return nil }
        self.init(text)
    }

    public var sqliteData: SQLiteData? { .text(rawValue) }
}
