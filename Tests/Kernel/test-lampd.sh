# lampd itself on the real kernel: the cabinet contacts and the lamp relay on gpio-sim lines.
# Sourced by kernel-tests.sh: LAMPCTL, LAMPD, the chips and sim_* from init.sh, lib.sh.
state=/run/lampd-test
mkdir -p "$state"
socket=$state/control.sock
cat >"$state/lampd.toml" <<TOML
[board]
kind = "live"
id = "uml-pole-1"

[site]
latitude = 52.52
longitude = 13.405
timezone = "UTC"

[storage]
directory = "$state"
commit_window = "100ms"

[gpio.traffic_box]
chip = "$POLE_LABEL"
debounce = "50ms"

# A door contact on an expander without an interrupt: lampd must poll it.
[[gpio.inputs]]
channel = "expander.door"
chip = "$EXPANDER_LABEL"
line = "EXP_DOOR"
debounce = "50ms"
poll_interval = "50ms"

[lighting]
output = "relay"

[lighting.relay]
chip = "$POLE_LABEL"
line = "LAMP_RELAY"

[lighting.program]
from = "sunset"
to = "sunrise"

[lighting.program.switch_points]
"00:00" = 100
TOML
ctl() { timeout 10 "$LAMPCTL" "$@" --socket "$socket"; }
# lampd's log goes to the results directory on the host (kept after the guest is gone).
lampd_log=${UML_OUT:-$state}/lampd.log
events_json() { ctl events --limit 200 --json; }   # one JSON object per line
# count_events KIND: how many events of that kind lampd has recorded since it started.
count_events() {
    events_json | python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if l.strip() and json.loads(l)["kind"] == sys.argv[1]))' "$1" 2>/dev/null || echo -1
}
has_event() { [[ $(count_events "$1") -ge 1 ]]; }

section "lampd on the gpio-sim chips"
sim_pull CABINET_DOOR down; sim_pull MAINS_PRESENT up; sim_pull EXP_DOOR down
"$LAMPD" --config "$state/lampd.toml" --socket "$socket" --log-level info >"$lampd_log" 2>&1 &
lampdpid=$!
# (status exits 1 while the guest's clock is not NTP-synchronised: ask for events.)
if wait_for 30 ctl events; then pass "lampd: starts and answers on its control socket"; else
    fail "lampd: starts and answers on its control socket" "$(tail -20 "$lampd_log")"; fi
wait_for 10 bash -c "gpioinfo $POLE_CHIP | grep -q 'CABINET_DOOR\" *\"lampd\"'"
holders=$(gpioinfo "$POLE_CHIP" | grep -c '"lampd"')
expect_eq "lampd holds the relay and the five cabinet contacts" 6 "$holders"

section "a door opened by the outside level becomes ONE debounced event"
# Contact bounce first: changes a few ms apart (each a process spawn), shorter than the debounce.
sim_pull CABINET_DOOR up; sim_pull CABINET_DOOR down; sim_pull CABINET_DOOR up; sim_pull CABINET_DOOR down
sim_pull CABINET_DOOR up
if wait_for 10 has_event cabinet.door.opened; then pass "door: cabinet.door.opened recorded"; else
    fail "door: cabinet.door.opened recorded" "$(events_json)"; fi
# Let a stray second event (if the debounce were broken) arrive before counting.
sleep 0.5
expect_eq "door: exactly one opened event, no closed event" "1 0" \
    "$(count_events cabinet.door.opened) $(count_events cabinet.door.closed)"
wait_for 10 bash -c "timeout 10 \"$LAMPCTL\" spool export --socket \"$socket\" 2>/dev/null | grep -q cabinet.door.opened"
export_out=$(ctl spool export 2>&1)
expect_match "door: the event is in the spool (lampctl spool export)" "cabinet.door.opened" "$export_out"
sim_pull CABINET_DOOR down
if wait_for 10 has_event cabinet.door.closed; then pass "door: closing gives cabinet.door.closed"; else fail "door: closing gives cabinet.door.closed"; fi

section "the relay follows the arbiter"
run_cmd ctl lamp set 100 --for 10m --reason kernel-test
expect_eq "lamp set 100: exit 0" 0 "$RC"
if wait_for 15 bash -c '[[ $(sim_value LAMP_RELAY) == 1 ]]'; then pass "lamp set 100: LAMP_RELAY drives 1"; else
    fail "lamp set 100: LAMP_RELAY drives 1" "$(ctl lamp explain 2>&1)"; fi
run_cmd ctl lamp set 0 --for 10m --reason kernel-test
if wait_for 15 bash -c '[[ $(sim_value LAMP_RELAY) == 0 ]]'; then pass "lamp set 0: LAMP_RELAY drives 0"; else
    fail "lamp set 0: LAMP_RELAY drives 0" "$(ctl lamp explain 2>&1)"; fi
expect_eq "the relay line is an output held by lampd" output "$(direction_of "$POLE_CHIP" 0)"

section "a contact without an interrupt is polled"
if wait_for 10 has_event gpio.input-polled; then pass "polled: gpio.input-polled event"; else
    fail "polled: gpio.input-polled event" "$(events_json)"; fi
expect_eq "polled: the event comes once" 1 "$(count_events gpio.input-polled)"
expect_eq "polled: no input-failed alarm" 0 "$(count_events gpio.input-failed)"
sim_pull EXP_DOOR up
if wait_for 10 has_event expander.door.on; then pass "polled: a change becomes an event"; else
    fail "polled: a change becomes an event" "$(events_json)"; fi
expect_eq "polled: the log says so once" 1 "$(grep -c 'polling' "$lampd_log")"
expect_match "polled: lampctl status shows it" "expander.door.*poll" "$(ctl status 2>&1)"
expect_match "polled: lampctl selftest shows it" "gpio +polled \(no interrupt\): expander.door" "$(ctl selftest 2>&1)"
sim_pull EXP_DOOR down

kill -TERM "$lampdpid"; wait "$lampdpid"; rc=$?
expect_eq "lampd: stops cleanly on SIGTERM" 0 "$rc"
[[ $FAILED == 0 ]] || { echo "--- lampd log (last 30 lines)"; tail -30 "$lampd_log"; }
