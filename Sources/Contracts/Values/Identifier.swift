import Foundation

/// An id of one kind of thing: a pledge's id is a `PledgeID`, never a `CampaignID`, though both
/// are UUID text on the wire and in the tables. Encoded as its text.
public struct Identifier<Kind>: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringInterpolation {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    /// A new random id (a lowercase UUID).
    public static func new() -> Self {
        Self(UUID().uuidString.lowercased())
    }

    /// True for the UUIDs the platform issues; anything else names nothing.
    public var isUUID: Bool { UUID(uuidString: rawValue) != nil }

    /// 1 to 100 characters: what the tables and the wire accept as an id at all.
    public var isWithinLimits: Bool { !rawValue.isEmpty && rawValue.count <= 100 }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The kinds of thing the platform names by id.
public enum IDKind {
    public enum Pledge {}
    public enum Campaign {}
    public enum Payment {}
    public enum User {}
}

public typealias PledgeID = Identifier<IDKind.Pledge>
public typealias CampaignID = Identifier<IDKind.Campaign>
public typealias PaymentID = Identifier<IDKind.Payment>
public typealias UserID = Identifier<IDKind.User>
