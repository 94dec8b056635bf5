import Glibc

/// Starts work on a detached thread of its own (`pthread`), for blocking socket loops that must
/// not occupy the cooperative thread pool (STYLE.md rule 6).
///
/// Foundation's `Thread` is part of the full Foundation, which lampd does not link.
public enum DetachedThread {
    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// glibc's `pthread_setname_np`, looked up with dlsym because Swift's Glibc module does not
    /// import it (it needs `_GNU_SOURCE`). Naming is a convenience: without it nothing changes.
    private static func name(_ name: String) {
        typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_setname_np") else { return }
        _ = unsafeBitCast(symbol, to: SetName.self)(pthread_self(), name)
    }

    /// Runs `body` on a new detached thread named `name` (at most 15 bytes are kept: the kernel's
    /// limit, shown by `top -H`). If the system refuses a new thread (out of memory or tasks),
    /// `body` runs on the calling thread instead: slower, but the work is never dropped.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(name: name, body: body))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            DetachedThread.name(String(start.name.utf8.prefix(15)) ?? "")
            start.body()
            return nil
        }, start.toOpaque())
        if result != 0 {
            start.release()
            body()
        }
    }
}
