import Contracts
import Persistence
import PostgresNIO
import SQLKit
import SQLiteNIO
import TestSupport
import Testing

@Suite("Ids bound as their text")
struct IdentifierBindTests {
    /// A bound value a driver does not know goes through its generic `Encodable` machinery, which
    /// costs many times a string's encoding (8% of campaign-service's ingestion rate): an id must
    /// take each driver's fast path, as text.
    @Test("an id and an optional id take both drivers' fast path as text; a list of ids too")
    func idsBindAsText() async throws {
        let pledge: PledgeID = "p-1"
        let payment: PaymentID? = "pay-1"
        let ids: [CampaignID] = ["c-1", "c-2"]
        let query: SQLQueryString = "\(bind: pledge) \(bind: payment) \(binds: ids)"
        let binds = try await TestDatabase.sqlite.withFreshClient { client in
            try await client.withConnection { db in db.serialize(query).binds }
        }
        #expect(binds.count == 4)
        for bind in binds {
            #expect(bind is any PostgresThrowingDynamicTypeEncodable, "\(type(of: bind)) is not on PostgreSQL's fast path")
            #expect((bind as? any SQLiteDataConvertible)?.sqliteData.map { "\($0)" }?.isEmpty == false, "\(type(of: bind)) is not on SQLite's fast path")
        }
        #expect(pledge.sqliteData == .text("p-1"))
        var buffer = ByteBuffer()
        pledge.encode(into: &buffer, context: .default)
        #expect(buffer.readString(length: buffer.readableBytes) == "p-1" && PledgeID.psqlType == .text)
    }

    @Test("ids stored and read back on both databases", arguments: TestDatabase.all)
    func roundTrip(database: TestDatabase) async throws {
        let stored = try await database.withFreshClient { client in
            try await client.withConnection { db in
                try await db.raw("CREATE TABLE ids (id TEXT PRIMARY KEY, other TEXT)").run()
                try await db.raw("INSERT INTO ids (id, other) VALUES (\(bind: PledgeID("p-1")), \(bind: Optional<PaymentID>.none))").run()
                return try await db.raw("SELECT id, other FROM ids WHERE id IN (\(binds: [PledgeID("p-1")]))").all().map {
                    (try $0.decode(column: "id", known: PledgeID.self), try $0.decode(column: "other", as: String?.self))
                }
            }
        }
        #expect(stored.count == 1 && stored.first?.0 == "p-1" && stored.first?.1 == nil)
    }
}
