import ArgumentParser
import Foundation
import Ingest
import Logging

/// `lamp-ingest downlink-status`: every published desired-state version and what became of it:
/// published → fetched (a board's pull was answered with it) → applied / refused: reason /
/// superseded (docs/downlink.md, "Status on the city side").
struct DownlinkStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "downlink-status",
        abstract: "Show each published desired-state version per board: published, fetched, applied, refused or superseded.",
        discussion: """
            With --ingest-store, the boards' signed downlink.applied and downlink.refused events \
            stored by lamp-ingest serve are read first and their outcomes recorded in the \
            published-state store.
            """
    )

    @Option(name: .long, help: "The published desired-state store (as given to publish and serve --desired-state).")
    var desiredState: String
    @Option(name: .long, help: "Where serve stores batches (a SQLite file or a postgres:// URL), to take the boards' outcome events from.")
    var ingestStore: String?
    @Option(name: .long, help: "Only this board.")
    var device: String?
    @Flag(name: .long, help: "JSON: an array of {device, role, version, status, publishedAt, fetchedAt, outcomeAt}.")
    var json = false

    func run() async throws {
        do {
            let location = try StoreLocation(desiredState)
            if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
                throw IngestError(
                    .invalidArgument, "no published-state store at \(path): check --desired-state (publish --desired-state creates it)")
            }
            let published = try await location.openPublishedStateStore(logger: Logger(label: "lamp-ingest"))
            defer { Task { await published.close() } }
            if let ingestStore {
                let batches = try await StoreLocation(ingestStore).open(mustExist: true, logger: Logger(label: "lamp-ingest"))
                do {
                    try await DownlinkOutcomes.record(from: batches, device: device, into: published)
                } catch {
                    await batches.close()
                    throw error
                }
                await batches.close()
            }
            let rows = try await published.history(device: device)
            if json {
                printLine(String(decoding: PublishedStatus.json(rows.map(PublishedStatus.init)), as: UTF8.self))
            } else {
                printLine("DEVICE                ROLE       VERSION  STATUS")
                for row in rows {
                    printLine(row.device.padding(toLength: 21, withPad: " ", startingAt: 0) + " " + row.role.padding(toLength: 10, withPad: " ", startingAt: 0)
                              + " " + String(row.version).padding(toLength: 8, withPad: " ", startingAt: 0) + " " + row.status)
                }
            }
        } catch let error as IngestError {
            throw fail(error)
        }
    }
}
