import Foundation
import Testing
import Telemetry
import SystemSupport

@Suite("Durable file replacement")
struct DurableFileTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("durable-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    @Test("replaces the content, sets exactly the mode, leaves no temporary file")
    func replaces() throws {
        let path = folder + "/state.json"
        try DurableFile.replace(path: path, with: Data("old".utf8))
        try DurableFile.replace(path: path, with: Array("new content".utf8), mode: 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new content")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["state.json"])
        try FileManager.default.removeItem(atPath: folder)
    }

    @Test("an empty file works")
    func empty() throws {
        let path = folder + "/empty"
        try DurableFile.replace(path: path, with: [])
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
        try FileManager.default.removeItem(atPath: folder)
    }

    @Test("a failure names the step, the file and the reason, and keeps the old file")
    func failures() throws {
        #expect {
            try DurableFile.replace(path: folder + "/missing/state.json", with: Array("x".utf8))
        } throws: { error in
            let failure = error as? DurableFile.Failure
            return failure?.step == "create" && failure?.errno == ENOENT
                && "\(error)".contains("missing/state.json") && "\(error)".contains("No such file or directory")
        }
        // rename fails when the target is a non-empty directory: the temporary file is removed.
        let target = folder + "/occupied"
        try FileManager.default.createDirectory(atPath: target + "/inside", withIntermediateDirectories: true)
        #expect {
            try DurableFile.replace(path: target, with: Array("x".utf8))
        } throws: { error in
            (error as? DurableFile.Failure)?.step == "rename"
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["occupied"])
        try FileManager.default.removeItem(atPath: folder)
    }

    @Test("the async variant writes off the caller's thread with the same result and the same failures")
    func offPool() async throws {
        let path = folder + "/lamp-state.json"
        try await DurableFile.replaceOffPool(path: path, with: Data("old".utf8))
        try await DurableFile.replaceOffPool(path: path, with: Array("new".utf8), mode: 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        do {
            try await DurableFile.replaceOffPool(path: folder + "/missing/state.json", with: Array("x".utf8))
            Issue.record("a write into a missing directory succeeded")
        } catch {
            #expect(error.step == "create" && error.errno == ENOENT, "\(error)")  // typed: DurableFile.Failure
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["lamp-state.json"])
        try FileManager.default.removeItem(atPath: folder)
    }
}
