import Agent
import ArgumentParser
import FoundationEssentials
import Glibc

/// `lampctl spool …`: the spool of readings and events waiting for upstream.
struct SpoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool",
        abstract: "Inspect the spool of records waiting for upstream (asks the running lampd).",
        subcommands: [SpoolStatsCommand.self, SpoolExportCommand.self]
    )
}

/// `lampctl spool stats`: how much is waiting and what was dropped.
struct SpoolStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show pending, dropped and size counters of the spool."
    )

    @OptionGroup var options: DaemonOptions

    func run() async throws {
        let client = try await DaemonClient.connect(options)
        let stats = try await client.call("spool.stats")
        if options.output.json {
            print(Console.encode(stats))
            return
        }
        func n(_ key: String) -> String { Human.value(stats[key]) }
        let age = stats["oldestPendingAgeSeconds"]?.numberValue.map { Human.duration(seconds: $0) } ?? "-"
        let rows: [(String, String)] = [
            ("pending readings", n("pendingReadings")),
            ("pending events", n("pendingEvents")),
            ("pending alarms", n("pendingAlarms")),
            ("not yet on disk", n("bufferedRecords")),
            ("oldest pending", "\(age) (sequence \(n("oldestPendingSequence")))"),
            ("highest sequence", n("highestSequence")),
            ("used", "\(Human.bytes(stats["usedBytes"]?.double ?? 0)) of \(Human.bytes(stats["maxSizeBytes"]?.double ?? 0))"),
            ("files on disk", Human.bytes(stats["fileBytes"]?.double ?? 0)),
            ("dropped (spool full)", "\(n("droppedReadings")) readings, \(n("droppedEvents")) events, \(n("droppedAlarms")) alarms"),
            ("lost to write errors", n("lostToWriteErrors")),
            ("refused (backlog)", n("refusedRecords")),
        ]
        for (label, value) in rows { print(StatusCommand.pad(label, 22) + value) }
    }
}

/// `lampctl spool export`: pending records as SenML-JSON or CSV on stdout.
struct SpoolExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print pending records after a sequence number as SenML-JSON or CSV.",
        discussion: """
            Records stay in the spool (this only copies them). SenML-JSON is RFC 8428; \
            events appear as string records named event.<kind>. Redirect to a file: \
            lampctl spool export --format csv > spool.csv
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case senmlJSON = "senml-json"
        case csv
    }

    @Option(help: ArgumentHelp("Only records with a sequence number above this.", valueName: "seq"))
    var since: Int64 = 0

    @Option(help: "senml-json or csv.")
    var format: Format = .senmlJSON

    @Option(help: ArgumentHelp("Stop after this many records (default: all).", valueName: "n"))
    var limit: Int?

    @OptionGroup var options: DaemonOptions

    func validate() throws {
        guard ControlArgumentLimits.sequence.contains(since) else {
            throw ValidationError("--since must be a sequence number, 0 to \(ControlArgumentLimits.sequence.upperBound)")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
    }

    func run() async throws {
        let client = try await DaemonClient.connect(options)
        var after = since
        var remaining = limit ?? .max
        var senML: [JSONValue] = []
        var first = true
        while remaining > 0 {
            let page = try await client.call("spool.export", [
                "since": .number(Double(after)), "format": .string(format.rawValue),
                "limit": .number(Double(min(remaining, 1000))),
            ])
            remaining -= min(max(0, page["count"]?.int ?? 0), remaining)
            if format == .csv {
                if first { StandardStream.output.write((page["header"]?.string ?? "")) }
                StandardStream.output.write((page["rows"]?.string ?? ""))
            } else {
                senML += page["records"]?.array ?? []
            }
            first = false
            // A sequence number lampd sent: checked like any number from outside.
            guard page["more"]?.boolValue == true, let last = page["last"]?.numberValue,
                  let next = CheckedNumber.integer(last, in: ControlArgumentLimits.sequence), next > after else { break }
            after = next
        }
        if format == .senmlJSON {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
            // One record per line: readable, and still one valid JSON array.
            let records = senML.compactMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) }
            print(records.isEmpty ? "[]" : "[\n" + records.joined(separator: ",\n") + "\n]")
        }
    }
}
