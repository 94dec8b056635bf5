import ArgumentParser
import FoundationEssentials
import Hardware
import Clocks
import Telemetry

/// `lampctl gpio get --chip C LINE`: reads one line.
struct GPIOGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Read one GPIO line (without changing it), then release it.",
        discussion: """
            Prints 1 or 0, the logical value: with --active-low, 1 means electrically low. An \
            input is requested as an input (with --bias if given). An output (a relay line) is \
            read as it is: its direction and the level it drives are left unchanged, and the \
            output says so.
            """
    )

    @OptionGroup var lineOptions: GPIOLineOptions
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        var line: GPIOLineReport
        var value: Int
        /// `output` when the line is an output, read as it is (left driving `value`).
        var direction: GPIOLineDirection
    }

    func run() async throws {
        let console = Console(output)
        do {
            let chip = try await openGPIOController(lineOptions.chip)
            let info = try await chip.lineInfo(lineOptions.selector)
            let line = GPIOLineReport(chip: chip.name, info: info, activeLow: lineOptions.activeLow)
            let value: Bool
            if info.direction == .output {
                // Requesting an output as an input would drop what it drives (a relay: the lamp).
                guard lineOptions.bias == .asIs else {
                    throw console.usage(
                        "\(line.text) is an output: --bias applies to inputs only. Leave out --bias to read "
                            + "the output as it is (unchanged).")
                }
                value = try await chip.requestAsIs(
                    lineOptions.selector, activeLow: lineOptions.activeLow, consumer: GPIOConsumer.cli
                ).read()
            } else {
                value = try await chip.requestInput(
                    lineOptions.selector, activeLow: lineOptions.activeLow, bias: lineOptions.bias,
                    consumer: GPIOConsumer.cli
                ).read()
            }
            let report = Report(line: line, value: value ? 1 : 0, direction: info.direction)
            console.emit(report)
            if info.direction == .output {
                let drives = info.name.map { "output driving \($0)" } ?? "output"
                console.line("\(line.text) = \(report.value) (\(drives); read as it is, direction and level unchanged)")
            } else {
                console.line("\(line.text) = \(report.value)")
            }
        } catch let exit as ExitCode {
            throw exit
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
            Ctrl-C releases it early (exit 0, says so). VALUE is logical: with \
            --active-low, 1 drives the pin low.
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
        /// True when Ctrl-C ended the hold early.
        var interrupted: Bool
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
            let start = ContinuousClock.now
            let hold = self.hold.duration
            let (_, interrupted) = try await GPIOInterrupt.run { try? await Task.sleep(for: hold) }
            let held = (ContinuousClock.now - start).milliseconds
            withExtendedLifetime(driven) {}  // released here, when the request goes away
            console.emit(Report(
                line: line, value: value.value ? 1 : 0, heldMilliseconds: interrupted ? held : self.hold.milliseconds,
                released: true, interrupted: interrupted))
            console.line(interrupted ? "released \(line.text) early (Ctrl-C) after \(held) ms" : "released \(line.text)")
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
