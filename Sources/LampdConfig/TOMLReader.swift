import FoundationEssentials
import Telemetry
import TOML
import SystemSupport
import Clocks

/// Collects the problems found while reading one configuration file, and the files it names.
final class ConfigurationDiagnostics {
    let file: String
    let locator: TOMLKeyLocator
    private(set) var errors: [ConfigurationError] = []
    private(set) var pulledIn: [PulledInFile] = []

    init(file: String, root: TOMLTable) {
        self.file = file
        self.locator = TOMLKeyLocator(root: root)
    }

    func report(_ keyPath: String, _ message: String) {
        let position = locator.position(of: keyPath)
        errors.append(ConfigurationError(file: file, line: position?.line, column: position?.column, keyPath: keyPath, message: message))
    }

    func pullIn(_ file: PulledInFile) { pulledIn.append(file) }
}

/// Reads typed values out of one TOML table, reporting every wrong type,
/// bad value and unknown key (a typo such as `baudrate` for `baud`) with its
/// key path, instead of stopping at the first.
final class TOMLReader {
    let table: TOMLTable
    let path: String
    let diagnostics: ConfigurationDiagnostics
    private var readKeys: Set<String> = []

    init(_ table: TOMLTable, path: String, diagnostics: ConfigurationDiagnostics) {
        self.table = table
        self.path = path
        self.diagnostics = diagnostics
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func report(_ key: String, _ message: String) { diagnostics.report(keyPath(key), message) }

    private func value(_ key: String, required: Bool) -> TOMLValue? {
        readKeys.insert(key)
        guard let node = table[key] else {
            if required { report(key, "missing; this key is required") }
            return nil
        }
        return node.value
    }

    private func wrongType(_ key: String, expected: String, found value: TOMLValue) {
        report(key, "expected \(expected), found \(Self.describe(value))")
    }

    static func describe(_ value: TOMLValue) -> String {
        switch value {
        case .string(let text): "the string \"\(text)\""
        case .integer(let number): "the integer \(number)"
        case .float(let number): "the number \(number)"
        case .boolean(let flag): "the boolean \(flag)"
        case .table: "a table"
        case .array: "an array"
        case .dateTime(let dateTime): "the date or time \(dateTime)"
        }
    }

    func string(_ key: String, required: Bool = false) -> String? {
        guard let value = value(key, required: required) else { return nil }
        guard let text = value.string else { wrongType(key, expected: "a string in quotes", found: value); return nil }
        return text
    }

    func bool(_ key: String) -> Bool? {
        guard let value = value(key, required: false) else { return nil }
        guard let flag = value.boolean else { wrongType(key, expected: "true or false", found: value); return nil }
        return flag
    }

    func int(_ key: String, in range: ClosedRange<Int>, required: Bool = false) -> Int? {
        guard let value = value(key, required: required) else { return nil }
        guard let integer = value.integer else { wrongType(key, expected: "a whole number", found: value); return nil }
        // Int is 64 bits on every platform lampd runs on; the range check below bounds it anyway.
        guard let number = Int(exactly: integer), range.contains(number) else {
            report(key, "\(integer) is out of range; expected \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return number
    }

    func double(_ key: String, in range: ClosedRange<Double>? = nil, required: Bool = false) -> Double? {
        guard let value = value(key, required: required) else { return nil }
        guard let number = value.float ?? value.integer.map(Double.init) else {
            wrongType(key, expected: "a number", found: value); return nil
        }
        if let range, !range.contains(number) {
            report(key, "\(number) is out of range; expected \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return number
    }

    /// A duration written as text with a unit: `"500ms"`, `"10s"`, `"5m"`, `"1h"`, `"7d"`.
    func duration(_ key: String, in range: ClosedRange<Duration>? = nil, required: Bool = false) -> Duration? {
        guard let text = string(key, required: required) else { return nil }
        guard let duration = DurationText.parse(text) else {
            report(key, "\"\(text)\" is not a duration; write a number and a unit, e.g. \"500ms\", \"10s\", \"5m\", \"1h\"")
            return nil
        }
        if let range, !range.contains(duration) {
            report(key, "\"\(text)\" is out of range; expected \(DurationText.format(range.lowerBound)) to \(DurationText.format(range.upperBound))")
            return nil
        }
        return duration
    }

    /// One of a fixed set of words.
    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, required: Bool = false) -> Choice? where Choice.RawValue == String {
        guard let text = string(key, required: required) else { return nil }
        guard let choice = Choice(rawValue: text) else {
            let allowed = Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            report(key, "\"\(text)\" is not allowed; use one of \(allowed)")
            return nil
        }
        return choice
    }

    /// A word parsed by `parse` (which may accept several spellings); `allowed` lists them for the error.
    func named<Value>(_ key: String, parse: (String) -> Value?, allowed: String, required: Bool = false) -> Value? {
        guard let text = string(key, required: required) else { return nil }
        guard let value = parse(text) else {
            report(key, "\"\(text)\" is not allowed; use one of \(allowed)")
            return nil
        }
        return value
    }

    func table(_ key: String, required: Bool = false) -> TOMLReader? {
        guard let value = value(key, required: required) else { return nil }
        guard let table = value.table else { wrongType(key, expected: "a table ([\(keyPath(key))])", found: value); return nil }
        return TOMLReader(table, path: keyPath(key), diagnostics: diagnostics)
    }

    /// An array of tables (`[[key]]` sections).
    func tables(_ key: String) -> [TOMLReader] {
        guard let value = value(key, required: false) else { return [] }
        guard let array = value.array else { wrongType(key, expected: "a list of [[\(keyPath(key))]] sections", found: value); return [] }
        var readers: [TOMLReader] = []
        for (index, element) in array.enumerated() {
            let elementPath = "\(keyPath(key))[\(index)]"
            guard let table = element.value.table else {
                diagnostics.report(elementPath, "expected a table, found \(Self.describe(element.value))")
                continue
            }
            readers.append(TOMLReader(table, path: elementPath, diagnostics: diagnostics))
        }
        return readers
    }

    /// Records that the string at `key` names a file (resolved to `resolvedPath`), with what was
    /// read from it and checked, if anything: `LastGoodConfiguration` keeps it with its copy.
    func pullIn(_ key: String, resolvedPath: String, contents: [UInt8]? = nil) {
        guard let range = table[key]?.sourceRange else { return }
        diagnostics.pullIn(PulledInFile(keyPath: keyPath(key), sourceRange: range, resolvedPath: resolvedPath, contents: contents))
    }

    /// Reports every key of this table that nothing read: almost always a typo.
    func rejectUnknownKeys() {
        for key in table.keys where !readKeys.contains(key) {
            let known = readKeys.sorted()
            let hint = Self.closest(to: key, in: known).map { " (did you mean \"\($0)\"?)" } ?? ""
            report(key, "unknown key\(hint)")
        }
    }

    /// The known key within two edits of `key`, if there is one.
    static func closest(to key: String, in candidates: [String]) -> String? {
        candidates
            .map { ($0, editDistance(key, $0)) }
            .filter { $0.1 <= 2 || $0.0.hasPrefix(key) || key.hasPrefix($0.0) }
            .min { $0.1 < $1.1 }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// File paths written in the configuration: absolute, or relative to the configuration file's directory.
enum ConfigurationPath {
    static func resolve(_ path: String, relativeTo configurationDirectory: String) -> String {
        path.hasPrefix("/") ? path : FilePaths.join(configurationDirectory, path)
    }

    /// `path` made absolute against the working directory (lampd does not change it).
    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FilePaths.join(FileManager.default.currentDirectoryPath, path)
    }
}

/// A file the configuration names (the schedule file, the uplink's certificates and key).
public struct PulledInFile: Sendable, Hashable {
    /// Key path of the string that names it, e.g. `lighting.schedule_file`.
    public var keyPath: String
    /// Bytes of that string (quotes included) in the configuration's text.
    public var sourceRange: Range<Int>
    /// The path, resolved against the configuration file's directory.
    public var resolvedPath: String
    /// What was read from the file and checked (the schedule); nil for files others read
    /// later (the certificates and the TLS key stay where they are).
    public var contents: [UInt8]?
}
