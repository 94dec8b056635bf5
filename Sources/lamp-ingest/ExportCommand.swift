import ArgumentParser
import Foundation
import Ingest

/// `lamp-ingest export`: stored readings and events as SenML-JSON.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export stored readings and events as SenML-JSON (RFC 8428), resolved names and times.",
        discussion: "Each stored batch is verified again with the key that verified it on arrival."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case senmlJSON = "senml-json"
    }

    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: "Only this device.")
    var device: String?

    @Option(name: .long, help: "Only batches with this sequence or later.")
    var fromSequence: UInt64?

    @Option(name: .long, help: "Only batches with this sequence or earlier.")
    var toSequence: UInt64?

    @Option(name: .long, help: "Only records at or after this time: Unix seconds or ISO 8601 (2025-10-01T18:00:00Z).")
    var since: String?

    @Option(name: .long, help: "Only records at or before this time: Unix seconds or ISO 8601.")
    var until: String?

    @Option(name: .long, help: "Output format.")
    var format = Format.senmlJSON

    @Option(name: .shortAndLong, help: "Write to this file instead of stdout.")
    var output: String?

    func run() async throws {
        do {
            let filter = ExportFilter(
                device: device, fromSequence: fromSequence, toSequence: toSequence,
                since: try since.map { try Self.time($0, option: "--since") },
                until: try until.map { try Self.time($0, option: "--until") })
            let store = try await database.open(mustExist: true)
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil) else {
                    throw IngestError(.invalidArgument, "cannot create \(output): check the folder and its permissions")
                }
                handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            } else {
                handle = FileHandle.standardOutput
            }
            let count = try await SenMLExporter(store: store).export(filter) { text in
                try handle.write(contentsOf: Data(text.utf8))
            }
            await store.close()
            if output != nil {
                try handle.close()
                printError("exported \(count) records to \(output ?? "")")
            }
        } catch {
            throw fail(error)
        }
    }

    static func time(_ text: String, option: String) throws(IngestError) -> Double {
        if let seconds = Double(text), seconds.isFinite { return seconds }
        if let date = ISO8601DateFormatter().date(from: text) { return date.timeIntervalSince1970 }
        throw IngestError(.invalidArgument, "\(option) \(text) is neither Unix seconds nor ISO 8601 (2025-10-01T18:00:00Z)")
    }
}
