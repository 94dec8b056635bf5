/// Finds the line and column of a key path in TOML text, so that errors
/// found after parsing (a wrong type, an unknown name, a value out of range)
/// can point at the line, as syntax errors do.
///
/// It understands what lampd's configuration uses: `[table]`,
/// `[[array.of.tables]]` (nested ones too), dotted keys and `key = value`
/// lines. Anything it cannot place is reported without a line.
struct TOMLKeyLocator {
    private var positions: [String: (line: Int, column: Int)] = [:]

    init(text: String) {
        var table: [String] = []           // current table path, with indices
        var arrayCounts: [String: Int] = [:] // "[[a.b]]" occurrences per parent path
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let indent = rawLine.prefix(while: { $0 == " " || $0 == "\t" }).count
            let line = rawLine.dropFirst(indent)
            if line.hasPrefix("[[") {
                let keys = Self.keys(line.dropFirst(2).prefix { $0 != "]" })
                let path = Self.resolve(keys, arrays: arrayCounts)
                let plain = path.joined(separator: ".")
                let count = arrayCounts[plain, default: 0]
                arrayCounts[plain] = count + 1
                // Nested arrays restart their count under each new parent element.
                for key in Array(arrayCounts.keys) where key.hasPrefix(plain + ".") { arrayCounts[key] = nil }
                table = path
                table[table.count - 1] += "[\(count)]"
                positions[table.joined(separator: ".")] = (lineNumber, indent + 1)
            } else if line.hasPrefix("[") {
                let keys = Self.keys(line.dropFirst().prefix { $0 != "]" })
                table = Self.resolve(keys, arrays: arrayCounts)
                positions[table.joined(separator: ".")] = (lineNumber, indent + 1)
            } else if let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let keys = Self.keys(line[..<equals])
                guard !keys.isEmpty else { continue }
                let path = (table + keys).joined(separator: ".")
                let valueOffset = line.distance(from: line.startIndex, to: equals) + 1
                let valueText = line[line.index(after: equals)...]
                let spaces = valueText.prefix(while: { $0 == " " || $0 == "\t" }).count
                positions[path] = (lineNumber, indent + valueOffset + spaces + 1)
            }
        }
    }

    /// Line and column of the value at `keyPath` (or of its table header,
    /// or of the nearest enclosing table that is known).
    func position(of keyPath: String) -> (line: Int, column: Int)? {
        var path = keyPath
        while !path.isEmpty {
            if let found = positions[path] { return found }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            path = String(path[..<cut])
        }
        return nil
    }

    private static func keys(_ text: Substring) -> [String] {
        text.split(separator: ".").map {
            $0.trimmingCharacters(in: " \t\"'")
        }.filter { !$0.isEmpty }
    }

    /// Turns a header's plain keys into an indexed path: in `[[a.b]]` under
    /// an earlier `[[a]]`, `a` means the latest element of `a`.
    private static func resolve(_ keys: [String], arrays: [String: Int]) -> [String] {
        var resolved: [String] = []
        for (position, key) in keys.enumerated() {
            let plain = (resolved.map { $0.replacingIndices() } + [key]).joined(separator: ".")
            if position < keys.count - 1, let count = arrays[plain], count > 0 {
                resolved.append("\(key)[\(count - 1)]")
            } else {
                resolved.append(key)
            }
        }
        return resolved
    }
}

private extension String {
    func trimmingCharacters(in characters: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }

    /// `devices[2]` → `devices`
    func replacingIndices() -> String {
        guard let bracket = firstIndex(of: "[") else { return self }
        return String(self[..<bracket])
    }
}

private extension Substring {
    func trimmingCharacters(in characters: String) -> String {
        String(self).trimmingCharacters(in: characters)
    }
}
