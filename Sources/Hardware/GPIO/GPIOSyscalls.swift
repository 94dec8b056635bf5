internal import CGPIOD
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The single place where libgpiod results are checked and `errno` is read
/// (STYLE.md rule 4). Callers turn the errno into a `GPIOError` with
/// `GPIOError(errno:operation:chip:…)`.
enum GPIOD {
    /// Runs a libgpiod call that returns -1 on failure; gives back its result or the errno it left.
    static func call(_ body: () -> Int32) -> Result<Int32, CErrno> {
        Glibc.errno = 0
        let result = body()
        if result == -1 { return .failure(CErrno(Glibc.errno == 0 ? EIO : Glibc.errno)) }
        return .success(result)
    }

    /// Runs a libgpiod call that returns `NULL` on failure; gives back the pointer or the errno it left.
    static func pointer(_ body: () -> OpaquePointer?) -> Result<OpaquePointer, CErrno> {
        Glibc.errno = 0
        if let pointer = body() { return .success(pointer) }
        return .failure(CErrno(Glibc.errno == 0 ? ENOENT : Glibc.errno))
    }
}

/// An errno value left by a C call.
struct CErrno: Error, Equatable {
    let value: Int32
    init(_ value: Int32) { self.value = value }
}

/// A libgpiod handle passed between closures that run on the owning chip's
/// serial queue. `@unchecked Sendable`: the pointer is only dereferenced on
/// that queue (or, for a requested line's event fd, on the line's own wait
/// queue — see `GPIOLineRequest`).
struct GPIOHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

extension DispatchQueue {
    /// Runs `body` on this queue and suspends the caller until it is done, so
    /// blocking C calls never occupy Swift's cooperative pool (STYLE.md rule 6).
    func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            self.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
