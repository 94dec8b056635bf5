import Agent
import ArgumentParser
import ControlProtocol
import FoundationEssentials
import Glibc
import Lighting
import TextFormatting

extension LampCommand {
    /// `lampctl lamp test`: a visible ramp, then back to the program.
    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Step the lamp through 0, 25, 50, 75, 100 % and off, then back to the schedule.",
            discussion: """
                Each level is held --step-seconds (default 3), so someone at the pole \
                can see the lamp and its dimming work. lampd runs the test as short \
                overrides: the fail-safe still applies, `lampctl lamp clear` (or any \
                other override) stops it, and the schedule decides again at its end. \
                Needs root or the operators group (lampd-operators); audited. \
                Shows each step as it happens; exit 0 when the test ran to its end, \
                1 when it was stopped early.
                """)

        @Option(help: ArgumentHelp("Seconds each level is held, 1 to 60.", valueName: "seconds"))
        var stepSeconds: Double = LampTest.defaultStepSeconds

        @Flag(help: "Start the test and return at once, without showing its progress.")
        var noWait = false

        @OptionGroup var options: DaemonOptions

        func validate() throws {
            guard LampTest.stepSecondsRange.contains(stepSeconds) else {
                throw ValidationError("--step-seconds must be 1 to 60")
            }
        }

        func run() async throws {
            let client = try await DaemonClient.connect(options)
            let started = try await client.call(LampTestRequest(stepSeconds: stepSeconds)).value
            let steps = started["levelsPercent"]?.array.map { Human.value($0) } ?? []
            let total = Double(steps.count) * stepSeconds
            if !options.output.json {
                print("lamp test: \(steps.joined(separator: " → ")) %, \(Human.value(.number(stepSeconds))) s each (\(Human.duration(seconds: total)))")
                print("`lampctl lamp clear` stops it")
            }
            if noWait {
                if options.output.json { print(Console.encode(started)) }
                return
            }
            let final = try await follow(client, startedAt: started["startedAt"]?.stringValue)
            if options.output.json { print(Console.encode(final)) }
            if final["lampTest"]?["state"]?.stringValue != LampTest.State.finished.rawValue { throw LampctlExit.checkFailed }
        }

        /// Prints each step as lampd shows it; returns the explanation once the test has ended.
        func follow(_ client: DaemonClient, startedAt: String?) async throws -> JSONValue {
            var shown = 0
            while true {
                let snapshot = try await client.call(LampExplainRequest()).value
                guard let test = snapshot["lampTest"], test["startedAt"]?.stringValue == startedAt else {
                    throw DaemonClient.report(UsageError(message: "lampd no longer shows this lamp test (restarted?)"), console: client.console)
                }
                let step = test["step"]?.int ?? 0
                let state = test["state"]?.stringValue ?? "?"
                if step > shown {
                    shown = step
                    if !options.output.json { print(Self.render(step: step, of: test["levelsPercent"]?.array.count ?? 0, snapshot)) }
                }
                if state != LampTest.State.running.rawValue {
                    if !options.output.json {
                        if state == LampTest.State.finished.rawValue {
                            print(String(printf: "done: back to the schedule — lamp %.0f %%, decided by %@",
                                         snapshot["targetLevelPercent"]?.double ?? 0, LampDecisionSource.words(snapshot["source"]?.string ?? "?")))
                        } else {
                            for line in LampCommand.Explain.wrap("stopped at step \(step): \(test["endReason"]?.string ?? state)") { print(line) }
                        }
                    }
                    return snapshot
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }

        /// "step 2/6   25 %   output reads back on at 25 %".
        static func render(step: Int, of count: Int, _ snapshot: JSONValue) -> String {
            var line = "step \(step)/\(count)  " + String(printf: "%3.0f %%", snapshot["targetLevelPercent"]?.double ?? 0)
            if let readBack = snapshot["output"], let on = readBack["switchedOn"]?.boolValue {
                line += on ? String(printf: "   output reads back on at %.0f %%", readBack["levelPercent"]?.double ?? 0) : "   output reads back off"
            }
            if snapshot["source"]?.stringValue != DecisionSource.override.rawValue {
                line += "   (\(LampDecisionSource.words(snapshot["source"]?.string ?? "?")))"
            }
            return line
        }
    }
}
