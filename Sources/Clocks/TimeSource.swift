import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Where readings, events and the spool get the current time from; inject a fake in tests
/// (for example one that reports an unsynchronised clock, or a fixed time).
public protocol TimeSource: Sendable {
    /// The current time, with the kernel's clock-synchronisation state and boot id.
    func now() -> Timestamp
}

/// The board's clocks: CLOCK_REALTIME, CLOCK_BOOTTIME, the kernel's NTP status (adjtimex)
/// and the boot id from `/proc/sys/kernel/random/boot_id` (read once, at init).
public struct SystemTimeSource: TimeSource {
    /// The boot id read at init (`Timestamp.unknownBootID` if unreadable).
    public let bootID: UUID

    public init() {
        self.bootID = Self.readBootID() ?? Timestamp.unknownBootID
    }

    public func now() -> Timestamp {
        Self.timestamp(
            realtime: Self.read(CLOCK_REALTIME), boottime: Self.read(CLOCK_BOOTTIME), bootID: bootID,
            kernelSynchronised: Self.isKernelClockSynchronised())
    }

    /// The timestamp for two clock readings. The clock is an input like any other (a board's RTC
    /// may hold any date): a wall clock before 1970 or after 2262-04-11T23:47:16Z, which
    /// nanoseconds in an `Int64` cannot hold, is clamped into that range and reported as
    /// unsynchronised, whatever the kernel says — readings then carry their boot time, as with any
    /// unsynchronised clock, and the lamp falls back as it does without a valid clock.
    static func timestamp(realtime: timespec, boottime: timespec, bootID: UUID, kernelSynchronised: Bool) -> Timestamp {
        let utc = nanoseconds(realtime)
        let boot = nanoseconds(boottime)
        let utcInRange = utc.flatMap { (0...Timestamp.latestUTCNanoseconds).contains($0) ? $0 : nil }
        return Timestamp(
            utcNanoseconds: utcInRange ?? (realtime.tv_sec < 0 ? 0 : Timestamp.latestUTCNanoseconds),
            bootNanoseconds: boot.map { max(0, $0) } ?? (boottime.tv_sec < 0 ? 0 : Int64.max),
            bootID: bootID,
            isClockSynchronised: kernelSynchronised && utcInRange != nil
        )
    }

    /// A `timespec` in nanoseconds; nil when it does not fit an `Int64`.
    private static func nanoseconds(_ time: timespec) -> Int64? {
        guard let seconds = Int64(exactly: time.tv_sec), let fraction = Int64(exactly: time.tv_nsec) else { return nil }
        return CheckedTime.nanoseconds(seconds: seconds, plus: fraction)
    }

    /// Asks the kernel (adjtimex with modes = 0, read-only, no privileges needed) whether its
    /// clock is synchronised: not when the call returns TIME_ERROR or `status` has STA_UNSYNC.
    /// systemd-timesyncd and chrony clear STA_UNSYNC once they have disciplined the clock.
    public static func isKernelClockSynchronised() -> Bool {
        #if os(Linux)
        guard let adjtimex = Self.adjtimex else { return false }
        // struct timex starts with `unsigned int modes` (padded to a long), then four longs
        // (offset, freq, maxerror, esterror), then `int status`: status is at 5 × sizeof(long)
        // on both 64-bit (40) and 32-bit ARM (20). 512 zeroed bytes cover the whole struct
        // (208 bytes on 64-bit); modes = 0 makes the call read-only.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: 512)
        let state = adjtimex(buffer)
        let status = buffer.load(fromByteOffset: 5 * MemoryLayout<Int>.size, as: Int32.self)
        let timeError: Int32 = 5  // TIME_ERROR in <sys/timex.h>
        let staUnsync: Int32 = 0x0040  // STA_UNSYNC in <sys/timex.h>
        if state == -1 || state == timeError { return false }
        return (status & staUnsync) == 0
        #else
        return true
        #endif
    }

    #if os(Linux)
    /// glibc's `adjtimex`, looked up with dlsym because Swift's Glibc module does not import
    /// <sys/timex.h>; the C function type gives the C calling convention. A one-function C
    /// target would be the alternative; apart from `CSQLite` for the spool, C modules belong to
    /// `Hardware` (STYLE.md rule 3).
    private static let adjtimex: (@convention(c) (UnsafeMutableRawPointer) -> Int32)? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "adjtimex") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutableRawPointer) -> Int32).self)
    }()
    #endif

    /// Reads `/proc/sys/kernel/random/boot_id` (a UUID, new at every boot).
    public static func readBootID(path: String = "/proc/sys/kernel/random/boot_id") -> UUID? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        // One line: the UUID, then a newline.
        return text.split(whereSeparator: \.isWhitespace).first.flatMap { UUID(uuidString: String($0)) }
    }

    private static func read(_ clock: clockid_t) -> timespec {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return ts
    }
}
