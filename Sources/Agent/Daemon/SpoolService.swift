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
/// lampd creates it before the spool opens (light first: the lamp is commanded before the spool's
/// start-up check, which can take seconds on a slow card); records that arrive before `attach(_:)`
/// wait in memory, at most `maximumWaiting` of them, and go to the spool in order when it is attached.
///
/// A record the spool refuses (backlog full, or lampd shutting down) is
/// counted and logged, never silently lost: `refusedRecords` shows it, and
/// the spool's own counters show drops it made itself.
public final class SpoolSink: TelemetrySink {
    private struct State {
        var spool: Spool?
        var waiting: [SpoolRecord] = []
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let refused = Atomic<Int>(0)
    /// Most records kept in memory before the spool is attached; more are refused (and counted).
    public let maximumWaiting: Int

    /// A sink that keeps records until `attach(_:)`.
    public init(logger: Logger, maximumWaiting: Int = 10_000) {
        self.logger = logger
        self.maximumWaiting = maximumWaiting
    }

    /// A sink writing to `spool` from the start.
    public convenience init(spool: Spool, logger: Logger) {
        self.init(logger: logger)
        attach(spool)
    }

    /// Starts writing to `spool`, first the records that waited for it.
    public func attach(_ spool: Spool) {
        // Under the lock, so a record arriving meanwhile cannot overtake the waiting ones.
        state.withLock { state in
            state.spool = spool
            for record in state.waiting { enqueue(record, in: spool) }
            state.waiting = []
        }
    }

    /// Records the spool would not take since start.
    public var refusedRecords: Int { refused.load(ordering: .relaxed) }

    public func record(_ reading: Reading) { store(.reading(reading)) }
    public func record(_ event: Event) { store(.event(event)) }

    private func store(_ record: SpoolRecord) {
        let kept = state.withLock { state -> Bool in
            if let spool = state.spool {
                enqueue(record, in: spool)
                return true
            }
            guard state.waiting.count < maximumWaiting else { return false }
            state.waiting.append(record)
            return true
        }
        if !kept { countRefusal("the spool is not open yet and \(maximumWaiting) records are already waiting for it") }
    }

    private func enqueue(_ record: SpoolRecord, in spool: Spool) {
        do {
            try spool.enqueue(record)
        } catch {
            countRefusal(error.description)
        }
    }

    private func countRefusal(_ reason: String) {
        let count = refused.wrappingAdd(1, ordering: .relaxed).newValue
        // Log the first and then every thousandth, so a failing disk does not also fill the journal.
        if count == 1 || count % 1000 == 0 {
            logger.error("spool refused a record", metadata: ["error": "\(reason)", "refused-so-far": "\(count)"])
        }
    }
}
