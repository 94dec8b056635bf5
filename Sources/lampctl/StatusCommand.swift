import ArgumentParser
import ControlProtocol
import FoundationEssentials
import Glibc
import Lighting
import TextFormatting

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
        let status = try await client.call(StatusRequest())
        if options.output.json {
            print(Console.encode(status.json))
        } else {
            for line in Self.render(status.value) { print(line) }
        }
        if !status.value.healthy { throw LampctlExit.checkFailed }
    }

    /// The screen, at most 80 columns wide.
    static func render(_ status: StatusResult) -> [String] {
        var lines: [String] = []
        let title = "\(status.device)  lampd \(status.version) (\(status.board) board)"
        lines.append(pad(title, 66) + (status.healthy ? "     HEALTHY" : "   UNHEALTHY"))
        let clock = status.clockSynchronised ? "synchronised" : "NOT synchronised"
        lines.append("uptime \(Human.duration(seconds: status.uptimeSeconds))   clock \(clock)   \(status.time)")
        lines.append("")

        if let lamp = status.lamp {
            lines.append(String(printf: "Lamp      %.0f %%, decided by %@", lamp.levelPercent, LampDecisionSource.words(lamp.source)))
            lines.append("          why: \(lamp.reason)")
            if let next = lamp.nextSwitch {
                lines.append("          next switch: \(next.levelPercent) % at \(next.label) (\(next.time))")
            }
        }
        if let sun = status.sun {
            lines.append("Sun       \(sun.date): rises \(Human.clock(sun.sunrise)), sets \(Human.clock(sun.sunset)) UTC")
        }
        if status.lamp != nil || status.sun != nil { lines.append("") }

        let spool = status.spool
        let oldest = spool.oldestPendingAgeSeconds.map { "oldest \(Human.duration(seconds: $0)) ago" } ?? "nothing pending"
        lines.append("Spool     \(spool.pendingReadings) readings, \(spool.pendingEvents) events, \(spool.pendingAlarms) alarms pending; \(oldest)")
        lines.append("          \(Human.bytes(Double(spool.usedBytes))) of \(Human.bytes(Double(spool.maxSizeBytes))) used; dropped \(spool.droppedReadings) readings, \(spool.droppedEvents) events, \(spool.droppedAlarms) alarms")
        lines.append("")

        if let uplink = status.uplink {
            lines += uplinkLines(uplink)
            lines.append("")
        }
        if let downlink = status.downlink {
            lines += DownlinkCommand.lines(downlink)
            lines.append("")
        }

        // A contact whose module does not answer reads "unknown": still a contact.
        let isContact = { (reading: ReadingRecord) in reading.value.boolValue != nil || reading.value.stringValue == "unknown" }
        let contacts = status.readings.filter(isContact)
        let meters = status.readings.filter { !isContact($0) }
        lines.append("Readings" + (meters.isEmpty ? "  none yet" : ""))
        for reading in meters { lines.append(readingLine(reading)) }
        lines.append("Contacts" + (contacts.isEmpty ? "  none yet" : ""))
        for reading in contacts { lines.append(readingLine(reading)) }
        lines.append("")

        lines.append("Active alarms" + (status.activeAlarms.isEmpty ? "  none" : ""))
        for alarm in status.activeAlarms { lines.append(eventLine(alarm)) }
        lines.append("Recent alarms" + (status.recentAlarms.isEmpty ? "  none since lampd started" : ""))
        for alarm in status.recentAlarms.suffix(5) { lines.append(eventLine(alarm)) }
        if let notes = status.notes, !notes.isEmpty {
            lines.append("")
            lines.append("Notes")
            for note in notes { lines += LampCommand.Explain.wrap("  - \(note)") }
        }
        if !status.problems.isEmpty {
            lines.append("")
            lines.append("Needs attention")
            for problem in status.problems { lines.append("  ! \(problem)") }
        }
        return lines.map { clip($0, 80) }
    }

    /// The uplink block of the status screen (also `lampctl sync now`'s answer).
    static func uplinkLines(_ uplink: UplinkStatus) -> [String] {
        var lines: [String] = []
        lines.append("Uplink    \(uplink.state); last upload \(uplink.lastSuccessfulUpload ?? "never")")
        var counts = "          \(uplink.batchesSent) batches, \(uplink.recordsSent) records since start; acknowledged seq \(uplink.acknowledgedSequence)"
        if let inFlight = uplink.inFlightSequence { counts += ", in flight \(inFlight)" }
        lines.append(counts)
        var bytes = "          \(Human.bytes(Double(uplink.bytesToday))) today"
        if let cap = uplink.maxBytesPerDay { bytes += " of \(Human.bytes(Double(cap))) allowed" }
        lines.append(bytes + "  → \(uplink.url)")
        if let error = uplink.lastError {
            lines += LampCommand.Explain.wrap("          last error: \(error)")
        }
        return lines
    }

    static func readingLine(_ reading: ReadingRecord) -> String {
        let unit = reading.unit.map { " \($0)" } ?? ""
        let quality = reading.quality.filter { $0 != "clock-unsynchronised" }
        let age = "\(Human.duration(seconds: reading.ageSeconds)) ago"
        return "  " + pad(reading.channel, 30) + pad(Human.value(reading.value) + unit, 18) + age
            + (quality.isEmpty ? "" : "  " + quality.joined(separator: ","))
    }

    static func eventLine(_ event: EventRecord) -> String {
        "  \(Human.clock(event.time))  \(event.message.isEmpty ? event.kind : event.message)"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    static func clip(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }
}
