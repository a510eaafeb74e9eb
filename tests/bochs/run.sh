#!/usr/bin/env bash
# The VT-x path under Bochs 2.7 (Debian's bochs is built with VMX, EPT, VPID and unrestricted guest;
# QEMU's TCG has no VT-x). OVMF → postern.efi → the VMX backend → Linux, serial log assertions.
#   tests/bochs/run.sh [STAGE...]   stages: vmlaunch (default), shell, gtest, nic
# Prints "PASS: bochs/<stage> (N s)" / "FAIL: bochs/<stage> (why)" per stage, or one
# "skipped: bochs/<stage>: <reason>" line when Bochs or its pieces are missing (never a silent pass).
# Env: CPU (Bochs cpu model, default corei7_skylake_x), IPS (default 50000000, gtest 2000000), MEGS (512),
#      TIMEOUT (s per stage, overrides the stage's own), KEEP=1 leaves Bochs's log.
# Each stage runs in build/bochs/<stage>/: esp.img, bochsrc, serial.log, bochs.log, bochs.out.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/bochs
cpu=${CPU:-corei7_skylake_x} ips=50000000 megs=${MEGS:-512}
stages=("$@"); [ ${#stages[@]} -gt 0 ] || stages=(vmlaunch)
ovmf=/usr/share/ovmf/OVMF.fd vgabios=/usr/share/vgabios/vgabios-stdvga.bin

skip_all() { for s in "${stages[@]}"; do echo "skipped: bochs/$s: $1"; done; exit 0; }
command -v bochs >/dev/null || skip_all "bochs is not installed (apt-get install bochs bochs-term vgabios)"
compgen -G '/usr/lib/x86_64-linux-gnu/bochs/plugins/*term*' >/dev/null ||
    skip_all "Bochs's term display (package bochs-term) is not installed"
[ -r "$ovmf" ] || skip_all "$ovmf missing (package ovmf)"
[ -r "$vgabios" ] || skip_all "$vgabios missing (package vgabios)"
command -v script >/dev/null || skip_all "script (util-linux) is missing: Bochs's term display needs a pty"
[ -r "$top/build/postern.efi" ] && [ -r "$top/build/guest/initrd.img" ] || skip_all "build/postern.efi or build/guest missing (make efi guest)"

# stage → timeout (s) and the regexes that must appear in order in the serial log
stage_setup() {
    REJECT=('postern: PANIC' 'cannot start' 'VM entry failed' 'VMLAUNCH failed' 'VMRESUME failed' 'unexpected exit')
    case $1 in
        vmlaunch) TIMEOUT=300 TEST=shell
            EXPECT=('postern: vmx: enabled' 'postern: starting guest' 'postern: vmx: first VM exit: [a-z-]+') ;;
        shell) TIMEOUT=1500 TEST=shell
            EXPECT=('postern: vmx: enabled' 'postern: starting guest' 'POSTERN-GUEST-READY' 'PASS shell'
                    'POSTERN-TEST-DONE shell')
            REJECT+=('FAIL shell') ;;
        gtest) TIMEOUT=1800 TEST=guarded IPS_STAGE=2000000 LOGLEVEL=7
            # tests/integration/cases/guarded-module.case's scenario through the VT-x backend. Bochs's
            # OVMF has no ACPI, so the guest learns its I/O APIC from Postern's MP table (hv/platform/mptable.c):
            # the kernel must take it (loglevel 7 shows it), and the guest's COM1 gets IRQ 4, which is
            # what lets the scenario's own PASS lines out before its poweroff -f (docs/vmx.md).
            EXPECT=('postern: vmx: enabled' 'postern: guest MP table at 0x10 '
                    'postern: guard: module gtest may hold test'
                    'found SMP MP-table at \[mem 0x00000010-0x0000001f\]'
                    'IOAPIC\[0\]: apic_id [0-9]+, version [0-9]+, address 0xfec00000, GSI 0-23'
                    'ttyS0 at I/O 0x3f8 \(irq = 4'
                    'postern: guard: module gtest registered: text 0x[0-9a-f]+\+0x[0-9a-f]+ verified and write-protected'
                    'PASS guarded-insmod' 'PASS guarded-init-privileged' 'PASS guarded-callback-privileged'
                    'PASS guarded-after-call-out' 'PASS guarded-nested-callback' 'PASS guarded-kernel-sort-worked'
                    'PASS guarded-after-interrupts' 'PASS outside-unprivileged' 'PASS guarded-rmmod'
                    'PASS guarded-exit-privileged' 'PASS guarded-gone' 'GUARDED-DONE'
                    'reboot: System halted'
                    "postern: host tick: [1-9][0-9]* exits were the tick's" # the preemption timer's
                    'postern: guard: crossings border-in-call [1-9]'
                    'postern: guard: crossings border-out-call [1-9]'
                    'postern: guard: crossings border-out-int [1-9]'
                    'postern: guard: crossings border-in-(rti|fetch) [1-9]' # fetch: border = npt (the default)
                    "postern: console: the guest's COM1 took [1-9][0-9]* interrupts")
            REJECT+=('FAIL guarded' 'FAIL outside' 'postern: guard: SUSPICIOUS' 'MP table errors'
                     'guest MP table: none') ;;
        nic) TIMEOUT=1800 TEST=vnet NIC=1 TSC_FROM_IPS=1
            # The guarded e1000 (guest-images/scenarios/vnet.sh) on Bochs's e1000 with ethmod=vnet,
            # an internal network (one virtual host, 192.168.10.1, answering ARP and ping; nothing
            # leaves the emulator): it registers, holds `nic` (its privilege raised at its border
            # crossings, the link up through registers that read zero outside it), and its INTx
            # reaches the guest through the MP table's PCI entry, and it pings the virtual host.
            # Bochs has no IOMMU, so the config says iommu = off: the NIC's DMA goes to the
            # addresses the driver programs, untranslated, which identity-mapped guest memory makes
            # the right ones (docs/guest-boot.md). The guest's clock runs
            # on the TSC, which Bochs advances once per instruction while Linux takes its
            # frequency from CPUID 15h/16h (3.5 GHz for this model): tsc_early_khz = ips makes a
            # guest second one second of Bochs's device time (docs/lab/platform-notes.md).
            EXPECT=('postern: vmx: enabled' 'postern: iommu: none found, off by configuration: device DMA is not confined'
                    'postern: pci 00:[0-9a-f]{2}\.0 8086:100e class 020000: guarded'
                    'postern: pci: 00:[0-9a-f]{2}\.0 guarded with iommu = off: its DMA is bounded by nothing but the guarded driver'
                    'postern: guest MP table: PCI bus 0 device [0-9a-f]{2} INTA# -> I/O APIC pin 1[6-9]'
                    'postern: guest MP table at 0x10 '
                    'postern: guard: module e1000 may hold nic'
                    'postern: guard: module e1000 registered: text 0x[0-9a-f]+\+0x[0-9a-f]+ verified and write-protected'
                    'PASS vnet-insmod' 'PASS vnet-iface' 'PASS vnet-link'
                    'packets transmitted' 'PASS vnet-ping'
                    'vnet: +1[6-9]: +[1-9][0-9]* +IO-APIC +1[6-9]-fasteoi +eth0' 'VNET-DONE'
                    'postern: guard: crossings border-in-call [1-9]'
                    'postern: guard: crossings border-out-call [1-9]'
                    'postern: pci: guarded device 00:[0-9a-f]{2}\.0 \(nic\): raises [1-9][0-9]* lowers [1-9][0-9]*, unprivileged MMIO writes dropped 0')
            REJECT+=('FAIL vnet' 'postern: guard: SUSPICIOUS' 'guest MP table: none') ;;
        *) echo "FAIL: bochs/$1 (no such stage)"; return 1 ;;
    esac
    TIMEOUT=${TIMEOUT_OVERRIDE:-$TIMEOUT}
}
TIMEOUT_OVERRIDE=${TIMEOUT:-}

