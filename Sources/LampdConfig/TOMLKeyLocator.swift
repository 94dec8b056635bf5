import TOML

/// The line and column of every key path of a parsed TOML document, so that errors found
/// after parsing (a wrong type, an unknown name, a value out of range) point at the line,
/// as syntax errors do.
///
/// Key paths are written as in error messages: `modbus.devices[0].unit` (an element of an
/// array is `[index]`). A value is located where it starts; a table at its header (or at
/// the key that created it).
struct TOMLKeyLocator {
    private var positions: [String: TOMLPosition] = [:]

    init(root: TOMLTable) {
        record(root, path: "")
    }

    /// Line and column of the value at `keyPath` (or of the nearest enclosing table).
    func position(of keyPath: String) -> (line: Int, column: Int)? {
        var path = keyPath
        while true {
            if let found = positions[path] { return (found.line, found.column) }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            path = String(path[..<cut])
        }
        return nil
    }

    /// Depth is bounded by the parser (`TOML.maximumDepth`).
    private mutating func record(_ table: TOMLTable, path: String) {
        if !path.isEmpty { positions[path] = table.position }
        for key in table.keys {
            guard let node = table[key] else { continue }
            record(node, path: path.isEmpty ? key : "\(path).\(key)")
        }
    }

    private mutating func record(_ node: TOMLNode, path: String) {
        positions[path] = node.position
        switch node.value {
        case .table(let table):
            record(table, path: path)
        case .array(let elements):
            for (index, element) in elements.enumerated() { record(element, path: "\(path)[\(index)]") }
        default:
            break
        }
    }
}
