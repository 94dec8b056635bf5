import ArgumentParser
import Hardware
import Logging

/// `lampd`: the street-lamp controller agent.
@main
struct Lampd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lampd",
        abstract: "Run the lampd street-lamp controller agent."
    )

    @Option(help: "Configuration file.")
    var config: String = "/etc/lampd/lampd.toml"

    @Flag(help: "Run on the built-in simulated board (any Linux machine).")
    var simulate = false

    func run() async throws {
        let logger = Logger(label: "lampd")
        logger.info("lampd starting", metadata: ["simulate": "\(simulate)"])
    }
}
