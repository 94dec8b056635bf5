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

# The port of the first "listening on HOST:PORT" line in FILE (lamp-ingest and
# Tests/Peers/fault_proxy.py say where they listen that way).
listening_port() { # file
    sed -n 's/.*listening on [0-9.]*:\([0-9][0-9]*\).*/\1/p' "$1" | sed -n 1p
}

# Enrolls in KEYS each board whose state directory and device name follow (its key made by
# `lampctl identity init`).
enroll_boards() { # keys state_dir device [state_dir device]...
    local keys=$1 key
    shift
    while (($#)); do
        key=$("$lampctl" identity show --json --state-dir "$1" | sed -n 's/.*"publicKey" *: *"\([^"]*\)".*/\1/p')
        "$ingest" enroll --keys "$keys" --device "$2" --public-key "$key" >/dev/null
        shift 2
    done
}

# Starts `lamp-ingest serve` on a free loopback port with the serve options that follow, its log in
# DIR/ingest.log, and waits until it listens (however long reading its keys takes; it failing ends
# the script with its log). Sets `ingest_pid`, `ingest_port` and `ingest_url` (the batches URL).
serve_ingest() { # dir [serve options]...
    local dir=$1
    shift
    "$ingest" serve --port 0 "$@" > "$dir/ingest.log" 2>&1 &
    ingest_pid=$!
    pids+=($ingest_pid)
    wait_for "$dir/ingest.log" "listening on" "$ingest_pid" "lamp-ingest"
    ingest_port=$(listening_port "$dir/ingest.log")
    ingest_url="http://127.0.0.1:$ingest_port/v1/batches"
}

# Starts lamp-ingest on a free loopback port with its database in DIR/ingest.sqlite, and enrolls
# each board whose state directory and device name follow. Sets `ingest_url` to the batches URL to
# put in the boards' [uplink] (and ingest_pid, ingest_port).
start_ingest() { # dir state_dir device [state_dir device]...
    local dir=$1
    shift
    enroll_boards "$dir/enrolled-keys" "$@"
    serve_ingest "$dir" --db "$dir/ingest.sqlite" --keys "$dir/enrolled-keys"
}

# Builds lampd as it ships for a release measurement (scripts/build-release: the code laid out as
# on a board), or plainly for another configuration.
build_lampd() { # configuration
    if [[ $1 == release ]]; then scripts/build-release >/dev/null; else swift build -c "$1" --product lampd >/dev/null; fi
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
