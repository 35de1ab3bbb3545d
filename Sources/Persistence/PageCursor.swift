import Contracts
import Foundation

/// A keyset position: the sort value and id of the last item of the previous page.
public struct PageCursor: Sendable, Equatable, Codable {
    public let sortKey: String
    public let id: String

    public init(sortKey: String, id: String) {
        self.sortKey = sortKey
        self.id = id
    }

    public init?(encoded: String) {
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
            let cursor = try? WireCoding.decoder.decode(PageCursor.self, from: data)
        else { return nil }
        self = cursor
    }

    public var encoded: String {
        let data = (try? WireCoding.encoder.encode(self)) ?? Data()
        return data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
