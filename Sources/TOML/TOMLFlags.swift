/// What a key path may still become, by the redefinition rules of TOML 1.0. Kept by key path
/// (array-of-tables elements share their array's path; `[[a]]` clears the flags below `a`), the
/// same model as Python's `tomllib`, so both accept and refuse the same documents.
struct TOMLFlags {
    enum Flag: Hashable {
        /// An inline table or array: complete once written.
        case frozen
        /// Defined by a `[header]`, or by dotted keys in an earlier section.
        case explicitNest
    }

    private final class Node {
        var flags: Set<Flag> = []
        var recursiveFlags: Set<Flag> = []
        var nested: [String: Node] = [:]
    }

    private let root = Node()
    private var pending: [(path: [String], flag: Flag)] = []

    mutating func addPending(_ path: [String], _ flag: Flag) {
        pending.append((path, flag))
    }

    mutating func finalizePending() {
        for (path, flag) in pending { set(path, flag, recursive: false) }
        pending.removeAll()
    }

    /// Forgets every flag at and below `path`.
    func unsetAll(_ path: [String]) {
        guard let stem = path.last else { return }
        var node = root
        for key in path.dropLast() {
            guard let next = node.nested[key] else { return }
            node = next
        }
        node.nested[stem] = nil
    }

    func set(_ path: [String], _ flag: Flag, recursive: Bool) {
        var node = root
        for key in path {
            if let next = node.nested[key] {
                node = next
            } else {
                let next = Node()
                node.nested[key] = next
                node = next
            }
        }
        if recursive { node.recursiveFlags.insert(flag) } else { node.flags.insert(flag) }
    }

    /// Whether `path` has `flag`, itself or by a recursive flag of a table above it.
    func has(_ path: [String], _ flag: Flag) -> Bool {
        guard let stem = path.last else { return false }
        var node = root
        for key in path.dropLast() {
            guard let next = node.nested[key] else { return false }
            if next.recursiveFlags.contains(flag) { return true }
            node = next
        }
        guard let last = node.nested[stem] else { return false }
        return last.flags.contains(flag) || last.recursiveFlags.contains(flag)
    }
}
