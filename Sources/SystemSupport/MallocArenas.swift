import Glibc

/// glibc's malloc arenas: by default every thread that allocates may get an arena of its own
/// (up to 8 per core), each keeping freed memory for itself. lampd's few threads do not contend for
/// one arena, and the extra arenas cost 1–2 MB of private memory (docs/performance.md, "Memory").
public enum MallocArenas {
    /// Limits the process to one malloc arena, as `MALLOC_ARENA_MAX=1` would, unless the environment
    /// already sets `MALLOC_ARENA_MAX` (an operator's choice wins). Call first thing in `main`, before
    /// threads start. Returns whether the limit was set here.
    @discardableResult
    public static func limitToOne() -> Bool {
        guard getenv("MALLOC_ARENA_MAX") == nil else { return false }
        let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h> (glibc ABI)
        return Mallopt.set(arenaMax, 1)
    }
}

/// glibc's `mallopt`, declared in <malloc.h>, which Swift's Glibc module does not import.
enum Mallopt {
    private typealias Function = @convention(c) (Int32, Int32) -> Int32
    private static let function: Function? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt")  // RTLD_DEFAULT
        .map { unsafeBitCast($0, to: Function.self) }

    /// Sets one parameter; false when glibc refused it or this C library has no `mallopt`.
    static func set(_ parameter: Int32, _ value: Int32) -> Bool { function?(parameter, value) == 1 }
}
