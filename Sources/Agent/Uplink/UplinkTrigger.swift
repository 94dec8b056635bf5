import Synchronization
import Telemetry

/// Asks the uplink to send now: an urgent event was recorded, or a technician ran
/// `lampctl sync now`. Made before the services, so every sink can hold it.
public final class UplinkTrigger: Sendable {
    let wakeup = Wakeup()
    /// Wakes the desired-state puller: after an acknowledged batch and on `sync now`.
    let pull = Wakeup()
    private let requests = Mutex((urgent: false, sync: 0, pullBytes: 0))

    public init() {}

    /// An alarm-severity event was recorded: send it at once (even over the daily byte cap).
    public func urgent() {
        requests.withLock { $0.urgent = true }
        wakeup.signal()
    }

    /// A technician asked for a send now; returns the request's number.
    func sync() -> Int {
        let number = requests.withLock { r -> Int in
            r.sync += 1
            return r.sync
        }
        wakeup.signal()
        pull.signal()
        return number
    }

    /// Bytes a desired-state pull exchanged: the uplink adds them to the day's byte budget.
    func addPullBytes(_ bytes: Int) {
        guard bytes > 0 else { return }
        requests.withLock { $0.pullBytes = $0.pullBytes.addingReportingOverflow(bytes).overflow ? Int.max : $0.pullBytes + bytes }
    }

    /// Pull bytes the uplink has not taken into its budget yet (`lampctl status` adds them).
    var pendingPullBytes: Int { requests.withLock { $0.pullBytes } }

    /// Takes the pull bytes not yet counted.
    func takePullBytes() -> Int {
        requests.withLock { r in
            defer { r.pullBytes = 0 }
            return r.pullBytes
        }
    }

    /// Takes the urgent flag (the loop then knows the spool holds an urgent record).
    func takeUrgent() -> Bool {
        requests.withLock { r in
            defer { r.urgent = false }
            return r.urgent
        }
    }

    /// The number of the latest sync request.
    var latestSync: Int { requests.withLock { $0.sync } }
}

/// Passes everything on, and pulls the uplink trigger for alarm-severity events (door opened,
/// lamp failure): those go upstream at once instead of at the next batch window.
public struct UrgentEventTap: TelemetrySink {
    let next: any TelemetrySink
    let trigger: UplinkTrigger

    public init(next: any TelemetrySink, trigger: UplinkTrigger) {
        self.next = next
        self.trigger = trigger
    }

    public func record(_ reading: Reading) { next.record(reading) }

    public func record(_ event: Event) {
        next.record(event)
        if event.severity == .alarm { trigger.urgent() }
    }
}
