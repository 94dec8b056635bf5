import ControlProtocol
import FoundationEssentials

/// Text a control client sent (its claimed user, SSH address and tool, an override's reason),
/// made safe for a log line, an event and an override record.
///
/// A label keeps every printable character, escapes control and invisible formatting
/// characters (a newline becomes `\n`, ESC `\u{1B}`, a bidirectional override `\u{202E}`), so a
/// client cannot start a new log line or repaint a terminal, and is cut to a maximum length,
/// marked with `…`. Escaping is idempotent: a label passed through again is unchanged.
public enum ClientText {
    /// `text` escaped and cut to at most `maximumCharacters` characters (plus `…` when cut).
    public static func label(_ text: String, maximumCharacters: Int) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            let piece = escaped(scalar)
            count += piece.count
            guard count <= maximumCharacters else { return result + "…" }
            result += piece
        }
        return result
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default: break
        }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse:
            return "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
        default:
            return String(scalar)
        }
    }
}

extension ClaimedOrigin {
    /// Longest claimed user, SSH address or tool kept, in characters.
    public static let maximumCharacters = 64

    /// The claims as labels (`ClientText.label`): escaped, at most `maximumCharacters` each.
    public var labelled: ClaimedOrigin {
        func label(_ text: String?) -> String? {
            text.map { ClientText.label($0, maximumCharacters: Self.maximumCharacters) }
        }
        return ClaimedOrigin(user: label(user), ssh: label(ssh), tool: label(tool))
    }
}
