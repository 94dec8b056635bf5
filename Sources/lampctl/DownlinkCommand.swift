import ArgumentParser
import ControlProtocol
import FoundationEssentials
import Glibc

/// `lampctl downlink apply FILE` and `lampctl downlink status`: the city's signed desired state.
struct DownlinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "downlink",
        abstract: "The city's signed desired state: apply a document, show what is applied (asks the running lampd).",
        subcommands: [Apply.self, Status.self]
    )

    /// The largest document file (a board refuses larger documents anyway; docs/downlink.md).
    static let maximumFileBytes = 32_768

    /// `lampctl downlink apply FILE`.
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a signed desired-state document and apply it if every check passes.",
            discussion: """
                FILE holds one COSE_Sign1 document (binary, as the city side publishes it). lampd \
                checks the signature against the pinned city keys, the key's role, the device id, \
                the version and the expiry; a refused document changes nothing and the exit code \
                is 1 with the named reason (e.g. downlink.notNewer). Recorded in the audit trail \
                and sent upstream as an event. Needs root or the operators group.
                """)

        @Argument(help: ArgumentHelp("The document file (at most 32 KiB).", valueName: "file"))
        var file: String

        @OptionGroup var options: DaemonOptions

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file): check the path and that you may read it")
            }
            guard data.count <= DownlinkCommand.maximumFileBytes else {
                throw ValidationError("\(file) has \(data.count) bytes; a desired-state document has at most \(DownlinkCommand.maximumFileBytes)")
            }
            let client = try await DaemonClient.connect(options)
            let answer = try await client.call(DownlinkApplyRequest(documentBase64: data.base64EncodedString()))
            if options.output.json {
                print(Console.encode(answer.json))
            } else {
                if let outcome = answer.value.lastOutcome { print("downlink: applied \(outcome.role ?? "") version \(outcome.version.map(String.init) ?? "?")") }
                for line in DownlinkCommand.lines(answer.value) { print(StatusCommand.clip(line, 80)) }
            }
        }
    }

    /// `lampctl downlink status`.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the applied desired-state documents, when they were fetched and applied, and the last refusal.")

        @OptionGroup var options: DaemonOptions

        func run() async throws {
            let client = try await DaemonClient.connect(options)
            let answer = try await client.call(DownlinkStatusRequest())
            if options.output.json {
                print(Console.encode(answer.json))
            } else {
                for line in DownlinkCommand.lines(answer.value) { print(StatusCommand.clip(line, 80)) }
            }
        }
    }

    /// The "City" block of `lampctl status` and `lampctl downlink status`.
    static func lines(_ status: DownlinkStatus) -> [String] {
        var lines: [String] = []
        if status.applied.isEmpty {
            lines.append("City      no desired state applied (the local schedule decides)")
        }
        for (index, applied) in status.applied.enumerated() {
            let head = index == 0 ? "City      " : "          "
            lines.append(head + "\(applied.role) v\(applied.version) (key \(applied.kid)): \(applied.summary)")
            lines.append("            fetched \(applied.fetchedAt.formatted(.iso8601)), applied \(applied.appliedAt.formatted(.iso8601))")
        }
        if let outcome = status.lastOutcome, outcome.outcome == "refused" {
            lines.append("          last refused: \(outcome.reason ?? "?") v\(outcome.version.map(String.init) ?? "?") at \(outcome.at.formatted(.iso8601)): \(outcome.message)")
        }
        if status.keysPinned == 0 || !status.keyProblems.isEmpty {
            lines.append("          keys: \(status.keysPinned) pinned in \(status.keysDirectory)" + (status.keyProblems.first.map { "; \($0)" } ?? ""))
        }
        return lines
    }
}
