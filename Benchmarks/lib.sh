# Pieces the benchmark scripts share. Source it from the package root: . Benchmarks/lib.sh
# The caller sets `lampctl` and `ingest` (paths of the programs) and an array `pids` that its EXIT
# trap kills.

# Waits until FILE has a line matching PATTERN; fails at once, with FILE's last lines, when PID
# has died (an event to wait on, never a deadline).
wait_for() { # file pattern pid what
    until grep -q "$2" "$1" 2>/dev/null; do
        kill -0 "$3" 2>/dev/null || { echo "$4 died:" >&2; tail -20 "$1" >&2; exit 1; }
        sleep 0.25
    done
}

# Starts lamp-ingest on a free loopback port with its database in DIR/ingest.sqlite, and enrolls
# each board whose state directory and device name follow (its key made by `lampctl identity
# init`). Sets `ingest_url` to the batches URL to put in the boards' [uplink].
start_ingest() { # dir state_dir device [state_dir device]...
    local dir=$1 key
    shift
    while (($#)); do
        key=$("$lampctl" identity show --json --state-dir "$1" | sed -n 's/.*"publicKey" *: *"\([^"]*\)".*/\1/p')
        "$ingest" enroll --keys "$dir/enrolled-keys" --device "$2" --public-key "$key" >/dev/null
        shift 2
    done
    "$ingest" serve --db "$dir/ingest.sqlite" --keys "$dir/enrolled-keys" --port 0 > "$dir/ingest.log" 2>&1 &
    pids+=($!)
    wait_for "$dir/ingest.log" "listening on" "$!" "lamp-ingest"
    ingest_url="http://127.0.0.1:$(grep -o "listening on [0-9.]*:[0-9]*" "$dir/ingest.log" | head -1 | sed 's/.*://')/v1/batches"
}

# Starts the pymodbus peer (Tests/Peers/modbus_server.py) on loopback PORT (0: a free one), its log
# in DIR/peer.log, and sets `modbus_port`. The peer serves until its stdin closes; its stdin is a
# FIFO this shell holds open (fd 3: one peer per script), so it ends with the script and leaves no
# writer behind.
start_modbus_peer() { # dir port
    rm -f "$1/peer.in"  # left by an earlier run into the same folder
    mkfifo "$1/peer.in"
    python3 Tests/Peers/modbus_server.py --tcp "$2" < "$1/peer.in" > "$1/peer.log" 2>&1 &
    pids+=($!)
    exec 3> "$1/peer.in"
    wait_for "$1/peer.log" "^ready tcp" "$!" "the Modbus peer"
    modbus_port=$(sed -n 's/^ready tcp 127.0.0.1:\([0-9]*\)$/\1/p' "$1/peer.log")
}
