import FoundationEssentials

/// Reads this process's storage I/O counters from `/proc/self/io` (Linux).
public enum ProcessIO {
    /// `write_bytes`: bytes this process caused to be sent to storage (accounted when page-cache
    /// pages are dirtied, in whole pages). nil if unreadable.
    public static func writeBytes() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("write_bytes:") {
            return line.dropFirst("write_bytes:".count).split(whereSeparator: \.isWhitespace).first.flatMap { Int64($0) }
        }
        return nil
    }
}
