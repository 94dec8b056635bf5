import Foundation
import Ingest
import Testing

@Suite("docs/uplink.md §6 and the receiver agree")
struct ProtocolDocTests {
    @Test("every error code of the §6 table is one the receiver sends, with the table's status")
    func errorTable() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/uplink.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "## 6.").last)
        var checked = 0
        for line in section.split(separator: "\n") where line.hasPrefix("| 4") || line.hasPrefix("| 5") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            let statuses = cells[0].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            // The codes are the back-quoted lower-case words of the second column (not `Retry-After`).
            let codes = cells[1].split(separator: "`", omittingEmptySubsequences: false).enumerated()
                .filter { $0.offset % 2 == 1 && $0.element.allSatisfy { $0.isLowercase || $0 == "-" } }
                .map { String($0.element) }
            for code in codes {
                let known = try #require(IngestError.Code(rawValue: code), "\(code) in docs/uplink.md is not an IngestError code")
                #expect(statuses.contains(IngestError(known, "").httpStatus), "\(code): docs say \(statuses)")
                checked += 1
            }
        }
        #expect(checked >= 10)
    }
}
