#!/usr/bin/env bash
# QEMU integration tests: OVMF → postern.efi → Linux guest, assertions on the serial log.
#   tests/integration/run.sh [CASE...]   (default: every cases/*.case), at most $JOBS (2) at a time
#   CASES_DIR=dir: cases from elsewhere
#   DIRECT=1 tests/integration/run.sh    boot the guest kernel with QEMU -kernel, no OVMF/Postern: checks
#                                        the guest image and this harness; "postern:" expectations are dropped
#                                        (also for single cases: DIRECT=1 tests/integration/run.sh nic-net-amd)
#   GUEST_DIR=dir: another guest build (vmlinuz, initrd.img, modules/) than build/guest
# Prints "PASS: <case>" / "FAIL: <case> (<why>)" (or "SKIP: ...") per case, "N passed, N failed" last.
# Each case runs in build/itest/<case>/ (build/itest-direct/ with DIRECT=1): esp.img, vars.fd,
# postern.cfg, serial.log, qemu.out.
#
# A case file cases/NAME.case is bash and may set:
#   CMDLINE_EXTRA    appended to the config's cmdline (e.g. "postern.test=shell reboot=t")
#   CONFIG_OVERRIDE  "key = value" lines; each replaces the default config's lines with the same key
#                    (or is added). CONFIG_WHOLE=1: CONFIG_OVERRIDE is the whole config instead.
#   CONFIG_EDIT      a sed script applied to the config after that (e.g. to misspell a key)
#   EXPECT=(re ...)  extended regexes that must all appear in the serial log, in this order
#   EXPECT_UNORDERED=(re ...)  regexes that must each appear somewhere in the serial log by the time
#                    EXPECT is complete, in any order (reports the hypervisor makes when it gets to them)
#   REJECT=(re ...)  regexes that must not appear ("postern: PANIC" always is); the case stops at the first
#   TIMEOUT (s, default 150: a Postern boot to the guest shell takes ~12 s alone, ~20 s two at a time), SMP,
#   CPU (a QEMU -cpu model instead of the default), MEM (QEMU -m, e.g. 6G, instead of 1024 MiB)
#   DIRECT_EXPECT / DIRECT_REJECT   replace EXPECT / REJECT with DIRECT=1; DIRECT_SKIP="why" skips the case
#   IOMMU            amd (default), intel or none: the machine gets that IOMMU (tools/qemu.sh)
#   NIC              e1000 (default), any other QEMU NIC model (rtl8139, pcnet, ...) or none: the machine gets that NIC on QEMU's user network with restrict=on
#                    (docs/lab/network-tests.md). The guest's connections to 10.0.2.100:5001 (sink) and
#                    :5002 (source) start tests/integration/netserve.sh, which records each transfer in
#                    the case's netserve.log; no port is opened on this machine.
#   PXB_BUSES, NIC_BUS  expander root buses and the NIC's bus (tools/qemu.sh), e.g. PXB_BUSES="0x20"
#                    NIC_BUS=rp0: the NIC behind a root port of a root bus bus 0 does not lead to
#   NIC2             a second NIC of any QEMU model right after the first, on a user network of its own
#                    (10.0.3.0/24, restrict=on, no forwards: the guest can ping 10.0.3.2); none by default
#   NET_VERIFY=(name ...)  transfers whose "NET-VERIFY name ..." line (direction, bytes, SHA-256) must be
#                    the same in the serial log (the guest's) and in netserve.log (the helper's)
#   DIRECT_NET_VERIFY      replaces NET_VERIFY with DIRECT=1
#   QEMU_TRACE=(event ...) QEMU trace events to log (qemu-system-x86_64 -trace help) into the case's
#                    qemu-trace.log, e.g. the IOMMU models' own fault events: what QEMU's device did,
#                    whoever programmed it
#   TRACE_EXPECT=(re ...)  regexes that must each appear in qemu-trace.log (any order)
#   PREPARE          bash run in the case's directory before QEMU starts (GUEST_DIR and CHRISTOIZE are
#                    set), e.g. to make files a SESSION pastes
#   SESSION=(step ...)  an interactive serial session (tests/integration/serial-session.py: expect RE,
#                    send TEXT, type TEXT, sleep S, timeout S, sequence RE FIRST LAST, monitor COMMAND,
#                    screen LINES: a screendump shows LINES text rows beginning alike, as in gop-log):
#                    QEMU's serial line becomes a socket the script drives; everything is still logged to
#                    serial.log. `monitor COMMAND` sends one QEMU monitor (HMP) command, e.g. `mce ...`,
#                    through the case's monitor socket (monitor.sock; the exchange goes to monitor.log).
#                    The case passes when the script and EXPECT/REJECT all pass. No DIRECT=1 run (skipped)
#                    unless the case sets DIRECT_SESSION=(step ...), the session without Postern's shell.
#   INITRD           another initrd of the guest build (GUEST_DIR) than initrd.img, for both runs: on the ESP
#                    and named by the config's initrd line under Postern, QEMU's -initrd with DIRECT=1
#                    (e.g. initrd-selftests.img: tests/x86-selftests/)
#   PANIC_EXPECTED=1 the case provokes a hypervisor stop on purpose: "postern: PANIC" is not rejected
#   ESP_FILES=(path ...)   more files for the ESP's /postern/, relative to the guest build (GUEST_DIR), each
#                    under its own name; one named like a default file replaces it (e.g. a forged gtest.gmeta)
#   SERIAL_LOG       com1 (default), com2 or pci: which of the machine's serial ports serial.log (and a
#                    SESSION) is. com2: QEMU gets two -serial, COM1 (0x3f8) is logged to com1.log and COM2
#                    (0x2f8) is the case's line; the config must then put Postern on COM2 (serial = io:0x2f8
#                    or auto). pci: COM1 as with com2, and the case's line is a PCI 16550 (QEMU's
#                    pci-serial, 1b36:0002) at 00:05.0, its I/O BAR wherever the firmware put it
#                    (serial = pci 00:05.0)
#   COM1_REJECT=(re ...)  with SERIAL_LOG=com2 or pci: regexes that must not appear in com1.log
#   QEMU_EXTRA=(arg ...)  more QEMU arguments, after the machine's own; $dir is the case's directory
#                    (e.g. -acpitable "file=$dir/spcr.bin" with a table PREPARE made there)
#   USB_STICK        a disk image (relative to the top of the tree), e.g. build/postern-usb.img as
#                    `make usb` writes it: a copy is the machine's only disk, a USB mass-storage device
#                    on an xHCI controller (tools/qemu.sh qemu_usb_stick_argv), instead of the case's ESP.
#                    The case's postern.cfg and ESP_FILES replace the copy's, in /postern/ of its first
#                    partition (mtools at that partition's offset: tools/esp.sh)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/integration
cases_dir=${CASES_DIR:-$here/cases}
direct=${DIRECT:-0}
base=$top/build/itest; [ "$direct" = 1 ] && base=$top/build/itest-direct
source "$top/tools/qemu.sh"

