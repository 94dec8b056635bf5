import Foundation
import Synchronization
import Uplink

/// What one lamp-ingest process counted since it started, served on `GET /metrics` in the
/// Prometheus text format (version 0.0.4; docs/lamp-ingest.md §7): batches accepted (stored or
/// duplicate) and refused by reason, gaps, the accept latency, and the store's pool.
///
/// Counters live in this process only: with several replicas, Prometheus scrapes each and sums.
public final class IngestMetrics: Sendable {
    /// Upper bounds of the accept-latency buckets, in seconds (the last bucket, +Inf, is implied).
    public static let latencyBucketsSeconds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct Counts {
        var stored = 0
        var duplicates = 0
        var gaps = 0
        var refused: [IngestError.Code: Int] = [:]
        /// Per bucket of `latencyBucketsSeconds`, accepted batches at or below it (not cumulative yet).
        var latencyBuckets = [Int](repeating: 0, count: IngestMetrics.latencyBucketsSeconds.count + 1)
        var latencySumSeconds = 0.0
    }

    private let counts = Mutex(Counts())
    private let store: any BatchStore

    /// Metrics of a server in front of `store` (asked for its pool when scraped).
    public init(store: any BatchStore) {
        self.store = store
    }

    /// Counts a batch answered 200 after `elapsed` (from the request's start to the answer).
    public func accepted(_ ack: BatchAcknowledgement, after elapsed: Duration) {
        let seconds = Self.seconds(elapsed)
        let bucket = Self.latencyBucketsSeconds.firstIndex { seconds <= $0 } ?? Self.latencyBucketsSeconds.count
        counts.withLock { counts in
            switch ack.status {
            case .stored: counts.stored += 1
            case .duplicate: counts.duplicates += 1
            }
            if ack.gap != nil { counts.gaps += 1 }
            counts.latencyBuckets[bucket] += 1
            counts.latencySumSeconds += seconds
        }
    }

    /// Counts a batch refused with `error`.
    public func refused(_ error: IngestError) {
        counts.withLock { $0.refused[error.reason, default: 0] += 1 }
    }

    /// The exposition: every metric with `# HELP` and `# TYPE`, every refusal reason listed (0 if none).
    public func text() -> String {
        let counts = counts.withLock { $0 }
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for sample in samples { lines.append("\(name)\(sample.labels) \(sample.value)") }
        }
        metric(
            "lamp_ingest_batches_accepted_total", "counter", "Batches answered 200, by status (stored, or duplicate of a stored one).",
            [("{status=\"stored\"}", "\(counts.stored)"), ("{status=\"duplicate\"}", "\(counts.duplicates)")])
        metric(
            "lamp_ingest_batches_refused_total", "counter", "Batches refused, by reason (the error code of the answer).",
            IngestError.Code.allCases.map { ("{reason=\"\(Self.escaped($0.rawValue))\"}", "\(counts.refused[$0] ?? 0)") })
        metric("lamp_ingest_duplicates_total", "counter", "Batches received again after they were stored (a lost acknowledgement).",
               [("", "\(counts.duplicates)")])
        metric("lamp_ingest_gaps_total", "counter", "Stored batches whose predecessors in the chain had not arrived.",
               [("", "\(counts.gaps)")])
        var cumulative = 0
        var buckets: [(labels: String, value: String)] = []
        for (index, count) in counts.latencyBuckets.enumerated() {
            cumulative += count
            let bound = index < Self.latencyBucketsSeconds.count ? "\(Self.latencyBucketsSeconds[index])" : "+Inf"
            buckets.append(("_bucket{le=\"\(bound)\"}", "\(cumulative)"))
        }
        lines.append("# HELP lamp_ingest_accept_seconds Time from a batch request's start to its 200 answer (stored or duplicate).")
        lines.append("# TYPE lamp_ingest_accept_seconds histogram")
        for bucket in buckets { lines.append("lamp_ingest_accept_seconds\(bucket.labels) \(bucket.value)") }
        lines.append("lamp_ingest_accept_seconds_sum \(counts.latencySumSeconds)")
        lines.append("lamp_ingest_accept_seconds_count \(cumulative)")
        if let pool = store.pool {
            metric("lamp_ingest_pool_connections", "gauge", "The most database connections this process opens (--pool-size).",
                   [("", "\(pool.size)")])
            metric("lamp_ingest_pool_connections_in_use", "gauge", "Database connections held by a store operation now.",
                   [("", "\(pool.inUse)")])
            metric("lamp_ingest_pool_waiting", "gauge", "Store operations waiting for a connection now (all in use).",
                   [("", "\(pool.waiting)")])
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The Prometheus text format's media type.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// A label value with `\`, `"` and newlines escaped as the text format requires.
    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return max(0, Double(seconds) + Double(attoseconds) / 1e18)
    }
}
