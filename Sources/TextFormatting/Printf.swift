#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value that ``Swift/String/init(printf:_:)`` can format.
public protocol PrintfArgument: Sendable {
    /// The value as one of the three kinds a conversion takes.
    var printfValue: PrintfValue { get }
}

/// What a printf conversion formats: `%d`/`%x` take integers, `%f`/`%e`/`%g` reals, `%@`/`%s` text.
public enum PrintfValue: Sendable {
    case integer(Int64)
    case real(Double)
    case text(String)
}

extension Int: PrintfArgument { public var printfValue: PrintfValue { .integer(Int64(self)) } }
extension Int32: PrintfArgument { public var printfValue: PrintfValue { .integer(Int64(self)) } }
extension Int64: PrintfArgument { public var printfValue: PrintfValue { .integer(self) } }
extension UInt8: PrintfArgument { public var printfValue: PrintfValue { .integer(Int64(self)) } }
extension UInt16: PrintfArgument { public var printfValue: PrintfValue { .integer(Int64(self)) } }
extension UInt32: PrintfArgument { public var printfValue: PrintfValue { .integer(Int64(self)) } }
extension Double: PrintfArgument { public var printfValue: PrintfValue { .real(self) } }
extension Float: PrintfArgument { public var printfValue: PrintfValue { .real(Double(self)) } }
extension String: PrintfArgument { public var printfValue: PrintfValue { .text(self) } }
extension Substring: PrintfArgument { public var printfValue: PrintfValue { .text(String(self)) } }

extension String {
    /// printf-style formatting (`"%.1f W"`, `"%02d:%02d"`, `"%@"`) without Foundation.
    ///
    /// Foundation's `String(format:)` lives in the full Foundation, which links ICU (about 40 MB)
    /// into every binary; lampd and lampctl use only `FoundationEssentials`. Numbers are formatted
    /// by the C library's `vsnprintf`, one conversion at a time, so flags, width and precision mean
    /// what they mean in C (locale "C": the decimal separator is always "."). `%@` and `%s` insert
    /// text (width pads it, precision cuts it); `%%` is a percent sign.
    ///
    /// A conversion without a matching argument, or of the wrong kind, is written as the argument's
    /// plain description (or nothing): formatting never traps.
    public init(printf format: String, _ arguments: any PrintfArgument...) {
        self = PrintfFormatter.format(format, arguments.map(\.printfValue))
    }
}

/// The parser behind ``Swift/String/init(printf:_:)``.
enum PrintfFormatter {
    static func format(_ format: String, _ arguments: [PrintfValue]) -> String {
        var output = ""
        var remaining = arguments[...]
        var scalars = format.unicodeScalars[...]
        while let scalar = scalars.popFirst() {
            guard scalar == "%" else {
                output.unicodeScalars.append(scalar)
                continue
            }
            var spec = "%"
            // Flags, width, precision and length modifiers, up to the conversion character.
            while let next = scalars.first, "-+ #0123456789.lhqjzt".unicodeScalars.contains(next) {
                scalars.removeFirst()
                if !"lhqjzt".unicodeScalars.contains(next) { spec.unicodeScalars.append(next) }
            }
            guard let conversion = scalars.popFirst() else {
                output += spec
                break
            }
            if conversion == "%" {
                output += "%"
                continue
            }
            let argument = remaining.popFirst()
            output += render(spec: spec, conversion: conversion, argument)
        }
        return output
    }

    private static func render(spec: String, conversion: Unicode.Scalar, _ argument: PrintfValue?) -> String {
        switch (conversion, argument) {
        case ("d", .integer(let value)?), ("i", .integer(let value)?):
            return c(spec + "lld", value)
        case ("u", .integer(let value)?), ("x", .integer(let value)?), ("X", .integer(let value)?), ("o", .integer(let value)?):
            return c(spec + "ll" + String(conversion), value)
        case ("d", .real(let value)?), ("i", .real(let value)?):
            return c(spec + "lld", value.isFinite ? Int64(value.rounded(.towardZero)) : 0)
        case (_, .real(let value)?) where "fFeEgGaA".unicodeScalars.contains(conversion):
            return c(spec + String(conversion), value)
        case (_, .integer(let value)?) where "fFeEgGaA".unicodeScalars.contains(conversion):
            return c(spec + String(conversion), Double(value))
        case (_, let value?):
            return pad(text(value), spec: spec)
        case (_, nil):
            return ""
        }
    }

    private static func text(_ value: PrintfValue) -> String {
        switch value {
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let value): value
        }
    }

    /// Width and precision applied to text, as C does for `%s`.
    private static func pad(_ text: String, spec: String) -> String {
        var body = spec.dropFirst()
        let leftAligned = body.contains("-")
        body = body.drop(while: { "-+ #0".contains($0) })
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        var result = text
        if parts.count == 2, let precision = Int(parts[1]), precision < result.count {
            result = String(result.prefix(precision))
        }
        if let width = parts.first.flatMap({ Int($0) }), width > result.count {
            let padding = String(repeating: " ", count: width - result.count)
            result = leftAligned ? result + padding : padding + result
        }
        return result
    }

    private static func c(_ spec: String, _ value: some CVarArg) -> String {
        withVaList([value]) { list in
            var buffer = [CChar](repeating: 0, count: 512)
            let written = Int(vsnprintf(&buffer, buffer.count, spec, list))
            if written >= buffer.count {
                buffer = [CChar](repeating: 0, count: written + 1)
                return withVaList([value]) { again in
                    _ = vsnprintf(&buffer, buffer.count, spec, again)
                    return String(decoding: buffer.prefix(written).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
            }
            return String(decoding: buffer.prefix(max(written, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
