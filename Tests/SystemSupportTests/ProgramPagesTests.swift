import Testing
@testable import SystemSupport
import Glibc
import FoundationEssentials

@Suite("Program pages released after start-up")
struct ProgramPagesTests {
    /// A mapping's header and the two lines of smaps that decide whether it is clean.
    static func entry(_ header: String, anonymousKB: Int = 0, swapKB: Int = 0) -> String {
        "\(header)\nSize:                  8 kB\nRss:                   8 kB\nAnonymous:          \(anonymousKB) kB\n"
            + "AnonHugePages:         0 kB\nSwap:               \(swapKB) kB\nVmFlags: rd ex mr mw me\n"
    }

    @Test("Only read-only mappings of files are released: code and constants, never data, heap or stacks")
    func whichMappings() {
        let smaps = [
            Self.entry("556b8be16000-556b8df55000 r-xp 00000000 fe:00 5990737                    /usr/bin/lampd"),
            Self.entry("556b8df55000-556b8e037000 r--p 0213e000 fe:00 5990737                    /usr/bin/lampd",
                       anonymousKB: 904),
            Self.entry("556b8e037000-556b8e398000 rw-p 02220000 fe:00 5990737                    /usr/bin/lampd"),
            Self.entry("556b8e398000-556b8e4ab000 rw-p 00000000 00:00 0"),
            Self.entry("556bc071f000-556bc0740000 rw-p 00000000 00:00 0                          [heap]"),
            Self.entry("7f19303c7000-7f19303ce000 r--p 00000000 fe:00 4907009                    /usr/lib/x86_64-linux-gnu/libnss_systemd.so.2",
                       swapKB: 4),
            Self.entry("7f19303d0000-7f19303d1000 r--p 00000000 fe:00 4907010                    /opt/lamp d/lib with spaces.so"),
            Self.entry("7f19303d2000-7f19303d3000 r--p 00000000 fe:00 4907011                    /usr/lib/old.so (deleted)"),
            Self.entry("7ffd1c5f1000-7ffd1c5f3000 r-xp 00000000 00:00 0                          [vdso]"),
            "garbage line\n",
            Self.entry("ffffffffffffffff-0 r-xp 0 0 0 /x"),
            // A mapping whose Anonymous line is missing cannot be judged clean: left alone.
            "7f1930400000-7f1930401000 r-xp 00000000 fe:00 4907012 /usr/lib/truncated.so\nSize: 4 kB\n",
        ].joined()
        let mappings = ProgramPages.releasableMappings(smaps)
        #expect(mappings == [
            .init(start: 0x556b8be16000, end: 0x556b8df55000, path: "/usr/bin/lampd", clean: true),
            .init(start: 0x556b8df55000, end: 0x556b8e037000, path: "/usr/bin/lampd", clean: false),
            .init(start: 0x7f19303c7000, end: 0x7f19303ce000, path: "/usr/lib/x86_64-linux-gnu/libnss_systemd.so.2",
                  clean: false),
            .init(start: 0x7f19303d0000, end: 0x7f19303d1000, path: "/opt/lamp d/lib with spaces.so", clean: true),
        ])
        #expect(ProgramPages.releasableMappings("").isEmpty)
    }

    @Test("Releasing this test process's own program pages unmaps them and it keeps running")
    func releaseOwnPages() throws {
        let before = try Self.residentProgramKB()
        let released = ProgramPages.releaseStartupPages()
        let after = try Self.residentProgramKB()
        #expect((released ?? 0) > 0)
        // The code released runs again (this test goes on) and what came back is less than was there.
        #expect(after < before, "resident program pages: \(before) kB before, \(after) kB after")
    }

    /// The resident kB of this process's read-only file mappings.
    static func residentProgramKB() throws -> Int {
        let smaps = try String(contentsOfFile: "/proc/self/smaps", encoding: .utf8)
        var total = 0
        var counting = false
        for line in smaps.split(separator: "\n") {
            if line.hasPrefix("Rss:") {
                if counting { total += Int(line.split(separator: " ")[1]) ?? 0 }
            } else if let first = line.split(separator: " ").first, first.contains("-"), !first.hasSuffix(":") {
                counting = ProgramPages.readOnlyFileMapping(header: line) != nil
            }
        }
        return total
    }
}

@Suite("One malloc arena")
struct MallocArenasTests {
    @Test("lampd limits itself to one malloc arena unless the environment chose (MALLOC_ARENA_MAX)")
    func limitToOne() {
        // glibc's mallopt is found and accepts the limit; an operator's MALLOC_ARENA_MAX is left alone.
        #expect(MallocArenas.limitToOne() == (getenv("MALLOC_ARENA_MAX") == nil))
    }
}

@Suite("Fixed malloc thresholds")
struct MallocThresholdsTests {
    // What the fixed thresholds do to lampd's private memory is measured, not tested: whether a
    // block is mapped on its own also depends on the free memory of the arena it comes from, which
    // in a test process full of other tests is anyone's guess (docs/performance.md).
    @Test("lampd fixes malloc's mmap and trim thresholds unless the environment chose them")
    func fix() {
        let chosen = getenv("MALLOC_MMAP_THRESHOLD_") != nil || getenv("MALLOC_TRIM_THRESHOLD_") != nil
        #expect(MallocThresholds.fix() == !chosen)
    }
}
