import ArgumentParser
import ControlProtocol
import FoundationEssentials
import Glibc
import Hardware
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
            let answer = try await client.call(LampTestRequest(stepSeconds: stepSeconds))
            let started = answer.value
            let steps = started.levelsPercent.map { String($0) }
            let total = Double(steps.count) * stepSeconds
            if !options.output.json {
                print("lamp test: \(steps.joined(separator: " → ")) %, \(Human.value(.number(stepSeconds))) s each (\(Human.duration(seconds: total)))")
                print("`lampctl lamp clear` stops it")
            }
            if noWait {
                if options.output.json { print(Console.encode(answer.json)) }
                return
            }
            let final = try await follow(client, startedAt: started.startedAt)
            if options.output.json { print(Console.encode(final.json)) }
            if final.value.lampTest?.state != .finished { throw LampctlExit.checkFailed }
        }

        /// Prints each step as lampd shows it; returns the explanation once the test has ended.
        func follow(_ client: DaemonClient, startedAt: Date) async throws -> DaemonAnswer<LightingSnapshot> {
            var shown = 0
            while true {
                let answer = try await client.call(LampExplainRequest())
                let snapshot = answer.value
                guard let test = snapshot.lampTest, test.startedAt == startedAt else {
                    throw DaemonClient.report(UsageError(message: "lampd no longer shows this lamp test (restarted?)"), console: client.console)
                }
                let step = test.step
                if step > shown {
                    shown = step
                    if !options.output.json { print(Self.render(step: step, of: test.levelsPercent.count, snapshot)) }
                }
                if test.state != .running {
                    if !options.output.json {
                        if test.state == .finished {
                            print(String(printf: "done: back to the schedule — lamp %.0f %%, decided by %@",
                                         snapshot.targetLevelPercent, LampDecisionSource.words(snapshot.source.rawValue)))
                        } else {
                            for line in LampCommand.Explain.wrap("stopped at step \(step): \(test.endReason ?? test.state.rawValue)") { print(line) }
                        }
                    }
                    return answer
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }

        /// "step 2/6   25 %   output reads back on at 25 %".
        static func render(step: Int, of count: Int, _ snapshot: LightingSnapshot) -> String {
            var line = "step \(step)/\(count)  " + String(printf: "%3.0f %%", snapshot.targetLevelPercent)
            if let readBack = snapshot.output {
                line += readBack.switchedOn ? String(printf: "   output reads back on at %.0f %%", readBack.levelPercent) : "   output reads back off"
            }
            if snapshot.source != .override {
                line += "   (\(LampDecisionSource.words(snapshot.source.rawValue)))"
            }
            return line
        }
    }
}
