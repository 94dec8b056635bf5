#!/bin/bash
# PID 1 inside the User-Mode Linux guest started by run-in-uml.sh.
# Adapted from the worked recipe in /work/shared/reference/uml-gpio/init.sh.
#
# The guest's root filesystem is the host's / (hostfs, read-only), so host
# binaries (gpiod tools, the project's debug build) run unchanged. This script:
#   1. mounts proc, sysfs, devtmpfs, configfs, debugfs and tmpfs scratch dirs;
#   2. mounts the run's output directory read-write (hostfs);
#   3. creates gpio-sim chips laid out like a pole (below);
#   4. runs the test script ($UML_TEST, arguments after "--" on the kernel
#      command line), tee'ing its output to the console and $UML_OUT/test.log;
#   5. writes the test's exit status to $UML_OUT/status and powers off.
#
# The chips (gpio-sim through configfs):
#   lampd-pole-sim      (bank POLE)     the controller's own pins:
#       0 LAMP_RELAY  1 CABINET_DOOR  2 FLASH_MODE  3 CONTROLLER_FAULT
#       4 MAINS_PRESENT  5 ON_BATTERY  6 PHOTOCELL  7 SPARE_IN
#   lampd-expander-sim  (bank EXPANDER) an I2C expander without an interrupt pin:
#       0 EXP_DOOR  1 EXP_IN1  2 EXP_IN2  3 EXP_IN3
#       every edge request on these lines fails with ENODEV, as on such a board.
#   lampd-vanish-sim    (bank VANISH)   a chip a test may unplug (sim_unplug):
#       0 VANISH_IN  1 VANISH_OUT
# How "no interrupt" is made real: gpio-sim gives every line an interrupt from
# the kernel's pool when an edge request first asks for it. A 6.1 UML kernel
# with PCI_MSI has 64 spare interrupt numbers; init maps the pole and vanish
# lines first, then asks for edges on every line of a 64-line filler chip
# (lampd-irq-filler), which uses up the rest. From then on gpiod_to_irq()
# fails for every line not mapped before, and the kernel answers an edge
# request on it with ENODEV — the same errno a real line without interrupt
# support gives. (Removing a chip returns its interrupts: a test that calls
# sim_unplug calls irqs_exhaust again once the lines' holders are gone.)
#
# Inputs (kernel command-line "NAME=value" words become init's environment):
#   UML_TEST  absolute path of the test script (run with bash)
#   UML_OUT   absolute path of a host directory for results (must exist)
#   UML_CWD   directory to run the test in (default /)
# Environment given to the test:
#   POLE_CHIP, EXPANDER_CHIP, VANISH_CHIP   e.g. gpiochip0 (kernel names)
#   POLE_LABEL, EXPANDER_LABEL, VANISH_LABEL
#   functions: sim_pull LINE up|down (the outside level of a line that nobody drives),
#              sim_value LINE (what the pin carries now: 0 or 1),
#              sim_unplug BANK (write 0 to the device's configfs `live`),
#              irqs_exhaust (use up the interrupts an unplugged chip gave back)
#   LINE is a line name from the table above (or POLE offset).
#   UML_BOOT_TO_INIT_S  seconds from kernel start to this script
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb

log() { echo "[uml-init] $*"; }

power_off() {
    sync
    # systemd's and busybox's "poweroff -f" call reboot(2) directly, no init needed.
    poweroff -f >/dev/null 2>&1
    busybox poweroff -f >/dev/null 2>&1
    python3 -c 'import ctypes; ctypes.CDLL(None).reboot(0x4321fedc)' >/dev/null 2>&1
    echo o > /proc/sysrq-trigger 2>/dev/null
    log "could not power off; halting here"
    while :; do sleep 3600; done
}
setup_failed() { log "setup failed: $*"; echo 1 > "$UML_OUT/status"; power_off; }

mount -t proc proc /proc
boot_to_init=$(cut -d' ' -f1 /proc/uptime)
export UML_BOOT_TO_INIT_S=$boot_to_init
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm 2>/dev/null
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm
mount -t configfs configfs /sys/kernel/config
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# The host's / (with /tmp) is read-only unless UML_ROOT_RW=1; /run is the
# guest's own tmpfs and TMPDIR points there.
mount -t tmpfs tmpfs /run
mkdir -p /run/tmp && chmod 1777 /run/tmp && export TMPDIR=/run/tmp

if [[ -z ${UML_OUT:-} || -z ${UML_TEST:-} ]]; then
    log "UML_OUT and UML_TEST must be set on the kernel command line (use run-in-uml.sh)"; power_off
fi
# The output directory is the only place the guest can write on the host.
mount -t hostfs hostfs "$UML_OUT" -o "$UML_OUT" || { log "cannot mount $UML_OUT"; power_off; }
echo "boot_to_init_s=$boot_to_init" > "$UML_OUT/timings"
log "init started ${boot_to_init}s after kernel start ($(uname -r))"

# ---- gpio-sim chips ----------------------------------------------------------
CONFIGFS=/sys/kernel/config/gpio-sim
declare -A LINE_BANK LINE_OFFSET   # line name -> bank (POLE/EXPANDER/VANISH), offset
declare -A BANK_DEVICE             # bank -> configfs device directory

