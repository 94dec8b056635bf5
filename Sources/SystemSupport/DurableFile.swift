import Dispatch
import FoundationEssentials
import Glibc

/// Replaces a small file so that after a power cut or `kill -9` it holds either the old or the new
/// content, never a mix or nothing (DESIGN.md principle 2, "Nothing lost").
///
/// The steps: a temporary file beside it (`.<name>.<pid>.tmp`, created exclusively with `mode`,
/// so a secret is never readable by others, not even for a moment), every byte written, `fchmod`
/// to exactly `mode` (the umask may have narrowed it), `fsync`, `rename` over the file, `fsync`
/// of the directory (the rename is durable only then). On failure the temporary file is removed
/// and the old file is untouched.
///
/// Used for the lamp's state, the uplink ledger and in-flight batch, the last good configuration
/// and the device key. The writes and fsyncs block the calling thread (an fsync on a worn SD card
/// can take a second): async code — an actor — calls `replaceOffPool(path:with:mode:)`, which runs
/// them on a Dispatch queue, never on Swift's cooperative pool (STYLE.md rule 6).
public enum DurableFile {
    /// A step that failed, with the system's reason.
    public struct Failure: ActionableError {
        /// "create", "write", "sync" or "rename".
        public let step: String
        /// The file being replaced.
        public let path: String
        /// `errno` of the failed call.
        public let errno: Int32

        /// `file.create-failed`, `file.write-failed`, `file.sync-failed` or `file.rename-failed`.
        public var code: String { "file.\(step)-failed" }

        public var message: String {
            "cannot \(step) \(path): \(String(cString: strerror(errno))) — check the directory's permissions and free space"
        }

        public var description: String { message }
    }

    /// Replaces `path` with `bytes`, durably; the new file has exactly `mode`.
    public static func replace(path: String, with bytes: [UInt8], mode: mode_t = 0o644) throws(Failure) {
        let directory = FilePaths.directory(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = FilePaths.join(directory, ".\(name).\(getpid()).tmp")
        func failure(_ step: String) -> Failure { Failure(step: step, path: path, errno: errno) }

        unlink(temporary)  // left over from a process with the same pid that died mid-write
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("create") }
        var written = 0
        var writeFailure: Failure?
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    writeFailure = failure("write")
                    return
                }
                written += n
            }
        }
        if let writeFailure {
            close(fd)
            unlink(temporary)
            throw writeFailure
        }
        guard fchmod(fd, mode) == 0, fsync(fd) == 0 else {
            let error = failure("sync")
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = failure("rename")
            unlink(temporary)
            throw error
        }
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Replaces `path` with `data`, durably; the new file has exactly `mode`.
    public static func replace(path: String, with data: Data, mode: mode_t = 0o644) throws(Failure) {
        try replace(path: path, with: [UInt8](data), mode: mode)
    }

    /// The queue async replacements run on: serial, so replacements of one file land in the order
    /// they were asked for, whichever caller resumes first.
    private static let queue = DispatchQueue(label: "lampd.durable-file")

    /// `replace(path:with:mode:)` for async callers: the blocking work runs on a dedicated serial
    /// Dispatch queue while the caller is suspended. A cancelled caller still gets its file written
    /// (nothing lost); replacements asked for earlier are written first.
    public static func replaceOffPool(path: String, with bytes: [UInt8], mode: mode_t = 0o644) async throws(Failure) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, Failure>, Never>) in
            queue.async {
                continuation.resume(returning: Result { () throws(Failure) in try replace(path: path, with: bytes, mode: mode) })
            }
        }
        try result.get()
    }

    /// `replace(path:with:mode:)` for async callers; see `replaceOffPool(path:with:mode:)` for bytes.
    public static func replaceOffPool(path: String, with data: Data, mode: mode_t = 0o644) async throws(Failure) {
        try await replaceOffPool(path: path, with: [UInt8](data), mode: mode)
    }
}
