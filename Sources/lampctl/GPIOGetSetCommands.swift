import ArgumentParser
import Hardware
import Clocks

/// `lampctl gpio get --chip C LINE`: reads one line.
struct GPIOGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Read one GPIO line (requests it as an input, then releases it).",
        discussion: "Prints 1 or 0, the logical value: with --active-low, 1 means electrically low."
    )

    @OptionGroup var lineOptions: GPIOLineOptions
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        var line: GPIOLineReport
        var value: Int
    }

    func run() async throws {
        let console = Console(output)
        do {
            let chip = try await openGPIOController(lineOptions.chip)
            let info = try await chip.lineInfo(lineOptions.selector)
            let input = try await chip.requestInput(
                lineOptions.selector, activeLow: lineOptions.activeLow, bias: lineOptions.bias,
                consumer: GPIOConsumer.cli)
            let value = try await input.read()
            let report = Report(
                line: GPIOLineReport(chip: chip.name, info: info, activeLow: lineOptions.activeLow),
                value: value ? 1 : 0)
            console.emit(report)
            console.line("\(report.line.text) = \(report.value)")
        } catch {
            throw console.fail(error)
        }
    }
}

/// `lampctl gpio set --chip C LINE 0|1 --hold 5s`: drives one line for a while.
struct GPIOSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Drive one GPIO line to 0 or 1 for a hold time, then release it.",
        discussion: """
            The line is held for --hold (default 5s), then released; after release \
            most drivers keep the last level until someone requests the line again. \
            Ctrl-C releases it early. VALUE is logical: with --active-low, 1 drives \
            the pin low.
            """
    )

    @OptionGroup var lineOptions: GPIOLineOptions

    @Argument(help: "The value to drive: 0 or 1.")
    var value: GPIOValueArgument

    @Option(name: .long, help: "How long to hold the value: 500ms, 5s, 2m (at most 24h).")
    var hold = GPIODurationArgument(argument: "5s")!

    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        var line: GPIOLineReport
        var value: Int
        var heldMilliseconds: Int64
        var released: Bool
    }

    func run() async throws {
        let console = Console(output)
        do {
            let chip = try await openGPIOController(lineOptions.chip)
            let info = try await chip.lineInfo(lineOptions.selector)
            let line = GPIOLineReport(chip: chip.name, info: info, activeLow: lineOptions.activeLow)
            let driven = try await chip.requestOutput(
                lineOptions.selector, initialValue: value.value, activeLow: lineOptions.activeLow,
                bias: lineOptions.bias, consumer: GPIOConsumer.cli)
            if !output.json { printNow("\(line.text) = \(value.value ? 1 : 0), holding for \(hold)…") }
            try await Task.sleep(for: hold.duration)
            withExtendedLifetime(driven) {}  // released here, when the request goes away
            console.emit(Report(line: line, value: value.value ? 1 : 0, heldMilliseconds: hold.milliseconds, released: true))
            console.line("released \(line.text)")
        } catch {
            throw console.fail(error)
        }
    }
}

/// `0` or `1` on the command line.
struct GPIOValueArgument: ExpressibleByArgument {
    let value: Bool

    init?(argument: String) {
        switch argument {
        case "0": value = false
        case "1": value = true
        default: return nil
        }
    }

    static var allValueStrings: [String] { ["0", "1"] }
}
