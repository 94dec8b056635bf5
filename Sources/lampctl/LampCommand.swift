import ArgumentParser
import ControlProtocol
import FoundationEssentials
import Glibc
import Hardware
import Lighting
import TextFormatting

/// `lampctl lamp …`: the lamp, through the running lampd.
struct LampCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lamp",
        abstract: "Explain, override, release or test the lamp's level (asks the running lampd).",
        subcommands: [Explain.self, Set.self, Clear.self, Test.self]
    )

    /// `lampctl lamp explain`: why is this lamp at this level?
    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the lamp's level, why, and the next switch points.")

        @OptionGroup var options: DaemonOptions

        func run() async throws {
            let client = try await DaemonClient.connect(options)
            let answer = try await client.call(LampExplainRequest())
            if options.output.json {
                print(Console.encode(answer.json))
            } else {
                for line in Self.render(answer.value) { print(line) }
            }
        }

        /// The explanation, at most 80 columns wide.
        static func render(_ s: LightingSnapshot) -> [String] {
            var lines: [String] = []
            lines.append(String(printf: "lamp %.0f %% (target %.0f %%)", s.levelPercent, s.targetLevelPercent)
                + "   decided by: \(LampDecisionSource.words(s.source.rawValue))")
            lines += wrap("why: " + s.reason)
            if !s.clockSynchronised {
                lines.append("clock: NOT synchronised (schedule and overrides wait for NTP)")
            }
            var output = "output: " + s.outputDescription
            if let readBack = s.output {
                output += readBack.switchedOn ? String(printf: ", reads back on at %.0f %%", readBack.levelPercent) : ", reads back off"
            }
            lines += wrap(output)
            if let error = s.outputError { lines += wrap("OUTPUT ERROR: " + error) }
            if let override = s.override {
                var text = String(printf: "override: %.0f %%", Double(override.levelPercent))
                if let expiry = override.expiry { text += " until \(isoTime(expiry))" }
                if let reason = override.reason { text += " (\(reason))" }
                lines += wrap(text)
            } else {
                lines.append("override: none")
            }
            if let test = s.lampTest, test.state == .running {
                lines += wrap("lamp test: step \(test.step) of \(test.levelsPercent.count) by \(test.by) (`lampctl lamp clear` stops it)")
            }
            lines.append("faults: " + (s.activeFaults.isEmpty ? "none" : s.activeFaults.map(\.rawValue).joined(separator: ", ")))
            lines.append(String(printf: "counters: %.1f burning hours, %.0f switch-ons, %.2f kWh",
                                s.burnHours, Double(s.switchOnCount), s.energyWattHours / 1000))
            if !s.nextSwitches.isEmpty {
                lines.append("next switch points:")
                for item in s.nextSwitches.prefix(4) {
                    lines += wrap("  \(isoTime(item.at))  \(item.switchPoint)  \(item.note ?? "")")
                }
            }
            return lines
        }

        /// A time as lampd sends it (ISO 8601 UTC, whole seconds): `2026-12-06T03:00:00Z`.
        static func isoTime(_ date: Date) -> String {
            date.formatted(Date.ISO8601FormatStyle())
        }

        static func wrap(_ text: String, width: Int = 80) -> [String] {
            guard text.count > width else { return [text] }
            var lines: [String] = []
            var current = ""
            for word in text.split(separator: " ", omittingEmptySubsequences: false) {
                if !current.isEmpty && current.count + 1 + word.count > width {
                    lines.append(current)
                    current = "    " + word
                } else {
                    current += (current.isEmpty ? "" : " ") + word
                }
            }
            if !current.isEmpty { lines.append(current) }
            return lines
        }
    }

    /// `lampctl lamp set LEVEL --for DURATION`: a technician's override.
    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Override the lamp's level for a while, then return to the schedule.",
            discussion: """
                Needs root or membership of the operators group (lampd-operators). The \
                override always expires (default and maximum from the configuration's \
                [lighting] override policy), so a forgotten override cannot leave a \
                street dark. Recorded in the audit trail with your user name.
                Example: lampctl lamp set 30 --for 20m --reason "cable work"
                """)

        @Argument(help: "Level in percent, 0 (off) to 100.")
        var level: Int

        @Option(name: .customLong("for"), help: ArgumentHelp("How long, e.g. 20m or 2h.", valueName: "duration"))
        var duration: String?

        @Option(help: ArgumentHelp("Ramp time to the new level, e.g. 5s.", valueName: "duration"))
        var ramp: String?

        @Option(help: "Why, for the audit trail and `lamp explain`.")
        var reason: String?

        @OptionGroup var options: DaemonOptions

        /// `--for` and `--ramp` in seconds, checked against lampd's limits (a usage error, exit 2, if not).
        func seconds() throws -> (duration: Double?, ramp: Double?) {
            do {
                return (try duration.map { try ControlCommandLine.seconds($0, option: "--for", in: ControlArgumentLimits.overrideSeconds, example: "a duration such as 20m or 2h") },
                        try ramp.map { try ControlCommandLine.seconds($0, option: "--ramp", in: ControlArgumentLimits.rampSeconds, example: "a duration such as 5s") })
            } catch let error as CommandLineValueError {
                throw ValidationError(error.message)
            }
        }

        func validate() throws {
            guard (0...100).contains(level) else { throw ValidationError("LEVEL must be 0 to 100 (percent)") }
            _ = try seconds()
            if let reason, reason.count > ControlArgumentLimits.reasonCharacters {
                throw ValidationError("--reason: at most \(ControlArgumentLimits.reasonCharacters) characters")
            }
        }

        func run() async throws {
            let (duration, ramp) = try seconds()
            let request = LampSetRequest(level: level, forSeconds: duration, rampSeconds: ramp, reason: reason)
            let client = try await DaemonClient.connect(options)
            let answer = try await client.call(request)
            if options.output.json {
                print(Console.encode(answer.json))
            } else {
                let until = answer.value.expiry.map { " until \(Explain.isoTime($0))" } ?? ""
                print("lamp overridden to \(level) %\(until)")
            }
        }
    }

    /// `lampctl lamp clear`: back to the schedule.
    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the override: the schedule decides again at once.")

        @OptionGroup var options: DaemonOptions

        func run() async throws {
            let client = try await DaemonClient.connect(options)
            let answer = try await client.call(LampClearRequest())
            if options.output.json {
                print(Console.encode(answer.json))
            } else {
                print(answer.value.cleared ? "override removed: the schedule decides again" : "there was no override")
            }
        }
    }
}
