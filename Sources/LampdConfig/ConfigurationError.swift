import SystemSupport

/// A problem in a configuration file, located as `file:line:column` so an
/// installer's editor can jump to it.
public struct ConfigurationError: ActionableError, Hashable {
    /// Stable code (`ActionableError`); lampd raises the `config.invalid` alarm for it.
    public var code: String { "config.invalid" }

    /// Where the problem is. `line`/`column` are 1-based; `nil` when the
    /// problem is the absence of something (a missing key has no line).
    public struct Location: Sendable, Hashable {
        public var file: String
        public var line: Int?
        public var column: Int?
    }

    public var location: Location
    /// Dotted key path, e.g. `modbus.devices[0].unit`; empty for syntax errors.
    public var keyPath: String
    /// What is wrong and what to write instead.
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, keyPath: String, message: String) {
        self.location = Location(file: file, line: line, column: column)
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        var place = location.file
        if let line = location.line {
            place += ":\(line)"
            if let column = location.column { place += ":\(column)" }
        }
        let key = keyPath.isEmpty ? "" : "\(keyPath): "
        return "\(place): \(key)\(message)"
    }
}

/// All the problems found in one configuration file.
public struct ConfigurationErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigurationError]

    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
