import ArgumentParser
import ControlProtocol
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

    /// `--since` as lampd's request: `since` (event number) or `sinceSeconds`, checked against lampd's limits.
    var firstRequest: EventsRequest {
        get throws {
            guard let since else { return EventsRequest() }
            do {
                return try ControlCommandLine.eventsSince(since)
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    func validate() throws {
        _ = try firstRequest
        guard ControlArgumentLimits.eventCount.contains(Int64(limit)) else {
            throw ValidationError("--limit must be 0 to \(ControlArgumentLimits.eventCount.upperBound)")
        }
    }

    func run() async throws {
        let client = try await DaemonClient.connect(options)
        var request = try firstRequest
        request.limit = Int64(limit)
        var answer = try await client.call(request).value
        show(answer.events)
        guard follow else { return }
        while true {
            try await Task.sleep(for: .seconds(1))
            answer = try await client.call(EventsRequest(since: answer.last, limit: 1000)).value
            show(answer.events)
        }
    }

    func show(_ events: [EventRecord]) {
        if options.output.json {
            // One object per line, so --follow output can be read as a stream.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for event in events {
                if let data = try? encoder.encode(event) { print(String(decoding: data, as: UTF8.self)) }
            }
        } else {
            for event in events {
                let mark = event.severity == "alarm" ? "ALARM" : event.severity == "warning" ? "warn " : "     "
                print(StatusCommand.clip("\(StatusCommand.pad(String(event.serial), 5))\(event.time)  \(mark) \(event.kind)  \(event.message)", 160))
            }
        }
        fflush(nil)  // all streams: with --follow into a pipe, show each event at once
    }
}
