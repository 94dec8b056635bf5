/// A lamp that can only be switched: one relay on a GPIO output line.
///
/// Any level above 0 % closes the relay (the lamp runs at full power); 0 %
/// opens it.
public struct RelayLampOutput: LampOutput {
    public let relay: any DigitalOutput

    public init(relay: any DigitalOutput) {
        self.relay = relay
    }

    public var description: String { "relay \(relay.description)" }

    public func setLevel(percent: Double) async throws {
        let level = try LampLevel.effective(percent, minimumPercent: 0, output: description)
        try await relay.write(level > 0)
    }

    public func readBack() async throws -> LampOutputState {
        let closed = try await relay.read()
        return LampOutputState(switchedOn: closed, levelPercent: closed ? 100 : 0)
    }
}
