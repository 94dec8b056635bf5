/// The configuration `lampd --simulate` uses when no file is given: the
/// same as `deploy/examples/simulated.toml` (a test keeps them equal).
extension LampdConfiguration {
    public static let builtInSimulated = """
    # lampd on the built-in simulated board: runs on any Linux machine.
    # Start it with:  lampd --config deploy/examples/simulated.toml

    [board]
    kind = "simulated"
    id = "sim-pole-0001"

    [site]
    latitude = 52.5200       # degrees, north positive
    longitude = 13.4050      # degrees, east positive
    timezone = "Europe/Berlin"

    [storage]
    directory = ".lampd-state"   # relative paths are relative to the working directory
    spool_max_mb = 16
    commit_window = "1s"

    # The simulated board's meter answers as unit 1.
    [[modbus.buses]]
    name = "meter-bus"
    rtu = "/dev/ttyS1"          # on the simulated board every bus is the simulated one
    timeout = "500ms"

    [[modbus.devices]]
    name = "meter"
    bus = "meter-bus"
    unit = 1
    profile = "eastron-sdm120"
    poll = "10s"

    # The simulated cabinet's five contacts, under their standard channel names.
    [gpio.traffic_box]
    chip = "gpiochip0"        # on the simulated board every chip is the simulated one
    debounce = "50ms"
    """
}
