/// A limit on user text in characters (grapheme clusters, what a person counts) and in UTF-8
/// bytes (what storage, events and bodies cost). A character can be any number of bytes (one
/// letter and a megabyte of combining marks is one character), so a limit in characters alone
/// bounds nothing.
public struct TextLimit: Sendable, Equatable {
    public let characters: Int
    public let bytes: Int

    /// `bytes` defaults to four per character: any ordinary text, in any script, fits.
    public init(characters: Int, bytes: Int? = nil) {
        self.characters = characters
        self.bytes = bytes ?? characters * 4
    }

    public func allows(_ text: String) -> Bool {
        // Bytes first: counting characters of a huge string is the expensive check.
        text.utf8.count <= bytes && text.count <= characters
    }
}
