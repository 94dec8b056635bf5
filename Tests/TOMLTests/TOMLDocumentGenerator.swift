import TestSupport

/// Valid TOML documents of every kind of value, key and section, from a seed: the corpus of the
/// differential tests grows beyond the examples without anyone writing documents by hand.
struct TOMLDocumentGenerator {
    var random: SeededRandom
    private var counter = 0

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func document() -> String {
        var lines: [String] = ["# generated"]
        for _ in 0..<Int.random(in: 0...4, using: &random) { lines.append(keyValue()) }
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let path = (0..<Int.random(in: 1...3, using: &random)).map { _ in key() }.joined(separator: random.pick([".", " . "]))
            lines.append(random.pick([true, false]) ? "[\(path)]" : "[[\(path)]]\(random.pick(["", "  # element"]))")
            for _ in 0..<Int.random(in: 0...4, using: &random) { lines.append(keyValue()) }
        }
        return lines.joined(separator: random.pick(["\n", "\n", "\r\n"])) + random.pick(["", "\n"])
    }

    private mutating func key() -> String {
        counter += 1
        return switch Int.random(in: 0..<6, using: &random) {
        case 0: "\"quoted \(counter) \\u00e9\""
        case 1: "'literal.\(counter)'"
        case 2: "\"ключ\(counter)\""
        case 3: "\(counter)"
        default: "key_\(counter)-x"
        }
    }

    private mutating func keyValue() -> String {
        let dotted = random.pick([true, false, false]) ? "\(key()).\(key())" : key()
        return "\(dotted) = \(value(depth: 0))\(random.pick(["", " # comment", "\t"]))"
    }

    private mutating func value(depth: Int) -> String {
        let choice = Int.random(in: 0..<(depth < 3 ? 12 : 10), using: &random)
        switch choice {
        case 0: return random.pick(["0", "+17", "-17", "1_000_000", "0xDEAD_beef", "0o755", "0b1101", "9223372036854775807", "-9223372036854775808", "-0"])
        case 1: return random.pick(["3.14", "-0.0", "6.626e-34", "1E6", "5e+22", "1_000.000_1", "inf", "-inf", "+inf", "nan", "-nan", "1e400"])
        case 2: return random.pick(["true", "false"])
        case 3: return random.pick(["\"plain\"", "\"tab\\there \\\"quoted\\\" \\\\ \\u00e9 \\U0001F600 \\b\\f\\r\\n\"", "\"\"", "\"é ünïcödé 😀\""])
        case 4: return random.pick(["'C:\\Users\\x'", "''", "'<\\i\\c*\\s*>'"])
        case 5: return random.pick(["\"\"\"\nline one\nline two\"\"\"", "\"\"\"fold \\\n    ed \\   \n  text\"\"\"", "\"\"\"quotes \"\" inside\"\"\"\"\""])
        case 6: return random.pick(["'''\nraw\\n ''' ", "'''two '' quotes'''''"])
        case 7: return random.pick(["1979-05-27T07:32:00Z", "1979-05-27T00:32:00.999999-07:00", "1979-05-27 07:32:00+05:30", "1979-05-27t07:32:00z"])
        case 8: return random.pick(["1979-05-27T07:32:00", "1979-05-27T00:32:00.5", "1979-05-27", "2000-02-29"])
        case 9: return random.pick(["07:32:00", "00:32:00.999999999", "23:59:59.1"])
        case 10:
            let elements = (0..<Int.random(in: 0...3, using: &random)).map { _ in value(depth: depth + 1) }
            let separator = random.pick([", ", ",\n  ", " , # c\n"])
            return "[" + elements.joined(separator: separator) + (elements.isEmpty ? "" : random.pick(["", ",", ",\n"])) + "]"
        default:
            let pairs = (0..<Int.random(in: 0...3, using: &random)).map { _ -> String in
                let name = random.pick([true, false]) ? "\(key()).\(key())" : key()
                return "\(name) = \(value(depth: depth + 1))"
            }
            return "{" + random.pick(["", " "]) + pairs.joined(separator: ", ") + random.pick(["", " "]) + "}"
        }
    }
}
