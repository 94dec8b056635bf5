import Foundation

/// The run's figures, as text or JSON.
struct FleetReport: Codable {
    var boards: Int
    var minutes: Int
    var seconds: Double
    var batchesPerSecond: Double
    var readingsPerSecond: Double
    var ackLatencyP50Milliseconds: Double?
    var ackLatencyP99Milliseconds: Double?
    var ackLatencyMaxMilliseconds: Double?
    var sent: Int
    var acknowledged: Int
    var duplicates: Int
    var refused: Int
    var retries: Int
    var gaps: Int
    var lostAcknowledgements: Int
    var maxLagSeconds: Double
    var expected: FleetPlan.Totals
    var stored: FleetPlan.Totals
    var refusals: [String]
    /// Desired-state pulls (with `--pull-every-minutes`): pulls, failed pulls, documents applied
    /// and refused; their events are in `expected` on top of `lamp-fleet plan`'s figures.
    var pulls: Int
    var pullFailures: Int
    var downlinkApplied: Int
    var downlinkRefused: Int
    /// When the batches carrying `downlink.applied` were acknowledged (seconds since 1970):
    /// first, median, 99th percentile and last.
    var appliedAcknowledgedFirstSeconds: Double?
    var appliedAcknowledgedP50Seconds: Double?
    var appliedAcknowledgedP99Seconds: Double?
    var appliedAcknowledgedLastSeconds: Double?

    init(plan: FleetPlan, counts: FleetCounts, seconds: Double, maxLagSeconds: Double) {
        let sorted = counts.latenciesMilliseconds.sorted()
        boards = plan.boards
        minutes = plan.minutes
        self.seconds = seconds
        batchesPerSecond = seconds > 0 ? Double(counts.acknowledged) / seconds : 0
        readingsPerSecond = seconds > 0 ? Double(counts.readingsAcknowledged) / seconds : 0
        ackLatencyP50Milliseconds = percentile(50, of: sorted)
        ackLatencyP99Milliseconds = percentile(99, of: sorted)
        ackLatencyMaxMilliseconds = sorted.last
        sent = counts.sent
        acknowledged = counts.acknowledged
        duplicates = counts.duplicates
        refused = counts.refused
        retries = counts.retries
        gaps = counts.gaps
        lostAcknowledgements = counts.lostAcknowledgements
        self.maxLagSeconds = maxLagSeconds
        expected = plan.expectedTotals()
        expected.events += counts.downlinkEvents
        pulls = counts.pulls
        pullFailures = counts.pullFailures
        downlinkApplied = counts.downlinkApplied
        downlinkRefused = counts.downlinkRefused
        let acknowledgedAt = counts.appliedAcknowledgedAtSeconds.sorted()
        appliedAcknowledgedFirstSeconds = acknowledgedAt.first
        appliedAcknowledgedP50Seconds = percentile(50, of: acknowledgedAt)
        appliedAcknowledgedP99Seconds = percentile(99, of: acknowledgedAt)
        appliedAcknowledgedLastSeconds = acknowledgedAt.last
        stored = FleetPlan.Totals(batches: counts.acknowledged, readings: counts.readingsAcknowledged, events: counts.eventsAcknowledged)
        refusals = counts.refusals
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    var text: String {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.1f ms", $0) } ?? "-" }
        var lines = [
            "\(boards) boards × \(minutes) simulated minutes in \(String(format: "%.1f", seconds)) s",
            String(format: "%.1f batches/s, %.1f readings/s acknowledged", batchesPerSecond, readingsPerSecond),
            "ack latency p50 \(ms(ackLatencyP50Milliseconds)), p99 \(ms(ackLatencyP99Milliseconds)), max \(ms(ackLatencyMaxMilliseconds))",
            "sent \(sent), acknowledged \(acknowledged), duplicates \(duplicates) (lost acks \(lostAcknowledgements)), refused \(refused), retries \(retries), gaps \(gaps)",
            String(format: "largest delay behind the simulated clock: %.2f s", maxLagSeconds),
            "stored records \(stored.records) of expected \(expected.records) (readings \(stored.readings)/\(expected.readings), events \(stored.events)/\(expected.events))",
        ]
        if pulls > 0 {
            lines.append("desired state: \(pulls) pulls (\(pullFailures) failed), \(downlinkApplied) documents applied, \(downlinkRefused) refused (their events counted in expected)")
        }
        lines += refusals.map { "refused: \($0)" }
        return lines.joined(separator: "\n")
    }
}
