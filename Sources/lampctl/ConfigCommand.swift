import ArgumentParser
import LampdConfig

/// `lampctl config …`: configuration files.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check lampd configuration files.",
        subcommands: [Check.self]
    )

    /// `lampctl config check FILE`: validates without touching hardware.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration file without touching hardware.",
            discussion: "Prints every problem as FILE:LINE:COLUMN: KEY: MESSAGE. Exit code 0 if valid, 2 if not."
        )

        @Argument(help: "The TOML file to check.")
        var file: String = "/etc/lampd/lampd.toml"

        @OptionGroup var output: OutputOptions

        struct Summary: Encodable {
            var valid: Bool
            var file: String
            var board: String?
            var deviceId: String?
            var modbusBuses: Int?
            var modbusDevices: Int?
            var channels: [String]?
            var errors: [Problem]?
        }

        struct Problem: Encodable {
            var line: Int?
            var column: Int?
            var key: String
            var message: String
        }

        func run() async throws {
            let console = Console(output)
            do {
                let configuration = try LampdConfiguration.load(path: file)
                let channels = configuration.modbusDevices.flatMap { $0.registers.map(\.channel) }
                    + configuration.gpioInputs.map(\.channel)
                console.emit(Summary(
                    valid: true, file: file, board: configuration.board.kind.rawValue,
                    deviceId: configuration.board.id, modbusBuses: configuration.modbusBuses.count,
                    modbusDevices: configuration.modbusDevices.count, channels: channels))
                console.line("\(file): valid")
                console.line("  board \(configuration.board.kind.rawValue), device id \(configuration.board.id)")
                console.line("  \(configuration.modbusBuses.count) Modbus bus(es), \(configuration.modbusDevices.count) device(s), \(configuration.gpioInputs.count) GPIO input(s), \(channels.count) channel(s)")
            } catch {
                console.emit(Summary(
                    valid: false, file: file,
                    errors: error.errors.map { Problem(line: $0.location.line, column: $0.location.column, key: $0.keyPath, message: $0.message) }))
                if !output.json {
                    for problem in error.errors { printError(problem.description) }
                    printError("\(file): \(error.errors.count) problem(s)")
                }
                throw LampctlExit.usage
            }
        }
    }
}
