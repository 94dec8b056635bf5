import FoundationEssentials
import Telemetry
import TOMLKit

/// Collects the problems found while reading one configuration file.
final class ConfigurationDiagnostics {
    let file: String
    let locator: TOMLKeyLocator
    private(set) var errors: [ConfigurationError] = []

    init(file: String, text: String) {
        self.file = file
        self.locator = TOMLKeyLocator(text: text)
    }

    func report(_ keyPath: String, _ message: String) {
        let position = locator.position(of: keyPath)
        errors.append(ConfigurationError(file: file, line: position?.line, column: position?.column, keyPath: keyPath, message: message))
    }
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

    private func value(_ key: String, required: Bool) -> (any TOMLValueConvertible)? {
        readKeys.insert(key)
        guard let value = table[key] else {
            if required { report(key, "missing; this key is required") }
            return nil
        }
        return value
    }

    private func wrongType(_ key: String, expected: String, found value: any TOMLValueConvertible) {
        report(key, "expected \(expected), found \(Self.describe(value))")
    }

    static func describe(_ value: any TOMLValueConvertible) -> String {
        switch value.type {
        case .string: "the string \"\(value.string ?? "")\""
        case .int: "the integer \(value.int ?? 0)"
        case .double: "the number \(value.double ?? 0)"
        case .bool: "the boolean \(value.bool ?? false)"
        case .table: "a table"
        case .array: "an array"
        default: "a date or time"
        }
    }

    func string(_ key: String, required: Bool = false) -> String? {
        guard let value = value(key, required: required) else { return nil }
        guard let text = value.string else { wrongType(key, expected: "a string in quotes", found: value); return nil }
        return text
    }

    func bool(_ key: String) -> Bool? {
        guard let value = value(key, required: false) else { return nil }
        guard let flag = value.bool else { wrongType(key, expected: "true or false", found: value); return nil }
        return flag
    }

    func int(_ key: String, in range: ClosedRange<Int>, required: Bool = false) -> Int? {
        guard let value = value(key, required: required) else { return nil }
        guard let number = value.int else { wrongType(key, expected: "a whole number", found: value); return nil }
        guard range.contains(number) else {
            report(key, "\(number) is out of range; expected \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return number
    }

    func double(_ key: String, in range: ClosedRange<Double>? = nil, required: Bool = false) -> Double? {
        guard let value = value(key, required: required) else { return nil }
        guard let number = value.double ?? value.int.map(Double.init) else {
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
            guard let table = element.table else {
                diagnostics.report(elementPath, "expected a table, found \(Self.describe(element))")
                continue
            }
            readers.append(TOMLReader(table, path: elementPath, diagnostics: diagnostics))
        }
        return readers
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
}
