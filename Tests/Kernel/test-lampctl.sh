# lampctl gpio against the real kernel, as a technician uses it (docs/gpio-and-pwm.md).
# Sourced by kernel-tests.sh: LAMPCTL, the chips and sim_* from init.sh, lib.sh.
POLE=$POLE_LABEL
scratch=$(mktemp -d)

# watch_up_down CHIP LINE OUT: `lampctl gpio watch --count 2` while the outside level of
# LINE goes up, then (once the rising edge is printed) down; WATCH_RC is its exit status.
watch_up_down() {
    "$LAMPCTL" gpio watch --chip "$1" "$2" --count 2 --timeout 30s >"$3" 2>&1 &
    local pid=$!
    wait_for 10 file_has "$3" "^watching"
    sim_pull "$2" up
    wait_for 10 file_has "$3" "rising"
    sim_pull "$2" down
    wait "$pid"; WATCH_RC=$?
}
edges_in() { awk '/rising|falling/ { print $2 }' "$1" | tr '\n' ' '; }

section "list"
run_cmd "$LAMPCTL" gpio list
expect_eq "list: exit 0" 0 "$RC"
expect_match "list: every chip with its label" "$POLE_CHIP \[lampd-pole-sim\] 8 lines" "$OUT"
expect_match "list: the expander too" "\[lampd-expander-sim\] 4 lines" "$OUT"
expect_match "list: line names" "0  LAMP_RELAY +(input|output)" "$OUT"
run_cmd "$LAMPCTL" gpio list --chip "$POLE" --json
names=$(python3 -c 'import json,sys; c=json.load(sys.stdin)["chips"][0]; print(c["label"], c["lineCount"], ",".join(l["name"] or "-" for l in c["lines"]))' <<<"$OUT")
expect_eq "list --chip LABEL --json: label, count, names" \
    "lampd-pole-sim 8 LAMP_RELAY,CABINET_DOOR,FLASH_MODE,CONTROLLER_FAULT,MAINS_PRESENT,ON_BATTERY,PHOTOCELL,SPARE_IN" "$names"

section "get by name, offset, path and number; active-low; bias"
sim_pull CABINET_DOOR up
run_cmd "$LAMPCTL" gpio get --chip "$POLE" CABINET_DOOR
expect_eq "get by name (door pulled high)" "$POLE_CHIP:1 (CABINET_DOOR) = 1" "$OUT"
run_cmd "$LAMPCTL" gpio get --chip "/dev/$POLE_CHIP" 1
expect_eq "get by /dev path and offset" "$POLE_CHIP:1 (CABINET_DOOR) = 1" "$OUT"
run_cmd "$LAMPCTL" gpio get --chip "${POLE_CHIP#gpiochip}" 1 --json
value=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["line"]["name"], r["value"])' <<<"$OUT")
expect_eq "get by chip number, --json" "CABINET_DOOR 1" "$value"
run_cmd "$LAMPCTL" gpio get --chip "$POLE" CABINET_DOOR --active-low
expect_eq "get --active-low reads the inverse" "$POLE_CHIP:1 (CABINET_DOOR) active-low = 0" "$OUT"
sim_pull CABINET_DOOR down
run_cmd "$LAMPCTL" gpio get --chip "$POLE" CABINET_DOOR
expect_eq "get follows the outside level" "$POLE_CHIP:1 (CABINET_DOOR) = 0" "$OUT"
run_cmd "$LAMPCTL" gpio get --chip "$POLE" PHOTOCELL --bias pull-up
expect_eq "get --bias pull-up on a floating line reads 1" "$POLE_CHIP:6 (PHOTOCELL) = 1" "$OUT"
run_cmd "$LAMPCTL" gpio get --chip "$POLE" PHOTOCELL --bias pull-down
expect_eq "get --bias pull-down reads 0" "$POLE_CHIP:6 (PHOTOCELL) = 0" "$OUT"
run_cmd "$LAMPCTL" gpio get --chip "$POLE" NO_SUCH_LINE
expect_eq "unknown line name: exit 1" 1 "$RC"
expect_match "unknown line name: names the chip's lines" "no line named 'NO_SUCH_LINE'.*LAMP_RELAY" "$ERR"
run_cmd "$LAMPCTL" gpio get --chip "$POLE" 8
expect_match "offset out of range" "offset 8 is out of range.*8 lines" "$ERR"
run_cmd "$LAMPCTL" gpio get --chip gpiochip99 1
expect_match "missing chip lists the chips" "not found; chips on this machine: .*$POLE_CHIP" "$ERR"
run_cmd "$LAMPCTL" gpio get --chip /dev/null 1
expect_eq "--chip /dev/null: exit 1" 1 "$RC"
expect_match "--chip /dev/null: says it is not a GPIO chip" "/dev/null is not a GPIO chip" "$ERR"

