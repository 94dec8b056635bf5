import FoundationEssentials
import Glibc

/// A file-system error as a technician reads it: "No such file or directory (/var/lib/lampd)".
///
/// `FoundationEssentials` has no `localizedDescription`; its `CocoaError` prints as a dump of
/// its user info. This takes the underlying `errno` and the path instead.
public enum SystemErrorText {
    public static func describe(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError {
            let reason: String
            if let posix = cocoa.underlying as? POSIXError {
                reason = String(cString: strerror(posix.code.rawValue))
            } else {
                reason = "file error \(cocoa.code.rawValue)"
            }
            return cocoa.filePath.map { "\(reason) (\($0))" } ?? reason
        }
        if let posix = error as? POSIXError {
            return String(cString: strerror(posix.code.rawValue))
        }
        return String(describing: error)
    }
}
