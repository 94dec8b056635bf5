import Glibc

/// glibc's malloc thresholds, fixed instead of adaptive. By default glibc raises its mmap threshold
/// to the size of any large block freed (up to 32 MiB) and its trim threshold to twice that, so
/// after lampd frees one large buffer (a group commit's readings at 10 Hz, an uplink batch) such
/// buffers come from the heap and their pages are kept: private memory grew from 2.9 to 4.4 MB in
/// three minutes at 40 channels × 10 Hz, and stayed at 3.1 MB with fixed thresholds
/// (docs/performance.md, "Memory at 10 Hz and malloc's thresholds").
public enum MallocThresholds {
    /// Blocks at least this large are mapped on their own and unmapped when freed.
    public static let mmapThresholdBytes: Int32 = 64 << 10
    /// Free memory at the top of the heap beyond this is given back to the kernel.
    public static let trimThresholdBytes: Int32 = 128 << 10

    /// Fixes both thresholds (which also turns glibc's adaptation off), unless the environment sets
    /// either (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`: an operator's choice wins). Call
    /// first thing in `main`. Returns whether they were set here.
    @discardableResult
    public static func fix() -> Bool {
        guard getenv("MALLOC_MMAP_THRESHOLD_") == nil, getenv("MALLOC_TRIM_THRESHOLD_") == nil else { return false }
        // M_MMAP_THRESHOLD and M_TRIM_THRESHOLD in <malloc.h> (glibc ABI).
        let mmapThreshold: Int32 = -3, trimThreshold: Int32 = -1
        return Mallopt.set(mmapThreshold, mmapThresholdBytes) && Mallopt.set(trimThreshold, trimThresholdBytes)
    }
}