section "set with hold; busy line names its holder"
"$LAMPCTL" gpio set --chip "$POLE" LAMP_RELAY 1 --hold 3s >"$scratch/set.out" 2>&1 &
setpid=$!
if wait_for 10 file_has "$scratch/set.out" "holding for"; then pass "set: announces the hold"; else fail "set: announces the hold" "$(cat "$scratch/set.out")"; fi
expect_eq "set: the pin carries 1 during the hold" 1 "$(sim_value LAMP_RELAY)"
expect_eq "set: gpioinfo shows an output" output "$(direction_of "$POLE_CHIP" 0)"
run_cmd "$LAMPCTL" gpio get --chip "$POLE" LAMP_RELAY
expect_eq "busy: exit 1" 1 "$RC"
expect_match "busy: names the holder" "is busy: held by 'lampctl'" "$ERR"
wait "$setpid"; rc=$?
expect_eq "set: exit 0 after the hold" 0 "$rc"
expect_match "set: says it released the line" "released $POLE_CHIP:0 \(LAMP_RELAY\)" "$(cat "$scratch/set.out")"
gpioset --mode=signal "$POLE_CHIP" 7=1 &
gpiosetpid=$!
wait_for 5 bash -c "gpioinfo $POLE_CHIP | grep -q '\"gpioset\"'"
run_cmd "$LAMPCTL" gpio get --chip "$POLE" SPARE_IN --json
code=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["code"])' <<<"$OUT" 2>&1)
expect_eq "busy (another program), --json: error code" gpio.line-busy "$code"
expect_match "busy (another program): names it" "held by 'gpioset'" "$OUT"
kill "$gpiosetpid"; wait "$gpiosetpid" 2>/dev/null

section "hazard 1: get on an output leaves it as it is"
# LAMP_RELAY configured as an output and driven, then left with no holder (as after
# a board's boot-time pin setup). gpio-sim gives an unheld line its pull value.
gpioset --mode=exit "$POLE_CHIP" 0=1
sim_pull LAMP_RELAY up
before_dir=$(direction_of "$POLE_CHIP" 0); before_value=$(sim_value LAMP_RELAY)
expect_eq "setup: LAMP_RELAY is an output driving 1, unheld" "output 1" "$before_dir $before_value"
run_cmd "$LAMPCTL" gpio get --chip "$POLE" LAMP_RELAY
expect_eq "get on an output: exit 0" 0 "$RC"
expect_match "get on an output: says it is an output and what it drives" "= 1 .*output.*LAMP_RELAY|LAMP_RELAY.*= 1.*output" "$OUT"
expect_eq "get on an output: direction unchanged" output "$(direction_of "$POLE_CHIP" 0)"
expect_eq "get on an output: value unchanged" 1 "$(sim_value LAMP_RELAY)"
run_cmd "$LAMPCTL" gpio get --chip "$POLE" LAMP_RELAY --json
fields=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["value"], r.get("direction"))' <<<"$OUT" 2>&1)
expect_eq "get on an output --json: value and direction" "1 output" "$fields"
expect_eq "get --json on an output: direction still unchanged" output "$(direction_of "$POLE_CHIP" 0)"
sim_pull LAMP_RELAY down

section "watch: edges with kernel timestamps"
watch_up_down "$POLE" CABINET_DOOR "$scratch/watch.out"
uptime_now=$(cut -d' ' -f1 /proc/uptime)
expect_eq "watch: exit 0 after --count edges" 0 "$WATCH_RC"
expect_eq "watch: a rising then a falling edge" "rising falling " "$(edges_in "$scratch/watch.out")"
stamps_ok=$(awk -v now="$uptime_now" '/rising|falling/ { t[n++] = $1 } END { print (n == 2 && t[0] > 0 && t[0] <= t[1] && t[1] <= now + 0.01) ? "yes" : "no" }' "$scratch/watch.out")
expect_eq "watch: timestamps are CLOCK_MONOTONIC, increasing, not in the future" yes "$stamps_ok"
expect_match "watch: summary" "2 edges seen" "$(cat "$scratch/watch.out")"
"$LAMPCTL" gpio watch --chip "$POLE" CABINET_DOOR --count 1 --timeout 30s --json >"$scratch/watch.json" 2>"$scratch/watch.err" &
watchpid=$!
wait_for 10 bash -c "gpioinfo $POLE_CHIP | grep -q '\"lampctl\"'"
sim_pull CABINET_DOOR up
wait "$watchpid"; rc=$?
edge=$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print(r[0]["edge"], r[0]["value"], r[0]["monotonicNanoseconds"] > 0)' "$scratch/watch.json" 2>&1)
expect_eq "watch --json: one object per edge" "rising 1 True" "$edge"
sim_pull CABINET_DOOR down
"$LAMPCTL" gpio watch --chip "$POLE" CABINET_DOOR --timeout 2s >"$scratch/watch-timeout.out" 2>&1
expect_eq "watch: exit 0 at --timeout" 0 "$?"
expect_match "watch: summary at --timeout" "0 edges seen" "$(cat "$scratch/watch-timeout.out")"

