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
    telemetry_commit_window = "5s"   # readings; events and alarms are written at once (docs/spool.md)

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

    # The lamp: relay + PWM dimming, dusk to dawn with midnight dimming.
    [lighting]
    output = "relay+pwm"        # "relay", "relay+pwm" or "modbus"
    fail_safe_level = 100       # % when nothing can be trusted (no clock sync, no photocell)

    [lighting.relay]
    chip = "gpiochip0"          # on the simulated board: its LAMP_RELAY line
    line = "LAMP_RELAY"

    [lighting.pwm]
    chip = 0                    # on the simulated board: its simulated-pwm0 channel
    channel = 0
    period = "1ms"
    min_level = 10              # % — the driver's lowest stable level

    [lighting.lamp]
    name = "LED 60 W"
    nominal_watts = 60
    minimum_watts = 6
    standby_watts = 0.5
    tolerance_percent = 15
    warm_up = "30s"

    [lighting.program]
    from = "sunset+00:10"       # lit from ten minutes after sunset ...
    to = "sunrise-00:10"        # ... until ten minutes before sunrise

    [lighting.program.switch_points]
    "23:00" = { level = 60, ramp = "5m" }   # midnight dimming
    "05:00" = 100

    [lighting.override]
    technician_default = "2h"
    technician_maximum = "12h"
    """
}
