import Testing
@testable import SystemSupport
import Glibc

@Suite("Program pages released after start-up")
struct ProgramPagesTests {
    @Test("Only read-only mappings of files are advised: code and constants, never data, heap or stacks")
    func whichMappings() {
        let maps = """
            556b8be16000-556b8df55000 r-xp 00000000 fe:00 5990737                    /usr/bin/lampd
            556b8df55000-556b8e037000 r--p 0213e000 fe:00 5990737                    /usr/bin/lampd
            556b8e037000-556b8e398000 rw-p 02220000 fe:00 5990737                    /usr/bin/lampd
            556b8e398000-556b8e4ab000 rw-p 00000000 00:00 0
            556bc071f000-556bc0740000 rw-p 00000000 00:00 0                          [heap]
            7f19303c7000-7f19303ce000 r--p 00000000 fe:00 4907009                    /usr/lib/x86_64-linux-gnu/libnss_systemd.so.2
            7ffd1c5f1000-7ffd1c5f3000 r-xp 00000000 00:00 0                          [vdso]
            garbage line
            ffffffffffffffff-0 r-xp 0 0 0 /x
            """
        let ranges = ProgramPages.readOnlyFileMappings(maps)
        #expect(ranges.map(\.start) == [0x556b8be16000, 0x556b8df55000, 0x7f19303c7000])
        #expect(ranges.map(\.end) == [0x556b8df55000, 0x556b8e037000, 0x7f19303ce000])
    }

    @Test("Releasing this test process's own program pages works and it keeps running")
    func releaseOwnPages() {
        let advised = ProgramPages.releaseStartupPages()
        // Linux ≥ 5.4 (MADV_PAGEOUT); this machine's kernel is newer. The code just paged out runs again.
        #expect((advised ?? 0) > 0)
        #expect(ProgramPages.readOnlyFileMappings("") .isEmpty)
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
