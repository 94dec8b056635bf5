import ArgumentParser
import FoundationEssentials
import Glibc
import Hardware
import Telemetry
import Clocks

/// `lampctl gpio watch --chip C LINE`: prints edges as they happen.
struct GPIOWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print edges on one GPIO line with kernel timestamps.",
        discussion: """
            Runs until Ctrl-C, --count edges, or --timeout, then prints how many edges it saw \
            (exit 0 in all three cases). Timestamps are seconds of CLOCK_MONOTONIC (time since \
            boot), as the kernel stamps them. A line without an interrupt (the kernel refuses \
            edge events on it) is read every --poll-interval instead, and the command says so \
            once; its edges are stamped when a read saw them. With --json, prints one JSON \
            object per edge, one per line, and a last {"summary": …} object. The simulated chip has no \
            outside signal: use --simulate-toggles N to have it toggle the line N times \
            (every 100 ms) so the command can be tried anywhere.
            """
    )

    @OptionGroup var lineOptions: GPIOLineOptions

    @Option(name: .long, help: "Stop after this many edges.")
    var count: Int?

    @Option(name: .long, help: "Stop after this long in total: 500ms, 10s, 2m.")
    var timeout: GPIODurationArgument?

    @Option(name: .long, help: "Simulated chip only: toggle the line this many times, every 100 ms.")
    var simulateToggles: Int?

    @Option(name: .long, help: "For a line without an interrupt: how often to read it, 10ms to 10s.")
    var pollInterval = GPIODurationArgument(argument: "100ms")!

    @OptionGroup var output: OutputOptions

    struct EdgeReport: Encodable {
        var line: GPIOLineReport
        var edge: EdgeEvent.Edge
        var value: Int
        var monotonicNanoseconds: UInt64
    }

    /// The last JSON line: how the watch ended.
    struct SummaryReport: Encodable {
        struct Summary: Encodable {
            var line: GPIOLineReport
            var edges: Int
            /// True when Ctrl-C ended the watch.
            var interrupted: Bool
            /// Set when the line was polled (no interrupt): the period in milliseconds.
            var polledEveryMilliseconds: Int64?
        }
        var summary: Summary
    }

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be 1 or more.") }
        guard pollInterval.duration >= .milliseconds(10), pollInterval.duration <= .seconds(10) else {
            throw ValidationError("--poll-interval must be between 10ms and 10s.")
        }
        if let simulateToggles {
            guard simulateToggles >= 0 else { throw ValidationError("--simulate-toggles must be 0 or more.") }
            guard lineOptions.chip == SimulatedGPIOChip.standardBoardName else {
                throw ValidationError("--simulate-toggles works only with --chip simulated.")
            }
        }
    }

    func run() async throws {
        let console = Console(output)
        do {
            let chip = try await openGPIOController(lineOptions.chip)
            let info = try await chip.lineInfo(lineOptions.selector)
            let line = GPIOLineReport(chip: chip.name, info: info, activeLow: lineOptions.activeLow)
            let watched = try await chip.requestEdgesOrPolling(
                lineOptions.selector, activeLow: lineOptions.activeLow, bias: lineOptions.bias,
                consumer: GPIOConsumer.cli, pollInterval: pollInterval.duration)
            let source = watched.source
            if watched.polledBecause != nil {
                let note = "\(line.text): \(GPIOError.noInterruptText), polling instead (every \(pollInterval))"
                if output.json { printError("lampctl: \(note)") } else { printNow(note) }
            }
            let stimulus = startSimulatedToggles(chip)
            defer { stimulus?.cancel() }

            let deadline = timeout.map { ContinuousClock.now + $0.duration }
            if !output.json {
                let until = [count.map { "\($0) edges" }, timeout.map { "\($0)" }].compactMap { $0 }
                let stop = until.isEmpty ? "Ctrl-C" : until.joined(separator: " or ")
                printNow("watching \(line.text) = \(try await source.read() ? 1 : 0) until \(stop)")
            }
            let (count, json) = (self.count, output.json)
            let (outcome, interrupted) = try await GPIOInterrupt.run { () async throws -> WatchOutcome in
                var seen = 0
                do {
                    while count.map({ seen < $0 }) ?? true {
                        var wait = Duration.seconds(1)
                        if let deadline {
                            let left = deadline - ContinuousClock.now
                            if left <= .zero { break }
                            wait = min(wait, left)
                        }
                        guard let event = try await source.waitForEdge(timeout: wait) else { continue }
                        seen += 1
                        Self.printEdge(event, on: line, json: json)
                    }
                } catch is CancellationError {
                    // Ctrl-C: stop here and report what was seen.
                } catch {
                    return WatchOutcome(seen: seen, error: error)
                }
                return WatchOutcome(seen: seen, error: nil)
            }
            if output.json {
                printNow(Self.compactJSON(SummaryReport(summary: .init(
                    line: line, edges: outcome.seen, interrupted: interrupted,
                    polledEveryMilliseconds: watched.pollInterval?.milliseconds))))
            } else {
                printNow("\(outcome.seen) edge\(outcome.seen == 1 ? "" : "s") seen\(interrupted ? " (stopped by Ctrl-C)" : "")")
            }
            if let error = outcome.error { throw error }
        } catch {
            throw console.fail(error)
        }
    }

    /// How the watch loop ended: the edges it printed, and the error that stopped it, if any.
    struct WatchOutcome: Sendable {
        var seen: Int
        var error: (any Error)?
    }

    /// Prints one edge as a text line or a JSON line.
    static func printEdge(_ event: EdgeEvent, on line: GPIOLineReport, json: Bool) {
        let report = EdgeReport(
            line: line, edge: event.edge, value: event.valueAfter ? 1 : 0,
            monotonicNanoseconds: event.monotonicNanoseconds)
        if json {
            printNow(compactJSON(report))
        } else {
            printNow("\(seconds(event.monotonicNanoseconds))  \(pad(event.edge.rawValue))  \(report.value)")
        }
    }

    /// On the simulated chip, toggles the line as asked, in the background.
    private func startSimulatedToggles(_ chip: any GPIOController) -> Task<Void, Never>? {
        guard let simulateToggles, simulateToggles > 0, let simulated = chip as? SimulatedGPIOChip else { return nil }
        let selector = lineOptions.selector
        return Task {
            for _ in 0..<simulateToggles {
                try? await Task.sleep(for: .milliseconds(100))
                try? simulated.toggle(selector)
            }
        }
    }

    /// `12345.678901234` seconds, right-aligned.
    static func seconds(_ nanoseconds: UInt64) -> String {
        let fraction = String(nanoseconds % 1_000_000_000)
        let text = "\(nanoseconds / 1_000_000_000).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
        return String(repeating: " ", count: max(0, 18 - text.count)) + text
    }

    static func pad(_ text: String) -> String { text + String(repeating: " ", count: max(0, 7 - text.count)) }

    /// One JSON object on one line (JSON Lines), keys sorted.
    static func compactJSON(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
