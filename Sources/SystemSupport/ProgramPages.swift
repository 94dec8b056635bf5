import FoundationEssentials
import Glibc

/// The pages of lampd's program files (its executable and the shared libraries it maps) in memory.
///
/// Most of lampd's resident memory is clean pages of its own program: code and read-only data the
/// kernel mapped in when they were first used — much of it start-up work (argument parsing, TOML,
/// configuration checks, opening the spool) — plus, on every fault, up to 64 KiB around the page
/// that was needed ("fault-around"). None of it is lampd's own memory: the kernel can drop it and
/// read it again at any time. `releaseStartupPages()` does that once, right after start-up, so the
/// resident set that remains is what lampd keeps using (docs/performance.md, "Memory").
public enum ProgramPages {
    /// Advises the kernel about every read-only, file-backed mapping of this process: `MADV_RANDOM`
    /// (no fault-around: a page used later comes back alone) and `MADV_PAGEOUT` (give back the pages
    /// touched so far; those still in use are mapped again on their next use, from the page cache or
    /// the card). Writes nothing, changes no data. Returns the bytes advised, or nil when
    /// `/proc/self/maps` cannot be read or the kernel refuses (`MADV_PAGEOUT` needs Linux 5.4).
    @discardableResult
    public static func releaseStartupPages() -> Int? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        var advised = 0
        for range in readOnlyFileMappings(maps) {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.start),
                  let length = Int(exactly: range.end - range.start) else { continue }
            _ = madvise(start, length, MADV_RANDOM)
            guard madvise(start, length, 21 /* MADV_PAGEOUT */) == 0 else { return advised > 0 ? advised : nil }
            advised += length
        }
        return advised
    }

    /// The address ranges of `maps` (the text of `/proc/PID/maps`) that are mapped from a file and
    /// not writable: program code and read-only data. Lines that do not parse are skipped.
    static func readOnlyFileMappings(_ maps: String) -> [(start: UInt, end: UInt)] {
        maps.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[5].hasPrefix("/"), fields[1].count == 4,
                  fields[1].hasPrefix("r"), fields[1].dropFirst().first == "-" else { return nil }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                  start < end else { return nil }
            return (start, end)
        }
    }
}