# make_chip BANK DEVICE LABEL NAME... : one gpio-sim device with one bank; "" = unnamed line
make_chip() {
    local bank=$1 device=$2 label=$3; shift 3
    local cfg=$CONFIGFS/$device names=("$@") i
    mkdir "$cfg" "$cfg/bank0" || setup_failed "gpio-sim: cannot create $device (CONFIG_GPIO_SIM?)"
    echo "$label" > "$cfg/bank0/label"
    echo "${#names[@]}" > "$cfg/bank0/num_lines"
    for i in "${!names[@]}"; do
        [[ -n ${names[$i]} ]] || continue
        mkdir "$cfg/bank0/line$i"
        echo "${names[$i]}" > "$cfg/bank0/line$i/name"
        LINE_BANK[${names[$i]}]=$bank; LINE_OFFSET[${names[$i]}]=$i
    done
    echo 1 > "$cfg/live" || setup_failed "gpio-sim: cannot make $device live"
    BANK_DEVICE[$bank]=$cfg
    local chip; chip=$(cat "$cfg/bank0/chip_name")
    printf -v "${bank}_CHIP" '%s' "$chip"
    printf -v "${bank}_LABEL" '%s' "$label"
    printf -v "${bank}_SYSFS" '%s' "/sys/devices/platform/$(cat "$cfg/dev_name")/$chip"
    export "${bank}_CHIP" "${bank}_LABEL" "${bank}_SYSFS"
    log "gpio-sim: $device = /dev/$chip [$label], ${#names[@]} lines"
}

make_chip POLE pole lampd-pole-sim \
    LAMP_RELAY CABINET_DOOR FLASH_MODE CONTROLLER_FAULT MAINS_PRESENT ON_BATTERY PHOTOCELL SPARE_IN
make_chip VANISH vanish lampd-vanish-sim VANISH_IN VANISH_OUT
make_chip EXPANDER expander lampd-expander-sim EXP_DOOR EXP_IN1 EXP_IN2 EXP_IN3
filler_names=(); for ((i = 0; i < 64; i++)); do filler_names+=(""); done
make_chip FILLER irq-filler lampd-irq-filler "${filler_names[@]}"

# Give every pole and vanish line its interrupt now (an edge request maps it for
# the chip's lifetime), then use up every interrupt number that is left.
timeout 0.5 gpiomon "$POLE_CHIP" 0 1 2 3 4 5 6 7 >/dev/null 2>&1
timeout 0.5 gpiomon "$VANISH_CHIP" 0 1 >/dev/null 2>&1
irqs_exhaust() {
    local offsets; offsets=$(seq 0 63)
    # Fails with ENODEV at the first line it cannot map; all before it stay mapped.
    # Exit 124 (timeout) would mean all 64 got one: then interrupts are left over.
    timeout 0.5 gpiomon "$FILLER_CHIP" $offsets >/dev/null 2>&1
    [[ $? != 124 ]] || { echo "irqs_exhaust: 64 lines got interrupts and some are left" >&2; return 1; }
}
irqs_exhaust || setup_failed "could not use up the spare interrupts"
timeout 0.5 gpiomon "$EXPANDER_CHIP" 0 >/dev/null 2>&1
[[ $? != 124 ]] || setup_failed "an edge request on the expander did not fail"

# sim_pull LINE up|down: the simulated outside level (what the pin reads when nobody drives it).
sim_pull() {
    [[ -v LINE_BANK[@] ]] || eval "$SIM_TABLES"
    local bank=${LINE_BANK[$1]:-POLE} offset=${LINE_OFFSET[$1]:-$1} sysfs
    sysfs=${bank}_SYSFS
    echo "pull-$2" > "${!sysfs}/sim_gpio$offset/pull"
}
# sim_value LINE: the line's electrical value now as the simulator sees it (driven or pulled).
sim_value() {
    [[ -v LINE_BANK[@] ]] || eval "$SIM_TABLES"
    local bank=${LINE_BANK[$1]:-POLE} offset=${LINE_OFFSET[$1]:-$1} sysfs
    sysfs=${bank}_SYSFS
    cat "${!sysfs}/sim_gpio$offset/value"
}
# sim_unplug BANK: the chip disappears (as an unplugged USB or I2C expander would).
# Its interrupts go back to the pool once every process that held its lines has
# closed them: call irqs_exhaust then, or the expander's lines could get one.
sim_unplug() {
    [[ -v BANK_DEVICE[@] ]] || eval "$SIM_TABLES"
    echo 0 > "${BANK_DEVICE[$1]}/live"
}
export -f sim_pull sim_value sim_unplug irqs_exhaust
# Associative arrays cannot be exported: the functions above (in a test or any
# child bash) declare them globally from this text when they are missing.
export SIM_TABLES="$(declare -p LINE_BANK LINE_OFFSET BANK_DEVICE | sed 's/^declare -A /declare -gA /')"

# ---- the test ------------------------------------------------------------
cd "${UML_CWD:-/}" 2>/dev/null || cd /
log "running: $UML_TEST $*"
t0=$(cut -d' ' -f1 /proc/uptime)
echo "setup_s=$(awk "BEGIN{print $t0 - $boot_to_init}")" >> "$UML_OUT/timings"
bash "$UML_TEST" "$@" </dev/null 2>&1 | tee "$UML_OUT/test.log"
rc=${PIPESTATUS[0]}
t1=$(cut -d' ' -f1 /proc/uptime)
echo "test_s=$(awk "BEGIN{print $t1 - $t0}")" >> "$UML_OUT/timings"
echo "$rc" > "$UML_OUT/status"
log "test exited $rc; powering off"
umount "$UML_OUT" 2>/dev/null
power_off
