import Logging
import ServiceLifecycle
import Synchronization
import Telemetry

/// Runs the spool's group-commit loop as a service. On graceful shutdown it
/// stops last (the group stops services in reverse order) and commits what
/// is still buffered before lampd exits.
public struct SpoolService: Service {
    public let spool: Spool
    private let logger: Logger

    public init(spool: Spool, logger: Logger) {
        self.spool = spool
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await spool.run()
        }
        let highest = await spool.flush()
        logger.notice("spool flushed", metadata: ["highest-sequence": "\(highest)"])
    }
}

/// Sends sampled records to the spool without waiting for the disk.
///
/// A record the spool refuses (backlog full, or lampd shutting down) is
/// counted and logged, never silently lost: `refusedRecords` shows it, and
/// the spool's own counters show drops it made itself.
public final class SpoolSink: TelemetrySink {
    private let spool: Spool
    private let logger: Logger
    private let refused = Atomic<Int>(0)

    public init(spool: Spool, logger: Logger) {
        self.spool = spool
        self.logger = logger
    }

    /// Records the spool would not take since start.
    public var refusedRecords: Int { refused.load(ordering: .relaxed) }

    public func record(_ reading: Reading) { store(.reading(reading)) }
    public func record(_ event: Event) { store(.event(event)) }

    private func store(_ record: SpoolRecord) {
        do {
            try spool.enqueue(record)
        } catch {
            let count = refused.wrappingAdd(1, ordering: .relaxed).newValue
            // Log the first and then every thousandth, so a failing disk does not also fill the journal.
            if count == 1 || count % 1000 == 0 {
                logger.error("spool refused a record", metadata: ["error": "\(error.description)", "refused-so-far": "\(count)"])
            }
        }
    }
}
