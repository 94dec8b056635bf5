import FoundationEssentials
import Glibc
import SystemSupport

/// Checks the spool's folder and files before SQLite opens them: SQLite would hang forever in
/// `open()` on a FIFO, follow a symbolic link anywhere, or report a directory as an I/O error.
/// Anything but a folder holding regular files (or none yet) is refused with a message that
/// names the file and what it is.
enum SpoolFileCheck {
    /// The files SQLite opens for the spool at `path`.
    static func files(of path: String) -> [String] {
        [path, path + "-wal", path + "-shm", path + "-journal"]
    }

    /// Throws `spool.open-failed` when the folder of `path` is not a folder or one of the spool's
    /// files exists and is not a regular file.
    static func check(_ path: String) throws(TelemetryError) {
        let directory = FilePaths.directory(of: path)
        var status = stat()
        // A folder that cannot be reached (missing, no permission) is left to SQLite, which says why.
        if stat(directory.isEmpty ? "." : directory, &status) == 0, (status.st_mode & S_IFMT) != S_IFDIR {
            throw TelemetryError(.spoolOpenFailed, "the spool's folder \(directory) is \(kind(status.st_mode)), "
                + "not a folder — set [storage] directory to a folder on the board's storage")
        }
        for file in files(of: path) {
            guard lstat(file, &status) == 0 else { continue }
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw TelemetryError(.spoolOpenFailed, "\(file) is \(kind(status.st_mode)), not a spool file — "
                    + "move it away (lampd never deletes it) and restart lampd")
            }
        }
    }

    /// What a file of this mode is, in words.
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a folder"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a named pipe (FIFO)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFREG: "a file"
        default: "not a regular file"
        }
    }
}
