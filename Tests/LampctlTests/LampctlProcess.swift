import Foundation

/// Runs the built `lampctl` (or another product of this package) as a child
/// process and captures what it prints, for tests that check output and exit
/// codes the way a technician would see them.
struct ProductProcess {
    struct Result {
        var exitCode: Int32
        var stdout: String
        var stderr: String

        /// stdout parsed as a JSON object (fails the caller's `#require` if not JSON).
        func jsonObject() throws -> [String: Any]? {
            try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        }
    }

    /// Folder holding the package's built products: the test bundle sits beside them.
    static var productsDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["LAMPD_PRODUCTS_DIR"] {
            return URL(fileURLWithPath: override)
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent()
    }

    private static func readToEnd(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
        }
    }

    /// Runs `product` with `arguments`, waits at most `timeout` and returns what it printed.
    static func run(
        _ product: String = "lampctl",
        _ arguments: [String],
        timeout: Duration = .seconds(30)
    ) async throws -> Result {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(product)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()

        // Drain both pipes concurrently so a chatty child cannot block on a
        // full pipe; on Dispatch threads, not the cooperative pool (two
        // blocking reads would take both of its threads on a 2-core machine).
        async let stdoutData = readToEnd(out.fileHandleForReading)
        async let stderrData = readToEnd(err.fileHandleForReading)

        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        return Result(
            exitCode: process.terminationStatus,
            stdout: String(decoding: await stdoutData, as: UTF8.self),
            stderr: String(decoding: await stderrData, as: UTF8.self)
        )
    }
}
