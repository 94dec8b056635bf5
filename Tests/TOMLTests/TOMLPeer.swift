import Foundation
import TOML
import Testing

/// Python 3.11's `tomllib` (Tests/Peers/toml_peer.py) as the reference for the TOML parser:
/// many documents in one `python3` run, one answer per document.
enum TOMLPeer {
    enum Answer: Equatable {
        /// Accepted, with the document's canonical form.
        case accepted(String)
        /// Accepted, but an integer does not fit 64 bits (ours refuses those: a legitimate difference).
        case acceptedBigInteger
        case refused(String)
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// tomllib's answers for `documents`, in order. Synchronous: call it from a synchronous test.
    static func answers(_ documents: [[UInt8]]) throws -> [Answer] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("toml-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in")
        let output = directory.appendingPathComponent("out")
        let hex = documents.map { $0.map { String(format: "%02x", $0) }.joined() }.joined(separator: "\n") + "\n"
        try Data(hex.utf8).write(to: input)
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot.appendingPathComponent("Tests/Peers/toml_peer.py").path]
        process.standardInput = try FileHandle(forReadingFrom: input)
        process.standardOutput = try FileHandle(forWritingTo: output)
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 Tests/Peers/toml_peer.py failed (python3 ≥ 3.11 with tomllib is needed)")
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(lines.count == documents.count, "the peer answered \(lines.count) of \(documents.count) documents")
        return lines.map { line in
            if line.hasPrefix("OK ") { return .accepted(String(line.dropFirst(3))) }
            if line == "BIG" { return .acceptedBigInteger }
            return .refused(String(line.dropFirst(4)))
        }
    }

    /// The same canonical form as toml_peer.py's.
    static func canonical(_ value: TOMLValue) -> String {
        func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }
        switch value {
        case .table(let table):
            let items = table.keys.compactMap { key in table[key].map { (hex(key), canonical($0.value)) } }.sorted { $0.0 < $1.0 }
            return "{" + items.map { "\($0.0):\($0.1)" }.joined(separator: ",") + "}"
        case .array(let elements):
            return "[" + elements.map { canonical($0.value) }.joined(separator: ",") + "]"
        case .string(let text):
            return "s" + hex(text)
        case .boolean(let flag):
            return flag ? "b1" : "b0"
        case .integer(let number):
            return "i\(number)"
        case .float(let number):
            return number.isNaN ? "fnan" : "f" + String(format: "%016llx", number.bitPattern)
        case .dateTime(let dateTime):
            let kind = switch (dateTime.date != nil, dateTime.time != nil, dateTime.offsetMinutes != nil) {
            case (true, true, true): "datetime"
            case (true, true, false): "datetime-local"
            case (true, false, _): "date-local"
            default: "time-local"
            }
            return "d\(kind):\(dateTime)"
        }
    }
}
