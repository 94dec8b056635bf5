import Telemetry

/// Where sampled readings and events go: the spool in the daemon, a
/// recorder in tests. Recording never waits for the disk (the spool commits
/// in groups) and never throws: a sink that cannot keep a record reports
/// that itself (the spool counts it and raises an event).
public protocol TelemetrySink: Sendable {
    func record(_ reading: Reading)
    func record(_ event: Event)
}
