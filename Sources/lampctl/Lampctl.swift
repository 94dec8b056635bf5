import ArgumentParser

/// `lampctl`: the field technician's command line tool.
@main
struct Lampctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lampctl",
        abstract: "Diagnose and control a lampd street-lamp controller.",
        discussion: """
            Probes GPIO lines and Modbus devices directly, without the daemon.

            Exit codes: 0 ok, 1 check failed or device error, 2 usage or \
            configuration error, 3 daemon unreachable.
            """,
        version: LampdVersion.string,
        subcommands: [GPIOCommand.self, ModbusCommand.self, AstroCommand.self]
    )
}

/// The version printed by `--version`.
enum LampdVersion {
    static let string = "0.1.0"
}
