import Agent
import ArgumentParser
import FoundationEssentials
import Glibc
import Lighting

/// `lampctl status`: is this pole healthy, and if not, why — on one screen.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the pole's health on one screen (asks the running lampd).",
        discussion: """
            Device, version, uptime, clock, spool depth, the latest meter readings and \
            cabinet contacts, and alarms. Exit code 1 when something needs attention \
            (an alarm is active, the clock is not synchronised, the spool drops records), \
            3 when lampd does not answer.
            """
    )

    @OptionGroup var options: DaemonOptions

    func run() async throws {
        let client = try await DaemonClient.connect(options)
        let status = try await client.call("status")
        if options.output.json {
            print(Console.encode(status))
        } else {
            for line in Self.render(status) { print(line) }
        }
        if status["healthy"]?.boolValue != true { throw LampctlExit.checkFailed }
    }

    /// The screen, at most 80 columns wide.
    static func render(_ status: JSONValue) -> [String] {
        var lines: [String] = []
        let healthy = status["healthy"]?.boolValue == true
        let title = "\(status["device"]?.string ?? "?")  lampd \(status["version"]?.string ?? "?") (\(status["board"]?.string ?? "?") board)"
        lines.append(pad(title, 66) + (healthy ? "     HEALTHY" : "   UNHEALTHY"))
        let clock = status["clockSynchronised"]?.boolValue == true ? "synchronised" : "NOT synchronised"
        lines.append("uptime \(Human.duration(seconds: status["uptimeSeconds"]?.double ?? 0))   clock \(clock)   \(status["time"]?.string ?? "")")
        lines.append("")

        if let lamp = status["lamp"], case .object = lamp {
            lines.append(String(printf: "Lamp      %.0f %%, decided by %@", lamp["levelPercent"]?.double ?? 0, lamp["source"]?.string ?? "?"))
            lines.append("          why: \(lamp["reason"]?.string ?? "?")")
            if let next = lamp["nextSwitch"]?.stringValue { lines.append("          next switch: \(next)") }
        }
        if let sun = status["sun"], case .object = sun {
            lines.append("Sun       \(sun["date"]?.string ?? ""): rises \(Human.clock(sun["sunrise"]?.string)), sets \(Human.clock(sun["sunset"]?.string)) UTC")
        }
        if status["lamp"] != nil || status["sun"] != nil { lines.append("") }

        let spool = status["spool"] ?? .null
        let oldest = spool["oldestPendingAgeSeconds"]?.numberValue.map { "oldest \(Human.duration(seconds: $0)) ago" } ?? "nothing pending"
        lines.append("Spool     \(spool["pendingReadings"]?.int ?? 0) readings, \(spool["pendingEvents"]?.int ?? 0) events, \(spool["pendingAlarms"]?.int ?? 0) alarms pending; \(oldest)")
        lines.append("          \(Human.bytes(spool["usedBytes"]?.double ?? 0)) of \(Human.bytes(spool["maxSizeBytes"]?.double ?? 0)) used; dropped \(spool["droppedReadings"]?.int ?? 0) readings, \(spool["droppedEvents"]?.int ?? 0) events, \(spool["droppedAlarms"]?.int ?? 0) alarms")
        lines.append("")

        if let uplink = status["uplink"], case .object = uplink {
            lines += uplinkLines(uplink)
            lines.append("")
        }

        let readings = status["readings"]?.array ?? []
        let contacts = readings.filter { $0["value"]?.boolValue != nil }
        let meters = readings.filter { $0["value"]?.boolValue == nil }
        lines.append("Readings" + (meters.isEmpty ? "  none yet" : ""))
        for reading in meters { lines.append(readingLine(reading)) }
        lines.append("Contacts" + (contacts.isEmpty ? "  none yet" : ""))
        for reading in contacts { lines.append(readingLine(reading)) }
        lines.append("")

        let active = status["activeAlarms"]?.array ?? []
        lines.append("Active alarms" + (active.isEmpty ? "  none" : ""))
        for alarm in active { lines.append(eventLine(alarm)) }
        let recent = status["recentAlarms"]?.array ?? []
        lines.append("Recent alarms" + (recent.isEmpty ? "  none since lampd started" : ""))
        for alarm in recent.suffix(5) { lines.append(eventLine(alarm)) }
        let problems = status["problems"]?.array ?? []
        if !problems.isEmpty {
            lines.append("")
            lines.append("Needs attention")
            for problem in problems { lines.append("  ! \(problem.string)") }
        }
        return lines.map { clip($0, 80) }
    }

    /// The uplink block of the status screen (also `lampctl sync now`'s answer).
    static func uplinkLines(_ uplink: JSONValue) -> [String] {
        var lines: [String] = []
        let last = uplink["lastSuccessfulUpload"]?.stringValue ?? "never"
        lines.append("Uplink    \(uplink["state"]?.string ?? "?"); last upload \(last)")
        var counts = "          \(uplink["batchesSent"]?.int ?? 0) batches, \(uplink["recordsSent"]?.int ?? 0) records since start; acknowledged seq \(uplink["acknowledgedSequence"]?.int ?? 0)"
        if let inFlight = uplink["inFlightSequence"]?.numberValue { counts += ", in flight \(CheckedNumber.clampedInteger(inFlight))" }
        lines.append(counts)
        var bytes = "          \(Human.bytes(uplink["bytesToday"]?.double ?? 0)) today"
        if let cap = uplink["maxBytesPerDay"]?.numberValue { bytes += " of \(Human.bytes(cap)) allowed" }
        lines.append(bytes + "  → \(uplink["url"]?.string ?? "?")")
        if let error = uplink["lastError"]?.stringValue {
            lines += LampCommand.Explain.wrap("          last error: \(error)")
        }
        return lines
    }

    static func readingLine(_ reading: JSONValue) -> String {
        let unit = reading["unit"]?.stringValue.map { " \($0)" } ?? ""
        let quality = (reading["quality"]?.array ?? []).map(\.string).filter { $0 != "clock-unsynchronised" }
        let age = "\(Human.duration(seconds: reading["ageSeconds"]?.double ?? 0)) ago"
        return "  " + pad(reading["channel"]?.string ?? "?", 30) + pad(Human.value(reading["value"]) + unit, 18) + age
            + (quality.isEmpty ? "" : "  " + quality.joined(separator: ","))
    }

    static func eventLine(_ event: JSONValue) -> String {
        "  \(Human.clock(event["time"]?.string))  \(event["message"]?.string ?? event["kind"]?.string ?? "")"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    static func clip(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }
}