section "Ctrl-C (SIGINT) in watch and set"
env --default-signal=INT "$LAMPCTL" gpio watch --chip "$POLE" FLASH_MODE >"$scratch/int.out" 2>&1 &
pid=$!
wait_for 10 file_has "$scratch/int.out" "^watching"
sim_pull FLASH_MODE up; wait_for 10 file_has "$scratch/int.out" "rising"
kill -INT "$pid"; wait "$pid"; rc=$?
expect_eq "watch Ctrl-C: exit 0" 0 "$rc"
expect_match "watch Ctrl-C: prints the summary" "1 edge seen" "$(cat "$scratch/int.out")"
sim_pull FLASH_MODE down
env --default-signal=INT "$LAMPCTL" gpio watch --chip "$POLE" FLASH_MODE --json >"$scratch/int.json" 2>"$scratch/int.err" &
pid=$!
wait_for 10 bash -c "gpioinfo $POLE_CHIP | grep -q '\"lampctl\"'"
kill -INT "$pid"; wait "$pid"; rc=$?
last=$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print(r[-1].get("summary", {}).get("edges"), r[-1].get("summary", {}).get("interrupted"))' "$scratch/int.json" 2>&1)
expect_eq "watch --json Ctrl-C: exit 0" 0 "$rc"
expect_eq "watch --json Ctrl-C: closes with a summary object" "0 True" "$last"
env --default-signal=INT "$LAMPCTL" gpio set --chip "$POLE" SPARE_IN 1 --hold 60s >"$scratch/setint.out" 2>&1 &
pid=$!
wait_for 10 file_has "$scratch/setint.out" "holding for"
kill -INT "$pid"; wait "$pid"; rc=$?
expect_eq "set Ctrl-C: exit 0" 0 "$rc"
expect_match "set Ctrl-C: released early, says so" "released .*SPARE_IN.* early" "$(cat "$scratch/setint.out")"
expect_eq "set Ctrl-C: the line is free again" "" "$(gpioinfo "$POLE_CHIP" | grep '"lampctl"')"

section "hazard 2: a line without an interrupt is polled"
run_cmd timeout 2 gpiomon --num-events=1 "$EXPANDER_CHIP" 0
expect_match "setup: the kernel refuses edges on the expander (ENODEV)" "No such device" "$ERR"
watch_up_down "$EXPANDER_LABEL" EXP_DOOR "$scratch/poll.out"
expect_eq "polled watch: exit 0" 0 "$WATCH_RC"
expect_eq "polled watch: says so once, naming the cause" 1 "$(line_count "$scratch/poll.out" "line has no interrupt; edges cannot be watched, polling instead")"
expect_eq "polled watch: a rising then a falling edge" "rising falling " "$(edges_in "$scratch/poll.out")"

section "permission denied as a non-root user"
run_cmd setpriv --reuid=65534 --regid=65534 --clear-groups "$LAMPCTL" gpio get --chip "/dev/$POLE_CHIP" 1
expect_eq "non-root: exit 1" 1 "$RC"
expect_match "non-root: permission denied with what to do" "permission denied .*'gpio' group" "$ERR"
run_cmd setpriv --reuid=65534 --regid=65534 --clear-groups "$LAMPCTL" gpio list --json
expect_match "non-root list --json: gpio.permission-denied" '"code" : "gpio.permission-denied"' "$OUT"

section "the chip disappears mid-watch"
"$LAMPCTL" gpio watch --chip "$VANISH_LABEL" VANISH_IN --timeout 30s >"$scratch/vanish.out" 2>&1 &
pid=$!
wait_for 10 file_has "$scratch/vanish.out" "^watching"
sim_unplug VANISH
if wait_for 10 bash -c "! kill -0 $pid"; then pass "vanish: watch ends by itself"; else fail "vanish: watch ends by itself"; kill "$pid"; fi
wait "$pid"; rc=$?
expect_eq "vanish: exit 1" 1 "$rc"
expect_match "vanish: says the chip is gone" "gpiochip[0-9]+ disappeared" "$(cat "$scratch/vanish.out")"
irqs_exhaust
run_cmd timeout 2 gpiomon --num-events=1 "$EXPANDER_CHIP" 0
expect_match "setup: the expander still has no interrupt after the unplug" "No such device" "$ERR"
rm -rf "$scratch"
