// Telemetry: readings, events and the spool.
