import ArgumentParser
import ControlProtocol
import FoundationEssentials
import Glibc
import Hardware
import Telemetry
import Clocks

/// `lampctl gpio …`: direct probes of GPIO lines.
struct GPIOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpio",
        abstract: "List, read, drive and watch GPIO lines directly.",
        discussion: """
            CHIP is a name (gpiochip0), a path (/dev/gpiochip0), a number (0) or a \
            label (pinctrl-bcm2835). The chip 'simulated' is the built-in simulated \
            board, available on any machine. LINE is an offset (17) or a line name \
            (LAMP_RELAY). Lines held by lampd are busy: stop the daemon first.
            """,
        subcommands: [GPIOListCommand.self, GPIOGetCommand.self, GPIOSetCommand.self, GPIOWatchCommand.self]
    )
}

/// Options shared by commands that request one line.
struct GPIOLineOptions: ParsableArguments {
    @Option(name: .long, help: "The chip: gpiochip0, /dev/gpiochip0, 0, a label, or 'simulated'.")
    var chip: String

    @Argument(help: "The line: an offset (17) or a name (CABINET_DOOR).")
    var line: String

    @Flag(name: .long, help: "Treat the line as active-low (1 = electrically low).")
    var activeLow = false

    @Option(name: .long, help: "Pull resistor: as-is, disabled, pull-up, pull-down (needs Linux 5.5+).")
    var bias: LineBias = .asIs

    var selector: GPIOLineSelector { GPIOLineSelector(line) }
}

extension LineBias: ExpressibleByArgument {}

/// Opens a chip by what the technician typed; `simulated` is the simulated board.
func openGPIOController(_ chip: String) async throws -> any GPIOController {
    if chip == SimulatedGPIOChip.standardBoardName { return SimulatedGPIOChip.standardBoard() }
    return try await GPIOChip.open(chip)
}

/// A line's identity for output.
struct GPIOLineReport: Encodable {
    var chip: String
    var offset: UInt32
    var name: String?
    var activeLow: Bool

    init(chip: String, info: GPIOLineInfo, activeLow: Bool) {
        self.chip = chip
        self.offset = info.offset
        self.name = info.name
        self.activeLow = activeLow
    }

    /// `gpiochip0:17 (CABINET_DOOR)`, plus `active-low` when set.
    var text: String {
        let place = name.map { "\(chip):\(offset) (\($0))" } ?? "\(chip):\(offset)"
        return activeLow ? "\(place) active-low" : place
    }
}

/// A duration typed on the command line: `500ms`, `5s`, `2m`, or plain seconds (`1.5`).
struct GPIODurationArgument: ExpressibleByArgument, CustomStringConvertible {
    let duration: Duration
    let text: String

    init?(argument: String) {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("", 1)]
        for unit in units where argument.hasSuffix(unit.suffix) {
            guard let number = Double(argument.dropLast(unit.suffix.count)), number.isFinite, number >= 0 else {
                continue
            }
            guard let duration = CheckedNumber.duration(seconds: number * unit.seconds, in: 0...86_400) else { return nil }
            self.duration = duration
            self.text = argument
            return
        }
        return nil
    }

    var description: String { text }
    var milliseconds: Int64 { duration.milliseconds }
}

/// Writes a line to stdout at once (so output piped to a file or `tee` is not held back).
func printNow(_ text: String) {
    print(text)
    fflush(nil)  // all C streams; avoids touching the global `stdout` from Swift 6
}
