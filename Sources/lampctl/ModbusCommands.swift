import ArgumentParser

/// `lampctl modbus …`: direct probes of Modbus devices.
struct ModbusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modbus",
        abstract: "Read, write and scan Modbus devices over TCP or RTU.",
        subcommands: []
    )
}
