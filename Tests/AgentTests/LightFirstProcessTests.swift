import Agent
import Foundation
import Testing
import TestSupport

/// Issue 11, defect 5, against the real lampd: storage that fails at start is an alarm; lampd
/// becomes ready, drives the lamp and answers the technician (it used to exit 1, or hang for ever
/// in `open()` on a FIFO).
@Suite("lampd with failing storage")
struct LightFirstProcessTests {
    enum Failure: String, CaseIterable, Sendable {
        case spoolIsAFIFO, stateDirectoryCannotBeCreated, spoolIsAFolder
    }

    @Test("lampd starts, commands the lamp and reports the storage problem", arguments: Failure.allCases)
    func storageFailsAtStart(_ failure: Failure) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-storage-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let state = directory.appendingPathComponent("state").path
        // `config check` refuses a state directory that is a file (/dev/null); one that cannot be
        // created (here under /proc, read-only even for root) is only found at start.
        let storage = failure == .stateDirectoryCannotBeCreated ? "/proc/lampd-test-state-\(UUID().uuidString.prefix(8))" : state
        let emergencyName = SpoolOpening.emergencyFileName(for: storage + "/spool.sqlite")
        defer {
            try? FileManager.default.removeItem(at: directory)
            for folder in SpoolOpening.defaultEmergencyDirectories() {
                for suffix in ["", "-wal", "-shm", ".marker"] { try? FileManager.default.removeItem(atPath: "\(folder)/\(emergencyName)\(suffix)") }
            }
        }
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        switch failure {
        case .spoolIsAFIFO: #expect(mkfifo(state + "/spool.sqlite", 0o600) == 0)
        case .spoolIsAFolder: try FileManager.default.createDirectory(atPath: state + "/spool.sqlite", withIntermediateDirectories: false)
        case .stateDirectoryCannotBeCreated: break
        }
        let config = directory.appendingPathComponent("lampd.toml")
        try SimulatedDaemon.standardConfiguration(stateDirectory: storage).write(to: config, atomically: true, encoding: .utf8)
        let socket = directory.appendingPathComponent("control.sock").path

        try await withLampd(arguments: ["--config", config.path, "--socket", socket], socket: socket, directory: directory) { daemon in
            // READY came: the lamp was commanded before it.
            let lamp = try await daemon.control.request("lamp.explain")
            #expect(lamp["ok"] as? Bool == true, "\(lamp)")
            let status = try await daemon.control.request("status")
            let result = try #require(status["result"] as? [String: Any], "\(status)")
            #expect(result["healthy"] as? Bool == false)
            let problems = (result["problems"] as? [String]) ?? []
            #expect(problems.contains { $0.hasPrefix("spool.unavailable: the spool cannot be used") }, "\(problems)")
            if failure == .stateDirectoryCannotBeCreated {
                #expect(problems.contains { $0.hasPrefix("storage.unavailable: the state directory \(storage) cannot be created") }, "\(problems)")
            }
            let events = try await daemon.control.request("events")
            #expect("\(events)".contains("spool.unavailable"))
        }
    }
}
