import Glibc

/// Writes text straight to standard output or standard error (file descriptors 1 and 2).
///
/// Replaces Foundation's `FileHandle.standardError` (full Foundation is not linked). Anything
/// `print` has buffered is flushed first, so lines keep their order.
public enum StandardStream: Int32, Sendable {
    case output = 1
    case error = 2

    /// Writes all of `text`; a closed or broken stream is ignored (there is nobody to tell).
    public func write(_ text: String) {
        fflush(nil)
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(rawValue, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