source "$top/tests/serial_expect.sh" # first_missing

first_rejected() {
    local log=$1 re
    shift
    for re in "$@"; do grep -aqE -- "$re" "$log" 2>/dev/null && { printf '%s' "$re"; return; }; done
    return 0
}

# net_unverified DIR NAME...: for each transfer NAME, the guest's "NET-VERIFY NAME ..." line in the
# serial log must equal the helper's in netserve.log; print the first disagreement, nothing if none.
net_unverified() {
    local dir=$1 name g h
    shift
    for name in "$@"; do
        h=$(grep -a "^NET-VERIFY $name " "$dir/netserve.log" 2>/dev/null | tail -n 1) || true
        g=$(tr -d '\r' < "$dir/serial.log" | grep -a "^NET-VERIFY $name " | tail -n 1) || true
        if [ -z "$h" ]; then printf 'the helper recorded no transfer %s' "$name"; return; fi
        if [ -z "$g" ]; then printf 'the guest reported no transfer %s' "$name"; return; fi
        if [ "$g" != "$h" ]; then printf 'transfer %s differs: guest "%s", helper "%s"' "$name" "${g#NET-VERIFY }" "${h#NET-VERIFY }"; return; fi
    done
}

# make_config OUT: tools/postern.cfg with the case's overrides and its cmdline extras.
make_config() {
    local out=$1
    if [ "${CONFIG_WHOLE:-0}" = 1 ]; then
        printf '%s\n' "$CONFIG_OVERRIDE" > "$out"
    else
        # keys named in the override drop the default's lines for them; the override lines follow
        awk -v over="$CONFIG_OVERRIDE" 'BEGIN { n = split(over, l, "\n")
                for (i = 1; i <= n; i++) if (l[i] ~ /=/) { k = l[i]; sub(/[ \t]*=.*/, "", k); gsub(/[ \t]/, "", k); drop[k] = 1 } }
            { k = $0; sub(/[ \t]*=.*/, "", k); gsub(/[ \t]/, "", k) }
            !($0 ~ /=/ && k in drop)
            END { if (over != "") print over }' "$top/tools/postern.cfg" > "$out"
    fi
    [ -z "$CONFIG_EDIT" ] || sed -i -e "$CONFIG_EDIT" "$out"
    [ -z "$CMDLINE_EXTRA" ] || sed -i "s|^\([[:space:]]*cmdline[[:space:]]*=.*\)|\1 $CMDLINE_EXTRA|" "$out"
}

