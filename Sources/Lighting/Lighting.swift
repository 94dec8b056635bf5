// Lighting: pure logic (solar calculator, calendars, overrides, arbitration). No I/O, no clocks.
