/// The counters a technician (`lampctl status`) and upstream need to judge the spool.
public struct SpoolStatistics: Hashable, Sendable {
    /// Readings stored and not yet acknowledged by upstream.
    public var pendingReadings: Int
    /// Events (info and warning) stored and not yet acknowledged.
    public var pendingEvents: Int
    /// Alarms stored and not yet acknowledged.
    public var pendingAlarms: Int
    /// Records accepted by `enqueue`/`append` but not yet committed (lost on a power cut). Sampled a
    /// moment before the other counts: a group commit in between may count a record here and in
    /// the pending counts.
    public var bufferedRecords: Int
    /// Age of the oldest pending record, from the monotonic clock when it was taken in this
    /// boot, else from wall-clock time; nil when nothing is pending.
    public var oldestPendingAge: Duration?
    /// Sequence number of the oldest pending record, nil when nothing is pending.
    public var oldestPendingSequence: Int64?
    /// Highest sequence number committed so far (0 if none), read in the same database snapshot as
    /// the pending counts.
    public var highestSequence: Int64
    /// Live data in the main file: (pages − free pages) × page size, in bytes. Bounded by `maxSizeBytes`.
    public var usedBytes: Int64
    /// The configured bound for `usedBytes`.
    public var maxSizeBytes: Int64
    /// Size of the spool's files on disk (main file + WAL + shared-memory index), in bytes.
    public var fileBytes: Int64
    /// Records dropped by the full-spool policy since the spool file was created, per class.
    public var droppedRecords: [SpoolRecordClass: Int64]
    /// Records lost because their group commit failed (disk error) since this process opened the spool.
    public var recordsLostToWriteErrors: Int64
    /// Bytes this process caused to be written to storage since the spool was opened: the delta of
    /// `write_bytes` in `/proc/self/io` (whole process, counted by the kernel in 4 KiB pages as they
    /// are dirtied). nil where /proc is unavailable.
    public var bytesWrittenSinceStart: Int64?
}
