import ArgumentParser
import ControlProtocol
import FoundationEssentials
import Glibc
import SystemSupport
import Telemetry

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
        let answer = try await client.call(SpoolStatsRequest())
        if options.output.json {
            print(Console.encode(answer.json))
            return
        }
        let stats = answer.value
        let age = stats.oldestPendingAgeSeconds.map { Human.duration(seconds: $0) } ?? "-"
        let rows: [(String, String)] = [
            ("pending readings", "\(stats.pendingReadings)"),
            ("pending events", "\(stats.pendingEvents)"),
            ("pending alarms", "\(stats.pendingAlarms)"),
            ("not yet on disk", "\(stats.bufferedRecords)"),
            ("oldest pending", "\(age) (sequence \(stats.oldestPendingSequence.map(String.init) ?? "-"))"),
            ("highest sequence", "\(stats.highestSequence)"),
            ("used", "\(Human.bytes(Double(stats.usedBytes))) of \(Human.bytes(Double(stats.maxSizeBytes)))"),
            ("files on disk", Human.bytes(Double(stats.fileBytes))),
            ("dropped (spool full)", "\(stats.droppedReadings) readings, \(stats.droppedEvents) events, \(stats.droppedAlarms) alarms"),
            ("lost to write errors", "\(stats.lostToWriteErrors)"),
            ("refused (backlog)", "\(stats.refusedRecords)"),
        ]
        for (label, value) in rows { print(StatusCommand.pad(label, 22) + value) }
    }
}

/// `lampctl spool export`: pending records as SenML-JSON or CSV on stdout.
struct SpoolExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print pending records since a sequence number or a time as SenML-JSON or CSV.",
        discussion: """
            Records stay in the spool (this only copies them). SenML-JSON is RFC 8428, \
            named as upstream names them (docs/uplink.md). --since 250 starts after \
            sequence number 250; --since 10m or --since 2026-12-06T03:00:00Z with the \
            records taken since then (a bare number is always a sequence number). \
            Redirect to a file: lampctl spool export --format csv > spool.csv
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case senmlJSON = "senml-json"
        case csv
    }

    @Option(help: ArgumentHelp("Only records after this sequence number (250), or taken since this age (10m, 2h) or UTC time (2026-12-06T03:00:00Z).",
                               valueName: "seq|age|time"))
    var since: String?

    @Option(help: "senml-json or csv.")
    var format: Format = .senmlJSON

    @Option(help: ArgumentHelp("Stop after this many records (default: all).", valueName: "n"))
    var limit: Int?

    @OptionGroup var options: DaemonOptions

    /// `--since` as the first page's request, checked against lampd's limits (a usage error, exit 2, if not).
    var firstPage: SpoolExportRequest {
        get throws {
            guard let since else { return SpoolExportRequest(since: 0) }
            do { return try ControlCommandLine.spoolExportSince(since) } catch { throw ValidationError(error.message) }
        }
    }

    func validate() throws {
        _ = try firstPage
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
    }

    func run() async throws {
        let client = try await DaemonClient.connect(options)
        var request = try firstPage
        request.format = format.rawValue
        var remaining = limit ?? .max
        var senML: [JSONValue] = []
        var first = true
        while remaining > 0 {
            request.limit = min(remaining, 1000)
            let page = try await client.call(request).value
            remaining -= min(max(0, page.count), remaining)
            if format == .csv {
                if first { StandardStream.output.write(page.header ?? "") }
                StandardStream.output.write(page.rows ?? "")
            } else {
                senML += page.records ?? []
            }
            first = false
            // A sequence number lampd sent: checked like any number from outside.
            guard page.more, let next = page.last, ControlArgumentLimits.sequence.contains(next), next > request.since ?? 0 else { break }
            request.since = next
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
