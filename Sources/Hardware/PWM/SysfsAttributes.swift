import SystemSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads and writes sysfs attribute files: the seam between `SysfsPWMChannel`
/// and the kernel, so tests can play the kernel's rules.
///
/// Failures are `SysfsAttributeError` carrying the path and the errno the
/// kernel returned (`EINVAL` for a value it rejects, `EBUSY`, `EACCES`).
public protocol SysfsAttributeAccess: Sendable {
    /// The file's contents without trailing whitespace.
    func read(_ path: String) throws -> String
    /// Writes `value` in one `write(2)`, as sysfs expects (no temp file, no rename).
    func write(_ value: String, to path: String) throws
    /// Whether a file or directory exists.
    func exists(_ path: String) -> Bool
    /// Whether the current user may write the file (udev may fix permissions late).
    func isWritable(_ path: String) -> Bool
    /// Names in a directory, empty when it does not exist.
    func list(_ directory: String) -> [String]
}

/// A sysfs read or write that failed, with the kernel's errno.
public struct SysfsAttributeError: HardwareError, Hashable {
    public var path: String
    public var errno: Int32

    public var code: String { "pwm.sysfs-io-failed" }
    public var description: String { "cannot access \(path): \(String(cString: strerror(errno)))" }

    public init(path: String, errno: Int32) {
        self.path = path
        self.errno = errno
    }
}

/// The real file system, through POSIX calls (the one place errno is read for sysfs).
public struct LiveSysfsAttributes: SysfsAttributeAccess {
    public init() {}

    public func read(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SysfsAttributeError(path: path, errno: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw SysfsAttributeError(path: path, errno: errno) }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self)
        return String(text.reversed().drop(while: \.isWhitespace).reversed())
    }

    public func write(_ value: String, to path: String) throws {
        // O_TRUNC as a shell redirect does: harmless on sysfs, needed on ordinary files.
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw SysfsAttributeError(path: path, errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw SysfsAttributeError(path: path, errno: written < 0 ? errno : EIO) }
    }

    public func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func isWritable(_ path: String) -> Bool { access(path, W_OK) == 0 }

    public func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
