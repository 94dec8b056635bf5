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
    /// One mapping of `/proc/self/smaps` that may be released: read-only, from a file.
    struct Mapping: Equatable {
        var start: UInt
        var end: UInt
        var path: String
        /// No private copies of its pages (`Anonymous` and `Swap` 0 kB): every page reads back
        /// from the file exactly as it is now. Relocated read-only data ("RELRO") is not clean.
        var clean: Bool
    }

    /// Releases every read-only, file-backed mapping of this process. Each is advised
    /// `MADV_RANDOM` (no read-ahead where the kernel honours it: a page used later is read alone);
    /// a clean one is then unmapped from this process with `MADV_DONTNEED` (its pages stay in the
    /// page cache and come back, unchanged, on their next use — this works for any user, whoever
    /// owns the file), one that is not clean is advised `MADV_PAGEOUT` (the kernel reclaims what
    /// it may). Last, the page-cache pages of those files that no process maps any more are
    /// dropped (`POSIX_FADV_DONTNEED`), so that fault-around cannot map start-up code back in
    /// around the code still in use. Writes nothing, changes no data. Returns the bytes released,
    /// or nil when `/proc/self/smaps` cannot be read.
    @discardableResult
    public static func releaseStartupPages() -> Int? {
        guard let smaps = try? String(contentsOfFile: "/proc/self/smaps", encoding: .utf8) else { return nil }
        let mappings = releasableMappings(smaps)
        var released = 0
        for mapping in mappings {
            guard let start = UnsafeMutableRawPointer(bitPattern: mapping.start),
                  let length = Int(exactly: mapping.end - mapping.start) else { continue }
            _ = madvise(start, length, MADV_RANDOM)
            let advice = mapping.clean ? MADV_DONTNEED : 21 /* MADV_PAGEOUT, Linux 5.4 */
            if madvise(start, length, advice) == 0 { released += length }
        }
        for path in Set(mappings.map(\.path)) { dropUnmappedCachedPages(of: path) }
        return released
    }

    /// Drops the page-cache pages of the file at `path` that no process maps (best effort: a file
    /// that cannot be opened is left alone).
    static func dropUnmappedCachedPages(of path: String) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
        close(descriptor)
    }

    /// The mappings of `smaps` (the text of `/proc/PID/smaps`) that are mapped from a file and not
    /// writable — program code and read-only data — with whether each is clean. A mapping whose
    /// header does not parse, or whose `Anonymous` or `Swap` line is missing, is skipped.
    static func releasableMappings(_ smaps: String) -> [Mapping] {
        var mappings: [Mapping] = []
        var current: Mapping?
        var anonymousKB: Int?
        var swapKB: Int?
        func finish() {
            if var mapping = current, let anonymousKB, let swapKB {
                mapping.clean = anonymousKB == 0 && swapKB == 0
                mappings.append(mapping)
            }
            current = nil
            anonymousKB = nil
            swapKB = nil
        }
        for line in smaps.split(separator: "\n") {
            if let field = line.firstIndex(of: ":"), !line[..<field].contains(" "), !line[..<field].contains("-") {
                let value = Int(line[line.index(after: field)...].split(separator: " ").first ?? "")
                switch line[..<field] {
                case "Anonymous": anonymousKB = value
                case "Swap": swapKB = value
                default: break
                }
                continue
            }
            finish()
            current = readOnlyFileMapping(header: line)
        }
        finish()
        return mappings
    }

    /// The mapping a `/proc/PID/maps` line describes when it is read-only and from a file.
    static func readOnlyFileMapping(header line: Substring) -> Mapping? {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count == 6, fields[1].count == 4,
              fields[1].hasPrefix("r"), fields[1].dropFirst().first == "-" else { return nil }
        let path = fields[5].drop(while: { $0 == " " })
        guard path.hasPrefix("/"), !path.hasSuffix(" (deleted)") else { return nil }
        let bounds = fields[0].split(separator: "-")
        guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
              start < end else { return nil }
        return Mapping(start: start, end: end, path: String(path), clean: false)
    }
}
