import Foundation

/// The example bytes a page of docs/ shows, so a test can keep the page true.
public enum DocumentedHex {
    /// docs/`name` in this package.
    public static func docURL(_ name: String, testFile: String = #filePath) -> URL {
        URL(fileURLWithPath: testFile).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/\(name)")
    }

    /// The hex between the ```hex fence that follows `marker` (an HTML comment such as
    /// `<!-- example-batch -->`) and the closing fence, without white space; "" when absent.
    public static func hex(in url: URL, after marker: String) throws -> String {
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let found = text.range(of: marker),
              let open = text.range(of: "```hex\n", range: found.upperBound..<text.endIndex),
              let close = text.range(of: "```", range: open.upperBound..<text.endIndex)
        else { return "" }
        return String(text[open.upperBound..<close.lowerBound]).filter { !$0.isWhitespace }
    }
}
