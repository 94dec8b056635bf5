/// A unit symbol from the IANA SenML registries, as sent in SenML's `u` field.
///
/// Two kinds exist:
/// - **primary** units: the "SenML Units" registry (RFC 8428 §12.1, extended by RFC 8798 §2),
///   e.g. `W`, `V`, `A`, `J`, `Cel`, `lx`, `%RH`, `VA`, `var`. Note that there is *no* `Wh`
///   among them: energy is `J`.
/// - **secondary** units: the "Secondary Units" registry created by RFC 8798 §3, each defined
///   as a linear transformation of a primary unit (`kWh` = 3 600 000 × `J`, `Wh` = 3600 × `J`,
///   `mA` = 0.001 × `A`, `kW` = 1000 × `W` …). RFC 8798 keeps these out of the main registry;
///   lampd accepts them so a meter's native unit is stored losslessly, and the uplink converts
///   a value in a secondary unit to its primary unit (`primary`, `scale`, `offset`) before it
///   goes into a SenML pack, so a plain RFC 8428 receiver understands every record.
public struct SenMLUnit: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Accepts a registered primary or known secondary unit symbol (case-sensitive), or "" for none.
    public init?(rawValue: String) {
        guard rawValue.isEmpty || Self.primarySymbols.contains(rawValue) || Self.secondary[rawValue] != nil else {
            return nil
        }
        self.rawValue = rawValue
    }

    /// Like `init?(rawValue:)`, throwing `TelemetryError.Code.unknownUnit` with advice.
    public init(_ symbol: String) throws(TelemetryError) {
        guard let unit = SenMLUnit(rawValue: symbol) else {
            throw TelemetryError(
                .unknownUnit,
                "unit \"\(symbol)\" is not in the SenML units registry (RFC 8428 §12.1, RFC 8798): "
                    + "use e.g. W, V, A, J, Cel, lx, %, %RH, or the secondary units Wh, kWh, kW, mA, mV"
            )
        }
        self = unit
    }

    private init(symbol: String) { self.rawValue = symbol }

    public var description: String { rawValue }

    /// True if this is a primary SenML unit (or none), usable as is in a SenML `u` field.
    public var isPrimary: Bool { Self.secondary[rawValue] == nil }

    /// For a secondary unit: the primary unit, and `value × scale + offset` converts to it.
    /// For a primary unit: itself, scale 1, offset 0.
    public var primaryConversion: (primary: SenMLUnit, scale: Double, offset: Double) {
        if let s = Self.secondary[rawValue] { return (SenMLUnit(symbol: s.primary), s.scale, s.offset) }
        return (self, 1, 0)
    }

    /// No unit (dimensionless values, booleans, strings).
    public static let none = SenMLUnit(symbol: "")
    /// Watt (active power). Primary.
    public static let watt = SenMLUnit(symbol: "W")
    /// Volt. Primary.
    public static let volt = SenMLUnit(symbol: "V")
    /// Ampere. Primary.
    public static let ampere = SenMLUnit(symbol: "A")
    /// Joule (energy). Primary: the unit energy is sent in.
    public static let joule = SenMLUnit(symbol: "J")
    /// Watt-hour. Secondary (RFC 8798 §3): 3600 J.
    public static let wattHour = SenMLUnit(symbol: "Wh")
    /// Kilowatt-hour. Secondary (RFC 8798 §3): 3 600 000 J.
    public static let kilowattHour = SenMLUnit(symbol: "kWh")
    /// Degrees Celsius. Primary.
    public static let celsius = SenMLUnit(symbol: "Cel")
    /// Lux (illuminance). Primary.
    public static let lux = SenMLUnit(symbol: "lx")
    /// Percent (0–100). Primary.
    public static let percent = SenMLUnit(symbol: "%")
    /// Relative humidity in percent. Primary.
    public static let relativeHumidity = SenMLUnit(symbol: "%RH")
    /// Hertz. Primary.
    public static let hertz = SenMLUnit(symbol: "Hz")
    /// Second. Primary.
    public static let second = SenMLUnit(symbol: "s")
    /// Counter value. Primary.
    public static let count = SenMLUnit(symbol: "count")
    /// Ratio (dimensionless, e.g. power factor). Primary.
    public static let ratio = SenMLUnit(symbol: "/")
    /// Volt-ampere (apparent power). Primary since RFC 8798.
    public static let voltAmpere = SenMLUnit(symbol: "VA")
    /// Volt-ampere reactive. Primary since RFC 8798.
    public static let voltAmpereReactive = SenMLUnit(symbol: "var")

    /// Primary units: RFC 8428 §12.1 plus RFC 8798 §2.
    static let primarySymbols: Set<String> = [
        "m", "kg", "g", "s", "A", "K", "cd", "mol", "Hz", "rad", "sr", "N", "Pa", "J", "W", "C", "V", "F",
        "Ohm", "S", "Wb", "T", "H", "Cel", "lm", "lx", "Bq", "Gy", "Sv", "kat", "m2", "m3", "l", "m/s", "m/s2",
        "m3/s", "l/s", "W/m2", "cd/m2", "bit", "bit/s", "lat", "lon", "pH", "dB", "dBW", "Bspl", "count", "/",
        "%", "%RH", "%EL", "EL", "1/s", "1/min", "beat/min", "beats", "S/m",
        // RFC 8798 §2
        "B", "VA", "VAs", "var", "vars", "J/m", "kg/m3", "deg",
    ]

    /// The subset of the RFC 8798 §3 secondary units a street-lamp board can plausibly produce.
    static let secondary: [String: (primary: String, scale: Double, offset: Double)] = [
        "ms": ("s", 1.0 / 1000, 0), "min": ("s", 60, 0), "h": ("s", 3600, 0),
        "kW": ("W", 1000, 0), "kVA": ("VA", 1000, 0), "kvar": ("var", 1000, 0),
        "Wh": ("J", 3600, 0), "kWh": ("J", 3_600_000, 0),
        "varh": ("vars", 3600, 0), "kvarh": ("vars", 3_600_000, 0),
        "VAh": ("VAs", 3600, 0), "kVAh": ("VAs", 3_600_000, 0),
        "Ah": ("C", 3600, 0), "mA": ("A", 1.0 / 1000, 0), "mV": ("V", 1.0 / 1000, 0),
        "kHz": ("Hz", 1000, 0),
    ]
}