# run_case NAME: prints the case's report; returns non-zero on failure.
run_case() {
    local name=$1 dir=$base/$1
    local PREPARE="" CMDLINE_EXTRA="" CONFIG_OVERRIDE="" CONFIG_WHOLE=0 CONFIG_EDIT="" TIMEOUT=150 SMP=1 DIRECT_SKIP="" CPU="" MEM="" PANIC_EXPECTED=0
    local SERIAL_LOG=com1 USB_STICK="" PXB_BUSES="" NIC_BUS="" NIC2="" INITRD=""
    # The whole system by default, as make run boots it (tools/postern.cfg guards this e1000 and
    # needs the IOMMU): the environment's, unless the case says otherwise.
    local NIC=${NIC:-e1000} IOMMU=${IOMMU:-amd}
    local -a EXPECT=() EXPECT_UNORDERED=() REJECT=() NET_VERIFY=() QEMU_TRACE=() TRACE_EXPECT=() SESSION=() ESP_FILES=()
    local -a COM1_REJECT=() QEMU_EXTRA=()
    # shellcheck source=/dev/null
    source "$cases_dir/$name.case"
    local QEMU_CPU=${CPU:-$QEMU_CPU} # a case may ask for another CPU model (qemu.sh reads it at call time)
    local QEMU_MEM=${MEM:-$QEMU_MEM} # or another memory size
    if [ "$direct" = 1 ]; then
        [ -z "$DIRECT_SKIP" ] || { echo "SKIP: $name ($DIRECT_SKIP)"; return 0; }
        if declare -p DIRECT_SESSION &>/dev/null; then SESSION=("${DIRECT_SESSION[@]}"); fi
        [ ${#SESSION[@]} -eq 0 ] || declare -p DIRECT_SESSION &>/dev/null ||
            { echo "SKIP: $name (a session with Postern's admin shell)"; return 0; }
        # Without Postern there are no "postern:" lines to expect.
        if declare -p DIRECT_EXPECT &>/dev/null; then EXPECT=("${DIRECT_EXPECT[@]}")
        else local -a e=(); for re in "${EXPECT[@]}"; do [[ $re == postern:* ]] || e+=("$re"); done; EXPECT=("${e[@]}"); fi
        local -a u=(); for re in "${EXPECT_UNORDERED[@]}"; do [[ $re == postern:* ]] || u+=("$re"); done
        EXPECT_UNORDERED=("${u[@]}")
        if declare -p DIRECT_REJECT &>/dev/null; then REJECT=("${DIRECT_REJECT[@]}"); fi
        if declare -p DIRECT_NET_VERIFY &>/dev/null; then NET_VERIFY=("${DIRECT_NET_VERIFY[@]}"); fi
        [ ${#EXPECT[@]} -gt 0 ] || { echo "SKIP: $name (only hypervisor lines to check)"; return 0; }
    fi
    [ "$PANIC_EXPECTED" = 1 ] || REJECT+=("postern: PANIC")
    rm -rf "$dir" && mkdir -p "$dir"
    make_config "$dir/postern.cfg"
    if [ -n "$INITRD" ]; then
        sed -i "s|^\([[:space:]]*initrd[[:space:]]*=\).*|\1 /postern/$INITRD|" "$dir/postern.cfg"
        ESP_FILES+=("$INITRD")
    fi
    # the network helper, started by QEMU per guest connection (a comma in a path is escaped by qemu.sh)
    local NET_GUESTFWD="5001=cmd:bash '$here/netserve.sh' sink '$dir'"$'\n'"5002=cmd:bash '$here/netserve.sh' source '$dir'"
    [ "$NIC" != none ] || NET_GUESTFWD=""
    if [ "$direct" = 1 ]; then
        QEMU_INITRD=${INITRD:+${GUEST_DIR:-$top/build/guest}/$INITRD} \
            SMP=$SMP NIC=$NIC NIC2=$NIC2 IOMMU=$IOMMU NET_GUESTFWD=$NET_GUESTFWD qemu_direct_argv "$(config_cmdline "$dir/postern.cfg")"
    elif [ -n "$USB_STICK" ]; then
        # a copy of the stick, so the case's config never lands in the image `make usb` wrote
        { cp --sparse=always "$top/$USB_STICK" "$dir/stick.img" &&
          "$top/tools/esp.sh" put "$dir/stick.img" "$dir/postern.cfg" "${ESP_FILES[@]/#/${GUEST_DIR:-$top/build/guest}/}"; } \
            > "$dir/mkesp.out" 2>&1 ||
            { echo "FAIL: $name (could not prepare the stick: $(tail -n 1 "$dir/mkesp.out"))"; return 1; }
        SMP=$SMP NIC=$NIC NIC2=$NIC2 IOMMU=$IOMMU NET_GUESTFWD=$NET_GUESTFWD qemu_usb_stick_argv "$dir/stick.img" "$dir/vars.fd"
    else
        "$top/tools/mkesp.sh" "$dir/esp.img" "$dir/postern.cfg" "${ESP_FILES[@]/#/${GUEST_DIR:-$top/build/guest}/}" > "$dir/mkesp.out" 2>&1 ||
            { echo "FAIL: $name (could not build the ESP: $(tail -n 1 "$dir/mkesp.out"))"; return 1; }
        SMP=$SMP NIC=$NIC NIC2=$NIC2 IOMMU=$IOMMU NET_GUESTFWD=$NET_GUESTFWD qemu_postern_argv "$dir/esp.img" "$dir/vars.fd"
    fi
    if [ -n "$PREPARE" ]; then
        (cd "$dir" && GUEST_DIR=$GUEST_DIR CHRISTOIZE=$top/build/christoize/christoize bash -euc "$PREPARE") \
            > "$dir/prepare.out" 2>&1 || { echo "FAIL: $name (PREPARE failed: $(tail -n 1 "$dir/prepare.out"))"; return 1; }
    fi
    local ev
    for ev in "${QEMU_TRACE[@]}"; do QEMU_ARGV+=(-trace "$ev"); done
    [ ${#QEMU_TRACE[@]} -eq 0 ] || QEMU_ARGV+=(-D "$dir/qemu-trace.log")
    QEMU_ARGV+=("${QEMU_EXTRA[@]}")
    : > "$dir/serial.log"
    local serial="file:$dir/serial.log" session="" monitor=none
    if [ ${#SESSION[@]} -gt 0 ]; then
        # QEMU listens on a socket and waits for the script before it starts the machine.
        printf '%s\n' "${SESSION[@]}" > "$dir/session.steps"
        QEMU_ARGV+=(-chardev "socket,id=ser0,path=$dir/serial.sock,server=on,wait=on")
        serial=chardev:ser0
        # and its monitor listens too, for the script's `monitor` steps (nothing else connects)
        monitor="unix:$dir/monitor.sock,server=on,wait=off"
    fi
    case "$SERIAL_LOG" in
        com1) ;;
        com2) : > "$dir/com1.log"; QEMU_ARGV+=(-serial "file:$dir/com1.log") ;; # the first -serial is COM1
        pci)
            : > "$dir/com1.log"
            QEMU_ARGV+=(-serial "file:$dir/com1.log")
            [ ${#SESSION[@]} -gt 0 ] || QEMU_ARGV+=(-chardev "file,id=ser0,path=$dir/serial.log")
            # shellcheck disable=SC2054 # the commas are inside QEMU's option value
            QEMU_ARGV+=(-device pci-serial,chardev=ser0,addr=05.0)
            serial="" ;; # no -serial for the case's line
        *) echo "FAIL: $name (SERIAL_LOG=$SERIAL_LOG: expected com1, com2 or pci)"; return 1 ;;
    esac
    [ -z "$serial" ] || QEMU_ARGV+=(-serial "$serial")
    "${QEMU_ARGV[@]}" -monitor "$monitor" < /dev/null > "$dir/qemu.out" 2>&1 &
    local qemu=$! start=$SECONDS missing rejected="" why="" result
    if [ ${#SESSION[@]} -gt 0 ]; then
        python3 "$here/serial-session.py" "$dir/serial.sock" "$dir/serial.log" "$dir/session.steps" \
            > "$dir/session.out" 2>&1 &
        session=$!
    fi
    while :; do
        sleep 0.5
        missing=$(first_missing "$dir/serial.log" "${EXPECT[@]}")
        rejected=$(first_rejected "$dir/serial.log" "${REJECT[@]}")
        if [ -n "$session" ]; then
            result=$(grep -m1 '^session: ' "$dir/session.out" || true)
            [ -n "$result" ] || missing=${missing:-"(the session script is still running)"}
            [ -z "$result" ] || [ "$result" = "session: all steps passed" ] || { why=$result; break; }
            kill -0 "$session" 2>/dev/null || [ -n "$result" ] || { why="session script died: $(tail -n 1 "$dir/session.out")"; break; }
        fi
        [ -n "$missing" ] && [ -z "$rejected" ] || break
        if ! kill -0 $qemu 2>/dev/null; then
            why=$(grep -v "TCG doesn't support" "$dir/qemu.out" | tail -n 1 || true)
            why="QEMU exited${why:+: $why}"
            break
        fi
        [ $((SECONDS - start)) -lt "$TIMEOUT" ] || { why="timeout ${TIMEOUT}s"; break; }
    done
    sleep 0.5 # a REJECT line may be written right after the last marker
    kill $qemu 2>/dev/null || true
    wait $qemu 2>/dev/null || true
    if [ -n "$session" ]; then
        kill "$session" 2>/dev/null || true
        wait "$session" 2>/dev/null || true
        result=$(grep -m1 '^session: ' "$dir/session.out" || true)
        [ "$result" = "session: all steps passed" ] || why=${result:-${why:-the session script did not finish}}
    fi
    missing=$(first_missing "$dir/serial.log" "${EXPECT[@]}")
    rejected=$(first_rejected "$dir/serial.log" "${REJECT[@]}")
    local elapsed=$((SECONDS - start)) unverified re
    unverified=$(net_unverified "$dir" "${NET_VERIFY[@]}")
    for re in "${EXPECT_UNORDERED[@]}"; do
        [ -n "$missing" ] || grep -aqE -- "$re" "$dir/serial.log" || missing=$re
    done
    local com1_rejected=""
    [ ${#COM1_REJECT[@]} -eq 0 ] || com1_rejected=$(first_rejected "$dir/com1.log" "${COM1_REJECT[@]}")
    for re in "${TRACE_EXPECT[@]}"; do
        [ -n "$unverified" ] || grep -aqE -- "$re" "$dir/qemu-trace.log" 2>/dev/null || unverified="no /$re/ in qemu-trace.log"
    done
    local session_failed=""
    [ -z "$session" ] || [ "$result" = "session: all steps passed" ] || session_failed=$why
    if [ -z "$missing" ] && [ -z "$rejected" ] && [ -z "$com1_rejected" ] && [ -z "$unverified" ] && [ -z "$session_failed" ]; then
        echo "PASS: $name (${elapsed}s)"
        return 0
    fi
    [ -z "$missing" ] || why="missing /$missing/ after ${elapsed}s${why:+, $why}"
    [ -z "$rejected" ] || why="found /$rejected/${why:+; $why}"
    [ -z "$com1_rejected" ] || why="${why:+$why; }found /$com1_rejected/ in com1.log"
    [ -z "$unverified" ] || why="${why:+$why; }$unverified"
    [ -z "$session_failed" ] || [ "$why" = "$session_failed" ] || why="$session_failed; $why"
    echo "FAIL: $name ($why)"
    echo "    ---- last 30 lines of ${dir#"$top"/}/serial.log"
    # drop carriage returns and the firmware's terminal escape sequences
    tail -n 30 "$dir/serial.log" | sed -e 's/\r//g' -e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' -e 's/^/    /'
    echo # the log's last line may lack its newline
    return 1
}

cases=("$@")
[ ${#cases[@]} -gt 0 ] || mapfile -t cases < <(cd "$cases_dir" && ls -- *.case | sed 's/\.case$//')
for c in "${cases[@]}"; do [ -f "$cases_dir/$c.case" ] || { echo "run.sh: no case $c" >&2; exit 2; }; done
mkdir -p "$base"
pass=0 fail=0
declare -A running=() # pid → case
# collect: wait for one running case, print its whole report at once (no interleaving), count it.
collect() {
    local pid c
    wait -n -p pid || true
    c=${running[$pid]:-}
    [ -n "$c" ] || return 0 # not a case (e.g. the ls that fed mapfile)
    unset "running[$pid]"
    # set -e may end run_case before it reports: that is a failure too
    grep -qE '^(PASS|FAIL|SKIP): ' "$base/$c.report" || echo "FAIL: $c (harness error)" >> "$base/$c.report"
    cat "$base/$c.report"
    if grep -q '^PASS: ' "$base/$c.report"; then pass=$((pass + 1)); fi
    if grep -q '^FAIL: ' "$base/$c.report"; then fail=$((fail + 1)); fi
}
for c in "${cases[@]}"; do
    [ ${#running[@]} -lt "${JOBS:-2}" ] || collect
    run_case "$c" > "$base/$c.report" 2>&1 &
    running[$!]=$c
done
while [ ${#running[@]} -gt 0 ]; do collect; done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