source "$top/tests/serial_expect.sh" # first_missing

run_stage() {
    local stage=$1 dir=$top/build/bochs/$1 start pid missing re why=""
    IPS_STAGE="" LOGLEVEL=6 NIC="" TSC_FROM_IPS=""
    stage_setup "$stage" || return 1
    local ips_used=${IPS:-${IPS_STAGE:-$ips}} extra=""
    [ -z "$TSC_FROM_IPS" ] || extra=" tsc_early_khz=$((ips_used / 1000))"
    rm -rf "$dir" && mkdir -p "$dir"
    # The guest gets less RAM than under QEMU: Bochs's memory is the host's, and 512 MiB boots Linux.
    # Bochs has no IOMMU (and OVMF there publishes no ACPI), so every stage says iommu = off (with
    # iommu = auto Postern refuses to start). Without a NIC in the machine the guarded-NIC line goes.
    # The guest runs the stage's scenario.
    local nic_cfg=(-e 's/^guarded_nic = .*//') nic_rc=""
    if [ -n "$NIC" ]; then
        nic_cfg=()
        mkdir -p "$dir/vnet-root" # vnet's TFTP root: empty, the guest asks for nothing
        nic_rc="e1000: enabled=1, mac=52:54:00:12:34:56, ethmod=vnet, ethdev=$dir/vnet-root"
    fi
    sed -e 's/^guest_ram = .*/guest_ram = 128M/' -e 's/^iommu = .*/iommu = off/' "${nic_cfg[@]}" \
        -e "/^cmdline = /s/postern.net=guarded/postern.test=$TEST$extra/" -e "/^cmdline = /s/loglevel=6/loglevel=$LOGLEVEL/" \
        "$top/tools/postern.cfg" > "$dir/postern.cfg"
    "$top/tools/mkesp.sh" "$dir/esp.img" "$dir/postern.cfg" >/dev/null || { echo "FAIL: bochs/$stage (mkesp)"; return 1; }
    # A lower ips makes guest time pass faster per instruction: timer-driven waits (the gtest
    # scenario's spins) cost fewer emulated instructions.
    sed -e "s#@CPU@#$cpu#" -e "s#@IPS@#$ips_used#" -e "s#@MEGS@#$megs#" -e "s#@ESP@#$dir/esp.img#" \
        -e "s#@SERIAL@#$dir/serial.log#" -e "s#@LOG@#$dir/bochs.log#" -e "s#@NIC@#$nic_rc#" "$here/bochsrc.in" > "$dir/bochsrc"
    : > "$dir/serial.log"
    start=$(date +%s)
    # Bochs stops at its debugger prompt first: "c" continues. Its term display needs a tty: script
    # gives it one. Stdin is a FIFO held open until the end (EOF at the prompt would quit Bochs).
    mkfifo "$dir/stdin"
    ( cd "$dir" && exec script -qfec "bochs -q -f $dir/bochsrc" /dev/null < "$dir/stdin" > "$dir/bochs.out" 2>&1 ) &
    pid=$!
    exec 3> "$dir/stdin"
    echo c >&3
    while :; do
        sleep 2
        for re in "${REJECT[@]}"; do
            if grep -qaE -- "$re" "$dir/serial.log"; then why="serial log has '$re'"; break 2; fi
        done
        missing=$(first_missing "$dir/serial.log" "${EXPECT[@]}")
        [ -n "$missing" ] || break
        if ! kill -0 $pid 2>/dev/null; then why="Bochs exited; missing '$missing' (see $dir/bochs.log)"; break; fi
        if [ $(( $(date +%s) - start )) -ge "$TIMEOUT" ]; then why="timeout ${TIMEOUT}s; missing '$missing'"; break; fi
    done
    # script's child is Bochs: stop it by its parent's pid, then script itself. Bochs's term
    # display outlives a TERM (seen), hence the KILL.
    pkill -TERM -P $pid 2>/dev/null
    sleep 1
    pkill -KILL -P $pid 2>/dev/null
    kill $pid 2>/dev/null
    exec 3>&-
    wait $pid 2>/dev/null
    if [ -z "$why" ]; then
        echo "PASS: bochs/$stage ($(( $(date +%s) - start )) s)"
    else
        echo "FAIL: bochs/$stage ($why)"
        tail -n 5 "$dir/serial.log" | sed 's/^/    /'
        return 1
    fi
}

rc=0
for s in "${stages[@]}"; do run_stage "$s" || rc=1; done
exit $rc
