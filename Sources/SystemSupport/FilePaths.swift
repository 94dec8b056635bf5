/// Joining and splitting file paths as text, the way `NSString`'s path methods did
/// (`NSString` is part of the full Foundation, which lampd does not link).
public enum FilePaths {
    /// `directory` + "/" + `name`, without doubling or dropping a slash; `name` alone when
    /// `directory` is empty.
    public static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        if name.isEmpty { return directory }
        let head = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let tail = name.hasPrefix("/") ? String(name.dropFirst()) : name
        return head + "/" + tail
    }

    /// The directory part of `path`: "/a/b" → "/a", "/a" → "/", "a" → "", "/a/b/" → "/a".
    public static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        var parent = trimmed[..<slash]
        while parent.count > 1, parent.hasSuffix("/") { parent = parent.dropLast() }
        return String(parent)
    }
}
