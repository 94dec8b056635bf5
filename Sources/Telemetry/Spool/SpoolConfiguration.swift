/// How a `Spool` stores, commits and bounds its records.
public struct SpoolConfiguration: Sendable {
    /// Path of the SQLite file, e.g. `/var/lib/lampd/spool.sqlite`. Its folder must exist.
    public var path: String
    /// Upper bound for the live data in the spool file, in bytes. When a commit pushes the
    /// live data above it, the drop policy runs (see `Spool`). The WAL file comes on top,
    /// bounded by `walAutocheckpointPages` × `pageSizeBytes` (about 4 MiB by default).
    public var maxSizeBytes: Int64
    /// After a drop, the live data is brought down to this fraction of `maxSizeBytes`, so a
    /// full spool drops in occasional chunks instead of at every commit. 0 < value ≤ 1.
    public var dropTargetFraction: Double
    /// The telemetry commit window: longest time an enqueued reading waits for its group commit.
    /// Events, alarms and `append` do not wait for it (durability by class, see `Spool`); a power cut
    /// can cost up to this much of the latest readings.
    public var commitWindow: Duration
    /// The default telemetry commit window (chosen from the flash-wear measurements in docs/performance.md).
    public static let defaultTelemetryCommitWindow: Duration = .seconds(5)
    /// The range `[storage] telemetry_commit_window` accepts.
    public static let telemetryCommitWindowRange: ClosedRange<Duration> = .milliseconds(10)...(.seconds(60))
    /// A group is committed at once when this many records are waiting, before the window ends.
    public var commitBatchRecords: Int
    /// Most records allowed to wait in memory; `enqueue` throws `spool.backlog-full` beyond it.
    public var maxBufferedRecords: Int
    /// SQLite page size in bytes, used when the file is created (fixed afterwards).
    public var pageSizeBytes: Int
    /// WAL pages after which SQLite checkpoints the WAL into the main file.
    public var walAutocheckpointPages: Int
    /// Longest time between two updates of the spool's marker (`SpoolMarker`) after group commits; a
    /// commit that holds an alarm updates it at once. A loss at the end of the file (a damaged WAL) is
    /// detected for records committed before the marker's last update; each update is one small
    /// file write (flash wear: about 12 KiB a minute at the default).
    public var markerInterval: Duration

    /// - Parameters:
    ///   - path: the SQLite file.
    ///   - maxSizeMegabytes: bound for the live data, in MiB (1 MiB = 1 048 576 bytes).
    public init(
        path: String,
        maxSizeMegabytes: Double = 64,
        dropTargetFraction: Double = 0.9,
        commitWindow: Duration = Self.defaultTelemetryCommitWindow,
        commitBatchRecords: Int = 2048,
        maxBufferedRecords: Int = 200_000,
        pageSizeBytes: Int = 4096,
        walAutocheckpointPages: Int = 1000,
        markerInterval: Duration = .seconds(60)
    ) {
        self.path = path
        // Checked: at most 1 TiB, and a value that is not a positive number falls back to the default.
        let megabytes = maxSizeMegabytes.isFinite && maxSizeMegabytes > 0 ? min(maxSizeMegabytes, 1_048_576) : 64
        self.maxSizeBytes = Int64((megabytes * 1_048_576).rounded())
        self.dropTargetFraction = dropTargetFraction
        self.commitWindow = commitWindow
        self.commitBatchRecords = commitBatchRecords
        self.maxBufferedRecords = maxBufferedRecords
        self.pageSizeBytes = pageSizeBytes
        self.walAutocheckpointPages = walAutocheckpointPages
        self.markerInterval = markerInterval
    }
}
