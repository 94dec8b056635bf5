import Prometheus
import Uplink

/// What one lamp-ingest process counted since it started, served on `GET /metrics` in the
/// Prometheus text format (version 0.0.4; docs/lamp-ingest.md §7) by swift-prometheus's
/// `PrometheusCollectorRegistry`: batches accepted (stored or duplicate) and refused by reason,
/// gaps, the accept latency, and the store's pool.
///
/// Counters live in this process only: with several replicas, Prometheus scrapes each and sums.
public final class IngestMetrics: Sendable {
    /// Upper bounds of the accept-latency buckets (the last bucket, +Inf, is implied): 5 ms … 10 s,
    /// dense around the 500 ms a city's p99 must stay under (docs/performance.md, "Fleet simulator").
    public static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// The registry every metric of this process is in (another part of the server may add its own).
    public let registry = PrometheusCollectorRegistry()

    private let stored: Counter
    private let duplicateAnswers: Counter
    private let duplicates: Counter
    private let gaps: Counter
    private let refusedByReason: [IngestError.Code: Counter]
    private let acceptLatency: DurationHistogram
    private let poolGauges: PoolGauges?
    private let store: any BatchStore

    /// The pool's three gauges, refreshed from the store when scraped.
    private struct PoolGauges: Sendable {
        let size: Gauge
        let inUse: Gauge
        let waiting: Gauge
    }

    /// Metrics of a server in front of `store` (asked for its pool when scraped; a store without
    /// a pool, as SQLite's one connection, has no pool gauges).
    public init(store: any BatchStore) {
        self.store = store
        let accepted = (name: "lamp_ingest_batches_accepted_total",
                        help: "Batches answered 200, by status (stored, or duplicate of a stored one).")
        stored = registry.makeCounter(name: accepted.name, labels: [("status", "stored")], help: accepted.help)
        duplicateAnswers = registry.makeCounter(name: accepted.name, labels: [("status", "duplicate")], help: accepted.help)
        duplicates = registry.makeCounter(
            name: "lamp_ingest_duplicates_total", help: "Batches received again after they were stored (a lost acknowledgement).")
        gaps = registry.makeCounter(
            name: "lamp_ingest_gaps_total", help: "Stored batches whose predecessors in the chain had not arrived.")
        // Every reason listed from the start (0 if none), so a dashboard's rate() has a series to work on.
        var refused: [IngestError.Code: Counter] = [:]
        for code in IngestError.Code.allCases {
            refused[code] = registry.makeCounter(
                name: "lamp_ingest_batches_refused_total", labels: [("reason", code.rawValue)],
                help: "Batches refused, by reason (the error code of the answer).")
        }
        refusedByReason = refused
        acceptLatency = registry.makeDurationHistogram(
            name: "lamp_ingest_accept_seconds", buckets: Self.latencyBuckets,
            help: "Time from a batch request's start to its 200 answer (stored or duplicate).")
        poolGauges = store.pool.map { [registry] _ in
            PoolGauges(
                size: registry.makeGauge(
                    name: "lamp_ingest_pool_connections", help: "The most database connections this process opens (--pool-size)."),
                inUse: registry.makeGauge(
                    name: "lamp_ingest_pool_connections_in_use", help: "Database connections held by a store operation now."),
                waiting: registry.makeGauge(
                    name: "lamp_ingest_pool_waiting", help: "Store operations waiting for a connection now (all in use)."))
        }
    }

    /// Counts a batch answered 200 after `elapsed` (from the request's start to the answer).
    public func accepted(_ ack: BatchAcknowledgement, after elapsed: Duration) {
        switch ack.status {
        case .stored: stored.increment()
        case .duplicate:
            duplicateAnswers.increment()
            duplicates.increment()
        }
        if ack.gap != nil { gaps.increment() }
        acceptLatency.record(max(.zero, elapsed))
    }

    /// Counts a batch refused with `error`.
    public func refused(_ error: IngestError) {
        refusedByReason[error.reason]?.increment()
    }

    /// The exposition: every metric with `# HELP` and `# TYPE`, the pool gauges read from the store now.
    public func text() -> String {
        if let poolGauges, let pool = store.pool {
            poolGauges.size.set(Int64(pool.size))
            poolGauges.inUse.set(Int64(pool.inUse))
            poolGauges.waiting.set(Int64(pool.waiting))
        }
        return registry.emitToString()
    }

    /// The Prometheus text format's media type.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}
