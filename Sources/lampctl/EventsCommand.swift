import Agent
import ArgumentParser
import FoundationEssentials
import Glibc

/// `lampctl events`: what happened recently (door, mains, faults, audit), from lampd's memory.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show recent events, oldest first (asks the running lampd).",
        discussion: """
            lampd keeps the last 200 events since it started in memory; older ones are \
            in the spool (lampctl spool export) and upstream. --since takes an event \
            number (as printed in the first column) or an age such as 30s, 10m, 2h. \
            --follow prints new events as they happen until Ctrl-C.
            """
    )

    @Option(help: ArgumentHelp("Only events after this number, or younger than this age (30s, 10m, 2h).", valueName: "n|age"))
    var since: String?

    @Option(help: ArgumentHelp("At most this many (the newest).", valueName: "n"))
    var limit: Int = 50

    @Flag(help: "Keep printing new events (polls every second) until Ctrl-C.")
    var follow = false

    @OptionGroup var options: DaemonOptions

    /// `--since` as lampd's arguments: `since` (event number) or `sinceSeconds`, checked against lampd's limits.
    var sinceArguments: [String: JSONValue] {
        get throws {
            guard let since else { return [:] }
            do {
                return try ControlCommandLine.eventsSince(since)
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    func validate() throws {
        _ = try sinceArguments
        guard ControlArgumentLimits.eventCount.contains(Int64(limit)) else {
            throw ValidationError("--limit must be 0 to \(ControlArgumentLimits.eventCount.upperBound)")
        }
    }

    func run() async throws {
        let client = try await DaemonClient.connect(options)
        var arguments = try sinceArguments
        arguments["limit"] = .number(Double(limit))
        var answer = try await client.call("events", arguments)
        show(answer["events"]?.array ?? [])
        guard follow else { return }
        while true {
            try await Task.sleep(for: .seconds(1))
            let last = answer["last"]?.numberValue ?? 0
            answer = try await client.call("events", ["since": .number(last), "limit": .number(1000)])
            show(answer["events"]?.array ?? [])
        }
    }

    func show(_ events: [JSONValue]) {
        if options.output.json {
            // One object per line, so --follow output can be read as a stream.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for event in events {
                if let data = try? encoder.encode(event) { print(String(decoding: data, as: UTF8.self)) }
            }
        } else {
            for event in events {
                let severity = event["severity"]?.string ?? ""
                let mark = severity == "alarm" ? "ALARM" : severity == "warning" ? "warn " : "     "
                print(StatusCommand.clip("\(StatusCommand.pad(Human.value(event["serial"]), 5))\(event["time"]?.string ?? "")  \(mark) \(event["kind"]?.string ?? "")  \(event["message"]?.string ?? "")", 160))
            }
        }
        fflush(nil)  // all streams: with --follow into a pipe, show each event at once
    }
}
