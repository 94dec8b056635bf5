/// Which line of a chip a caller means: an offset, or the name the board's
/// device tree gives it (`LAMP_RELAY`, `GPIO17`).
///
/// Line names are case-sensitive and, on real chips, not guaranteed unique:
/// the first line with the name wins (libgpiod's rule).
public enum GPIOLineSelector: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The line's offset on its chip, 0-based.
    case offset(UInt32)
    /// The line's name as the kernel reports it.
    case name(String)

    /// Parses what a technician types: only digits means an offset, anything
    /// else a line name.
    public init(_ text: String) {
        if !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), let offset = UInt32(text) {
            self = .offset(offset)
        } else {
            self = .name(text)
        }
    }

    public var description: String {
        switch self {
        case .offset(let offset): "\(offset)"
        case .name(let name): name
        }
    }
}

/// Which way a line is configured.
public enum GPIOLineDirection: String, Sendable, Hashable, Codable {
    case input
    case output
}

/// What the kernel reports about one line of a chip, for `lampctl gpio list`.
public struct GPIOLineInfo: Sendable, Hashable, Codable {
    /// Offset on the chip, 0-based.
    public var offset: UInt32
    /// Name from the device tree, `nil` when the line is unnamed.
    public var name: String?
    public var direction: GPIOLineDirection
    /// `true` when the line is configured active-low (logical 1 = electrically low).
    public var activeLow: Bool
    public var bias: LineBias
    /// `true` when some consumer (a process or a kernel driver) holds the line.
    public var used: Bool
    /// Who holds the line (`lampd`, `lampctl`, a kernel driver), when it is used and named.
    public var consumer: String?

    public init(
        offset: UInt32, name: String?, direction: GPIOLineDirection, activeLow: Bool,
        bias: LineBias, used: Bool, consumer: String?
    ) {
        self.offset = offset
        self.name = name
        self.direction = direction
        self.activeLow = activeLow
        self.bias = bias
        self.used = used
        self.consumer = consumer
    }
}

/// What the kernel reports about one GPIO chip (controller) and its lines.
public struct GPIOChipInfo: Sendable, Hashable, Codable {
    /// Kernel name, e.g. `gpiochip0` (or `simulated`).
    public var name: String
    /// Driver label, e.g. `pinctrl-bcm2835`.
    public var label: String
    public var lineCount: Int
    public var lines: [GPIOLineInfo]

    public init(name: String, label: String, lineCount: Int, lines: [GPIOLineInfo]) {
        self.name = name
        self.label = label
        self.lineCount = lineCount
        self.lines = lines
    }
}

/// How a line is named in messages: `gpiochip0:17 (LAMP_RELAY)`.
func gpioLineDescription(chip: String, offset: UInt32, name: String?) -> String {
    if let name, !name.isEmpty { return "\(chip):\(offset) (\(name))" }
    return "\(chip):\(offset)"
}
