import FoundationEssentials

/// When something was measured: UTC wall-clock time plus the monotonic time since boot.
///
/// `utcNanoseconds` is nanoseconds since 1970-01-01T00:00:00Z (CLOCK_REALTIME). It is only
/// trustworthy when `isClockSynchronised` is true: a board that has just booted without a
/// network (no NTP, no RTC battery) may believe it is 1970 or last week. `bootNanoseconds`
/// (CLOCK_BOOTTIME: monotonic, counts suspend) together with `bootID` (the kernel's
/// `/proc/sys/kernel/random/boot_id`) lets upstream place an unsynchronised reading later,
/// from any synchronised reading of the same boot.
public struct Timestamp: Hashable, Sendable {
    /// Wall-clock time in nanoseconds since the Unix epoch, UTC.
    public var utcNanoseconds: Int64
    /// CLOCK_BOOTTIME in nanoseconds: monotonic time since this boot.
    public var bootNanoseconds: Int64
    /// The kernel's random id of the current boot; all zeros when unknown.
    public var bootID: UUID
    /// False when the kernel says its clock is not synchronised (adjtimex: STA_UNSYNC / TIME_ERROR).
    public var isClockSynchronised: Bool

    public init(utcNanoseconds: Int64, bootNanoseconds: Int64, bootID: UUID, isClockSynchronised: Bool) {
        self.utcNanoseconds = utcNanoseconds
        self.bootNanoseconds = bootNanoseconds
        self.bootID = bootID
        self.isClockSynchronised = isClockSynchronised
    }

    /// The wall-clock time as a `Date` (only meaningful if `isClockSynchronised`).
    public var date: Date { Date(timeIntervalSince1970: Double(utcNanoseconds) / 1e9) }

    /// The latest wall-clock time a timestamp holds: 2262-04-11T23:47:16.854775807Z (`Int64.max`
    /// nanoseconds). A clock beyond it, or before 1970, is reported as unsynchronised (`SystemTimeSource`).
    public static let latestUTCNanoseconds = Int64.max

    /// The boot id used when the kernel's boot id cannot be read.
    public static let unknownBootID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
}
