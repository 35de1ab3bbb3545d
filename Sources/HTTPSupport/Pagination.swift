import Contracts
import Foundation
import Hummingbird
import Persistence

/// `?limit=&cursor=` as every list takes them: limit 1...100 (default 20), and an opaque cursor.
public struct PageRequest: Sendable, Equatable {
    public let limit: Int
    public let cursor: PageCursor?

    public static let defaultLimit = 20
    public static let maxLimit = 100

    public init(limit: Int = PageRequest.defaultLimit, cursor: PageCursor? = nil) {
        self.limit = limit
        self.cursor = cursor
    }

    public init(query: [String: String]) throws {
        if let raw = query["limit"] {
            guard let limit = Int(raw), (1...Self.maxLimit).contains(limit) else {
                throw APIError.invalidParameter("limit", "must be an integer from 1 to \(Self.maxLimit)")
            }
            self.limit = limit
        } else {
            self.limit = Self.defaultLimit
        }
        if let raw = query["cursor"], !raw.isEmpty {
            guard let cursor = PageCursor(encoded: raw) else {
                throw APIError(.badRequest, code: "invalid_cursor", message: "The cursor is not one this service issued.")
            }
            self.cursor = cursor
        } else {
            self.cursor = nil
        }
    }

    public init(request: Request) throws {
        let pairs = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        try self.init(query: Dictionary(pairs, uniquingKeysWith: { first, _ in first }))
    }
}

/// `{items: [...], next_cursor}`.
public struct Page<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    public let items: [Item]
    public let nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    /// Builds a page from up to `limit + 1` fetched rows: the extra row only says a next page exists.
    public init<Row>(rows: [Row], limit: Int, item: (Row) -> Item, cursor: (Row) -> PageCursor) {
        let pageRows = Array(rows.prefix(limit))
        self.items = pageRows.map(item)
        self.nextCursor = rows.count > limit ? pageRows.last.map(cursor)?.encoded : nil
    }

    // Encoded explicitly so `next_cursor` is present as null on the last page.
    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}
