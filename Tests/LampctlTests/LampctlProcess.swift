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

    /// Runs `product` with `arguments`, waits at most `timeout` and returns what it printed.
    static func run(
        _ product: String = "lampctl",
        _ arguments: [String],
        timeout: Duration = .seconds(30)
    ) async throws -> Result {
        try await runPath(productsDirectory.appendingPathComponent(product).path, arguments, timeout: timeout)
    }

    /// Runs any executable (python3 through /usr/bin/env, too). Output goes through files, not
    /// pipes: nothing can block on a full pipe, and no reader thread is needed.
    static func runPath(_ path: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out"), errURL = directory.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { process.terminate() }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        return Result(exitCode: process.terminationStatus,
                      stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
