import Uplink

/// Reads one CBOR map of a desired state with every value checked: a wrong type, a number out of
/// range, a text too long or an unknown key is a `malformed` refusal naming the path, never a trap.
struct CBORMapReader {
    let entries: [CBORValue: CBORValue]
    /// Where the map is, e.g. `programs[2].switchPoints[0]`.
    let path: String
    let knownKeys: Set<String>

    init(_ value: CBORValue, path: String, knownKeys: Set<String>) throws(DesiredStateRefusal) {
        guard case .map(let entries) = value else { throw Self.malformed("\(path) is not a map") }
        self.entries = entries
        self.path = path
        self.knownKeys = knownKeys
        for key in entries.keys {
            guard case .text(let name) = key else { throw Self.malformed("\(path) has a key \(key) that is not text") }
            // Unknown keys are refused, not skipped: a board never half-applies what the city meant.
            guard knownKeys.contains(name) else {
                throw Self.malformed("\(path) has the unknown key \"\(name.prefix(64))\": this lampd does not know it (is the board older than the city side?)")
            }
        }
    }

    static func malformed(_ message: String) -> DesiredStateRefusal { DesiredStateRefusal(.malformed, message) }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func value(_ key: String, required: Bool) throws(DesiredStateRefusal) -> CBORValue? {
        guard let value = entries[.text(key)] else {
            if required { throw Self.malformed("\(name(key)) is missing") }
            return nil
        }
        return value
    }

    /// An unsigned integer within `range`.
    func integer(_ key: String, in range: ClosedRange<Int64>, required: Bool = true) throws(DesiredStateRefusal) -> Int64? {
        guard let value = try value(key, required: required) else { return nil }
        guard let number = value.int64, range.contains(number) else {
            throw Self.malformed("\(name(key)) must be an integer within \(range.lowerBound)…\(range.upperBound), not \(Self.short(value))")
        }
        return number
    }

    /// Text of 1…`maximumLength` characters.
    func text(_ key: String, maximumLength: Int, required: Bool = true) throws(DesiredStateRefusal) -> String? {
        guard let value = try value(key, required: required) else { return nil }
        guard case .text(let text) = value, !text.isEmpty, text.utf8.count <= maximumLength else {
            throw Self.malformed("\(name(key)) must be text of 1–\(maximumLength) bytes, not \(Self.short(value))")
        }
        return text
    }

    /// An array of at most `maximumCount` elements.
    func array(_ key: String, maximumCount: Int, required: Bool = true) throws(DesiredStateRefusal) -> [CBORValue]? {
        guard let value = try value(key, required: required) else { return nil }
        guard case .array(let items) = value, items.count <= maximumCount else {
            throw Self.malformed("\(name(key)) must be an array of at most \(maximumCount) elements")
        }
        return items
    }

    /// A shortened description of a value for a message (a hostile value may be huge).
    static func short(_ value: CBORValue) -> String {
        let text = "\(value)"
        return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }
}
