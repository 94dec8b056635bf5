import Foundation
import Uplink

/// Why a pole inventory file was refused: every problem found, each `line N: …` with what to change.
public struct PoleInventoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where: the file, or "the inventory" for text.
    public var source: String
    /// One line each, `line N: …` (at most `PoleInventoryCSV.maximumProblems`, then a count of the rest).
    public var problems: [String]

    public init(source: String, problems: [String]) {
        self.source = source
        self.problems = problems
    }

    public var description: String {
        "\(source) is not a usable pole inventory (\(PoleInventoryCSV.header)):\n" + problems.joined(separator: "\n")
    }
}

/// Reads the pole inventory's CSV (RFC 4180): the header `device,label,latitude,longitude,rated_power_w`,
/// then one pole per line. Fields may be quoted (`"Rue Royale, 12"`, `""` for a quote); lines end
/// with LF or CRLF; a UTF-8 byte-order mark and blank lines are ignored. Every input is hostile: a
/// bad number, NaN or infinity, a coordinate or power out of range, an unusable or duplicate device
/// id, a missing or extra column, an unclosed quote — each is reported with its line, and nothing
/// is loaded until the whole file is right.
public enum PoleInventoryCSV {
    public static let header = "device,label,latitude,longitude,rated_power_w"
    /// Larger files are refused before reading (a city of 1 000 000 poles is about 60 MB).
    public static let maximumBytes = 64 * 1024 * 1024
    /// A lamp above this is a typo (kW for W): street luminaires draw 10 W – 1 kW.
    public static let maximumRatedPowerWatts = 10_000.0
    /// A label longer than this is refused (it is shown on a phone).
    public static let maximumLabelCharacters = 200
    /// Problems listed before "… and N more".
    public static let maximumProblems = 20

    /// The poles of `text`, or every problem found.
    public static func poles(_ text: String, source: String = "the inventory") throws(PoleInventoryError) -> [Pole] {
        var problems: [String] = []
        var extraProblems = 0
        func problem(_ line: Int, _ message: String) {
            if problems.count < maximumProblems { problems.append("line \(line): \(message)") } else { extraProblems += 1 }
        }
        var records = CSVRecords(text)
        var poles: [Pole] = []
        var firstLine: [String: Int] = [:]
        var sawHeader = false
        while let record = records.next() {
            if let error = record.error {
                problem(record.line, error)
                continue
            }
            let fields = record.fields
            if fields.count == 1 && fields[0].isEmpty { continue }  // a blank line
            if !sawHeader {
                sawHeader = true
                let names = fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                if names.joined(separator: ",") != header {
                    problem(record.line, "the header is \"\(clip(fields.joined(separator: ",")))\"; the first line must be exactly \(header)")
                    break
                }
                continue
            }
            guard fields.count == 5 else {
                problem(
                    record.line,
                    "\(fields.count) columns, expected 5 (\(header)); quote a label that holds a comma: \"Rue Royale, 12\"")
                continue
            }
            let device = fields[0].trimmingCharacters(in: .whitespaces)
            var valid = true
            if device.isEmpty {
                problem(record.line, "the device is empty: give the board's device id as enrolled")
                valid = false
            } else if DeviceID(rawValue: device) == nil {
                problem(
                    record.line,
                    "device \"\(clip(device))\" is not a device id: 1–\(DeviceID.maximumLength) characters from A–Z a–z 0–9 - . _, starting with a letter or digit")
                valid = false
            } else if let first = firstLine[device] {
                problem(record.line, "device \(device) is listed already on line \(first): one line per pole")
                valid = false
            } else {
                firstLine[device] = record.line
            }
            var label = fields[1].trimmingCharacters(in: .whitespaces)
            if label.count > maximumLabelCharacters {
                problem(record.line, "the label has \(label.count) characters, at most \(maximumLabelCharacters)")
                valid = false
            } else if label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                problem(record.line, "the label holds a control character (a line break inside quotes?): write it on one line")
                valid = false
            }
            if label.isEmpty { label = device }
            let latitude = number(fields[2], "latitude", range: -90...90, unit: "degrees north (−90 … 90)", line: record.line, problem)
            let longitude = number(fields[3], "longitude", range: -180...180, unit: "degrees east (−180 … 180)", line: record.line, problem)
            let power = number(fields[4], "rated_power_w", range: 0...maximumRatedPowerWatts, unit: "watts (above 0, at most 10000)", line: record.line, problem)
            if let power, power <= 0 {
                problem(record.line, "rated_power_w is \(fields[4]): the lamp's power at 100 % must be above 0 W")
                valid = false
            }
            guard valid, let latitude, let longitude, let power, power > 0 else { continue }
            poles.append(Pole(device: device, label: label, latitudeDegrees: latitude, longitudeDegrees: longitude, ratedPowerWatts: power))
        }
        if !sawHeader { problem(1, "the file is empty; the first line must be \(header)") }
        if extraProblems > 0 { problems.append("… and \(extraProblems) more problems") }
        guard problems.isEmpty else { throw PoleInventoryError(source: source, problems: problems) }
        return poles
    }

    /// A decimal number (digits, one point, an optional sign and exponent — no NaN, infinity or hex) within `range`.
    static func number(
        _ field: String, _ name: String, range: ClosedRange<Double>, unit: String, line: Int, _ problem: (Int, String) -> Void
    ) -> Double? {
        let text = field.trimmingCharacters(in: .whitespaces)
        let allowed = Set("0123456789+-.eE")
        guard !text.isEmpty, text.count <= 40, text.allSatisfy({ allowed.contains($0) }), let value = Double(text), value.isFinite else {
            problem(line, "\(name) \"\(clip(field))\" is not a number: write it with a decimal point, e.g. 50.8503 (\(unit))")
            return nil
        }
        guard range.contains(value) else {
            problem(line, "\(name) \(text) is out of range: \(unit)")
            return nil
        }
        return value
    }

    /// At most 40 characters of hostile text, for a message.
    static func clip(_ text: String) -> String {
        let printable = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
        return printable.count > 40 ? printable.prefix(40) + "…" : printable
    }
}

