import ArgumentParser
import Hardware

/// `lampctl gpio list [--chip C]`: chips and their lines.
struct GPIOListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List GPIO chips and their lines (name, direction, user).",
        discussion: "Without --chip, lists every chip in /dev. Use --chip simulated for the simulated board."
    )

    @Option(name: .long, help: "Only this chip: gpiochip0, /dev/gpiochip0, 0, a label, or 'simulated'.")
    var chip: String?

    @OptionGroup var output: OutputOptions

    struct Report: Encodable { var chips: [GPIOChipInfo] }

    func run() async throws {
        let console = Console(output)
        let chips: [GPIOChipInfo]
        do {
            if let chip {
                chips = [try await openGPIOController(chip).info()]
            } else {
                chips = try await GPIOChip.allChips()
            }
        } catch {
            throw console.fail(error)
        }
        console.emit(Report(chips: chips))
        for (index, chip) in chips.enumerated() {
            if index > 0 { console.line("") }
            for line in Self.table(chip) { console.line(line) }
        }
    }

    /// The chip as lines of at most 80 columns.
    static func table(_ chip: GPIOChipInfo) -> [String] {
        var rows = ["\(chip.name) [\(chip.label)] \(chip.lineCount) lines"]
        rows.append(
            "  " + pad("line", 4, right: true) + "  " + pad("name", 20) + "  " + pad("dir", 6) + "  "
                + pad("active", 6) + "  " + pad("bias", 9) + "  " + "consumer")
        for line in chip.lines {
            let consumer = line.used ? (line.consumer.flatMap { $0.isEmpty ? nil : $0 } ?? "(kernel)") : "-"
            rows.append(
                "  " + pad("\(line.offset)", 4, right: true) + "  " + pad(line.name ?? "-", 20) + "  "
                    + pad(line.direction.rawValue, 6) + "  " + pad(line.activeLow ? "low" : "high", 6) + "  "
                    + pad(line.bias.rawValue, 9) + "  " + fit(consumer, 19))
        }
        return rows
    }

    /// Pads (or shortens with "…") to exactly `width` characters.
    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fitted = fit(text, width)
        let padding = String(repeating: " ", count: width - fitted.count)
        return right ? padding + fitted : fitted + padding
    }

    /// Shortens to at most `width` characters, ending with "…" when cut.
    static func fit(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }
}
