import ArgumentParser
import FleetView
import Foundation
import Ingest

/// `lamp-ingest energy`: each pole's energy and savings over a period, with their baselines.
struct EnergyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "energy",
        abstract: "Energy per pole and for the city over a period: measured kWh, burning hours, savings with their baselines.",
        discussion: """
            The dimming saving is measured against the same burning hours at the rated power; the \
            trimming saving against sunset-to-sunrise at the pole's position at the rated power. \
            Rated power and position come from the pole inventory (--poles). See docs/energy-report.md.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: "The pole inventory, CSV: device,label,latitude,longitude,rated_power_w.")
    var poles: String

    @Option(name: .long, help: "Start of the period: Unix seconds or ISO 8601 (2026-12-06T00:00:00Z).")
    var from: String

    @Option(name: .long, help: "End of the period (at most 366 days after --from): Unix seconds or ISO 8601.")
    var to: String

    @Option(name: .long, help: "Only this pole (it must be in the inventory).")
    var device: String?

    @Flag(name: .long, help: "Print CSV (one line per pole, then the city) instead of a table.")
    var csv = false

    func run() async throws {
        do {
            let start = try ExportCommand.time(from, option: "--from")
            let end = try ExportCommand.time(to, option: "--to")
            guard end > start else {
                throw IngestError(.invalidArgument, "--to \(to) is not after --from \(from): give a later --to")
            }
            guard end - start <= EnergyReport.maximumPeriodSeconds else {
                throw IngestError(.invalidArgument, "--from \(from) … --to \(to) is longer than 366 days: report a year at most")
            }
            var inventory: PoleInventory
            do {
                inventory = try PoleInventory(csvFile: poles)
            } catch {
                throw IngestError(.invalidArgument, error.description)
            }
            if let device {
                guard let pole = inventory[device] else {
                    throw IngestError(.invalidArgument, "--device \(device) is not in the inventory \(poles): check the id (as enrolled)")
                }
                inventory = PoleInventory(poles: [pole])
            }
            let store = try await database.open(mustExist: true)
            let figures: [EnergyFigures]
            do {
                figures = try await EnergyReport.fleet(
                    inventory: inventory, from: Date(timeIntervalSince1970: start), to: Date(timeIntervalSince1970: end), store: store)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
            let labels = Dictionary(inventory.poles.map { ($0.device, $0.label) }, uniquingKeysWith: { first, _ in first })
            FileHandle.standardOutput.write(Data((csv ? EnergyReport.csv(figures, labels: labels) : EnergyReport.table(figures, labels: labels)).utf8))
        } catch {
            throw fail(error)
        }
    }
}
