/// The built-in simulated configuration with the cabinet read through the
/// simulated board's Modbus DI module instead of its GPIO lines
/// (`lampd --simulate --simulate-cabinet modbus`): the same channels and
/// events, another path.
extension LampdConfiguration {
    /// The `[gpio.traffic_box]` block of `builtInSimulated`.
    static let builtInGPIOCabinet = """
    # The simulated cabinet's five contacts, under their standard channel names.
    [gpio.traffic_box]
    chip = "gpiochip0"        # on the simulated board every chip is the simulated one
    debounce = "50ms"
    """

    /// What replaces it: the same contacts on discrete inputs 0…4 of unit 2.
    static let builtInModbusCabinet = """
    # The simulated cabinet's five contacts on its 8-input Modbus DI module (unit 2 on the
    # simulated bus), read in one request every 250 ms, under their standard channel names.
    [modbus.traffic_box]
    bus = "meter-bus"
    unit = 2
    profile = "di-8"          # door = 0, flash_mode = 1, controller_fault = 2, mains_present = 3, on_battery = 4
    poll = "250ms"
    debounce_polls = 2
    """

    /// Where the built-in simulated configuration reads the cabinet's contacts.
    public enum SimulatedCabinet: String, Sendable, CaseIterable {
        case gpio, modbus
    }

    /// The built-in simulated configuration, its cabinet read through `cabinet`.
    public static func builtInSimulated(cabinet: SimulatedCabinet) -> String {
        switch cabinet {
        case .gpio: builtInSimulated
        case .modbus: builtInSimulated.replacing(builtInGPIOCabinet, with: builtInModbusCabinet)
        }
    }
}