/// RFC 4180 records of a text, each with the line it starts on.
struct CSVRecords: IteratorProtocol {
    struct Record {
        var line: Int
        var fields: [String]
        /// Set when the record cannot be read (an unclosed quote, text after a closing quote).
        var error: String?
    }

    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var line = 1

    init(_ text: String) {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        self.scalars = scalars
    }

    mutating func next() -> Record? {
        guard position < scalars.count else { return nil }
        let startLine = line
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var error: String?
        var inQuotes = false
        var wasQuoted = false
        while position < scalars.count {
            let scalar = scalars[position]
            position += 1
            if inQuotes {
                if scalar == "\"" {
                    if position < scalars.count, scalars[position] == "\"" {
                        field.append("\"")
                        position += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.append(scalar)
                }
                continue
            }
            switch scalar {
            case ",":
                fields.append(String(field))
                field = String.UnicodeScalarView()
                wasQuoted = false
            case "\r" where position < scalars.count && scalars[position] == "\n":
                continue
            case "\n":
                line += 1
                fields.append(String(field))
                return Record(line: startLine, fields: fields, error: error)
            case "\"" where field.isEmpty && !wasQuoted:
                inQuotes = true
                wasQuoted = true
            default:
                if wasQuoted, error == nil {
                    error = "text after a closing quote in column \(fields.count + 1): quote the whole field and double a quote inside it (\"\")"
                }
                field.append(scalar)
            }
        }
        if inQuotes {
            error = "a quoted field in column \(fields.count + 1) is never closed: add the closing quote"
        }
        fields.append(String(field))
        return Record(line: startLine, fields: fields, error: error)
    }
}

extension PoleInventory {
    /// The inventory of a CSV text (`PoleInventoryCSV`).
    public init(csv text: String, source: String = "the inventory") throws(PoleInventoryError) {
        self.init(poles: try PoleInventoryCSV.poles(text, source: source))
    }

    /// The inventory of a CSV file, refused when larger than `PoleInventoryCSV.maximumBytes` or not UTF-8.
    public init(csvFile path: String) throws(PoleInventoryError) {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = (attributes?[.size] as? NSNumber)?.intValue else {
            throw PoleInventoryError(source: path, problems: ["cannot read the file: check the path and its permissions"])
        }
        guard size <= PoleInventoryCSV.maximumBytes else {
            throw PoleInventoryError(
                source: path, problems: ["the file has \(size) bytes, more than \(PoleInventoryCSV.maximumBytes): is it the right file?"])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PoleInventoryError(source: path, problems: ["cannot read the file: check the path and its permissions"])
        }
        guard data.count <= PoleInventoryCSV.maximumBytes else {
            throw PoleInventoryError(source: path, problems: ["the file grew past \(PoleInventoryCSV.maximumBytes) bytes while read"])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PoleInventoryError(source: path, problems: ["the file is not UTF-8 text: save it as CSV UTF-8"])
        }
        try self.init(csv: text, source: path)
    }
}
