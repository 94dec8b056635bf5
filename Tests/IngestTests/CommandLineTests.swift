import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
import Uplink
#endif

/// The built `lamp-ingest` binary, run as a child process the way an operator runs it.
@Suite("lamp-ingest command line", .serialized)
struct CommandLineTests {
    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("lamp-ingest")
    }

    struct Output {
        var exitCode: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `lamp-ingest arguments` to completion (these commands finish in well under a second).
    static func run(_ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            exitCode: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test("enroll, serve on port 0, POST a batch, status and export")
    func operatorFlow() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = directory.appendingPathComponent("enrolled-keys").path
        let db = directory.appendingPathComponent("ingest.sqlite").path
        var board = try TestBoard()

        let enrolled = try Self.run(["enroll", "--keys", keys, "--device", board.device, "--public-key", board.publicKey.base64])
        #expect(enrolled.exitCode == 0)
        #expect(enrolled.stdout.contains(board.publicKey.kidHex))
        let again = try Self.run(["enroll", "--keys", keys, "--device", board.device, "--public-key", board.publicKey.base64])
        #expect(again.exitCode == 2)
        #expect(again.stderr.contains("already enrolled"))
        let badKey = try Self.run(["enroll", "--keys", keys, "--device", "pole-7", "--public-key", "not-a-key"])
        #expect(badKey.exitCode == 2)
        #expect(badKey.stderr.contains("base64"))

        let server = Process()
        server.executableURL = Self.binary
        server.arguments = ["serve", "--db", db, "--keys", keys, "--port", "0"]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            if server.isRunning { server.terminate() }
            server.waitUntilExit()
        }
        let port = try Self.listeningPort(out.fileHandleForReading)

        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/v1/batches")))
        request.httpMethod = "POST"
        request.setValue("application/cose; cose-type=\"cose-sign1\"", forHTTPHeaderField: "Content-Type")
        let batch = try board.next(count: 5)
        request.httpBody = Data(batch.bytes)
        let (body, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: body, as: UTF8.self).contains(hexString(batch.hash)))
        server.terminate()
        server.waitUntilExit()

        let status = try Self.run(["status", "--db", db, "--json"])
        #expect(status.exitCode == 0)
        let devices = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])
        #expect(devices.first?["device"] as? String == "pole-0042")
        #expect(devices.first?["batches"] as? Int == 1)
        #expect(devices.first?["records"] as? Int == 5)

        let export = try Self.run(["export", "--db", db, "--device", "pole-0042"])
        #expect(export.exitCode == 0)
        let records = try #require(try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [[String: Any]])
        #expect(records.count == 5)

        let missing = try Self.run(["status", "--db", directory.appendingPathComponent("none.sqlite").path])
        #expect(missing.exitCode == 2)
        let badTime = try Self.run(["export", "--db", db, "--since", "yesterday"])
        #expect(badTime.exitCode == 2)
        let usage = try Self.run(["serve", "--db", db])
        #expect(usage.exitCode == 2)
    }

    /// Reads the server's stdout until `listening on HOST:PORT` and returns the port.
    static func listeningPort(_ handle: FileHandle) throws -> Int {
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
                let port = line.split(separator: ":").last.flatMap({ Int($0) })
            {
                return port
            }
        }
        throw CancellationError()
    }
}
