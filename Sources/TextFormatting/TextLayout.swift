extension StringProtocol {
    /// The text without leading and trailing white space (spaces, tabs, newlines).
    /// Foundation's `trimmingCharacters(in:)` is not in `FoundationEssentials`.
    public func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    /// The text cut or padded with spaces on the right to exactly `width` characters, for columns
    /// (what Foundation's `padding(toLength:withPad:startingAt:)` did with a space).
    public func fitted(toWidth width: Int) -> String {
        count >= width ? String(prefix(width)) : String(self) + String(repeating: " ", count: width - count)
    }
}
