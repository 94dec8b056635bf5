import ArgumentParser

/// `lampctl gpio …`: direct probes of GPIO lines.
struct GPIOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpio",
        abstract: "List, read, drive and watch GPIO lines directly.",
        subcommands: []
    )
}
