# shellcheck shell=bash
# Sourced: the one description of the QEMU machine (measurements: docs/lab/platform-notes.md).
#   qemu_postern_argv ESP.img VARS.fd   → QEMU_ARGV: OVMF → postern.efi on the ESP (copies a fresh VARS.fd)
#   qemu_usb_stick_argv DISK.img VARS.fd → QEMU_ARGV: OVMF → a GPT disk image (tools/mkusb.sh) as a USB
#                                         stick on xHCI, the machine's only disk
#   qemu_direct_argv CMDLINE            → QEMU_ARGV: the same guest kernel booted by QEMU itself (-kernel;
#                                         -initrd QEMU_INITRD, default GUEST_DIR/initrd.img)
# Callers add the serial/monitor options and run "${QEMU_ARGV[@]}".
# Env: QEMU_CPU (default EPYC), QEMU_MEM (MiB, 1024), SMP (1), QEMU_ACCEL (tcg; kvm for the VT-x
#   path under nested KVM: tests/kvm-vmx.sh),
#   IOMMU=amd|intel   adds -device amd-iommu / intel-iommu (before every other device: see below)
#   NIC=MODEL|none (default none)   a NIC of any QEMU model (e1000, e1000e, rtl8139, pcnet, ne2k_pci,
#                     virtio-net-pci, ...: qemu-system-x86_64 -device help) on QEMU's user network, which
#                     can reach nothing outside the QEMU process (docs/lab/network-tests.md):
#   PXB_BUSES         space-separated bus numbers, e.g. "0x20 0x40": one pxb-pcie expander root bus
#                     each (ids pxb0, pxb1, ...), with one pcie-root-port on it (ids rp0, rp1, ...):
#                     root buses no bridge below bus 0 leads to, as a server's other root complexes
#   NIC_BUS           the bus the NIC sits on (e.g. rp1: behind expander root bus 1); default pcie.0
#   NET_GUESTFWD      newline-separated "PORT=cmd:COMMAND" or "PORT=tcp:127.0.0.1:HOSTPORT": the guest's
#                     connections to 10.0.2.100:PORT start COMMAND (its stdin/stdout/stderr are the
#                     connection; the tests use this, no port is opened) or reach a server already
#                     listening on this machine's loopback
#   NIC2=MODEL        a second NIC right after the first, on a user network of its own (10.0.3.0/24,
#                     restrict=on, no forwards: the guest can ping its gateway 10.0.3.2 and nothing else)
_qemu_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QEMU=${QEMU:-qemu-system-x86_64}
# EPYC exposes svm+npt to TCG; QEMU warns that TCG lacks nrip-save, rdseed, ... — harmless, and
# qemu_filter_warnings drops those lines. qemu64,+svm,+npt boots as well.
QEMU_CPU=${QEMU_CPU:-EPYC}
QEMU_MEM=${QEMU_MEM:-1024}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
GUEST_DIR=${GUEST_DIR:-$_qemu_top/build/guest}

_qemu_common() {
    # -nic none: no default network device; the only one is the NIC asked for below, if any.
    # -no-reboot: a reset (e.g. a triple fault without Postern) ends QEMU instead of looping.
    QEMU_ARGV=("$QEMU" -machine q35 -cpu "$QEMU_CPU" -accel "${QEMU_ACCEL:-tcg}" -m "$QEMU_MEM" -smp "${SMP:-1}"
               -nographic -nic none -no-reboot)
    # The IOMMU first, so PCI addresses stay put: amd-iommu is itself PCI function 00:02.0 and the NIC
    # comes next (00:03.0); intel-iommu is no PCI function and the NIC is 00:02.0. (QEMU 7.2 translates
    # a device's DMA even when the IOMMU comes after it on the command line: measured, see
    # docs/lab/network-tests.md.) Under TCG neither needs -machine kernel-irqchip=split; both default
    # to intremap=on.
    case "${IOMMU:-}" in
        "" | none) ;;
        amd) QEMU_ARGV+=(-device amd-iommu) ;;
        intel) QEMU_ARGV+=(-device intel-iommu) ;;
        *) echo "qemu: IOMMU=$IOMMU: expected amd, intel or none" >&2; return 1 ;;
    esac
    _qemu_pxb || return
    _qemu_net
}

# Expander root buses (PXB_BUSES), after the IOMMU so the IOMMU's address stays put. OVMF learns
# them from QEMU's fw_cfg (etc/extra-pci-roots) and assigns their resources.
_qemu_pxb() {
    local i=0 nr
    for nr in ${PXB_BUSES:-}; do
        [[ $nr =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]] || { echo "qemu: PXB_BUSES: '$nr' is not a bus number" >&2; return 1; }
        QEMU_ARGV+=(-device "pxb-pcie,id=pxb$i,bus_nr=$((nr)),bus=pcie.0"
                    -device "pcie-root-port,id=rp$i,bus=pxb$i,chassis=$((i + 1)),slot=0")
        i=$((i + 1))
    done
}

# QEMU's option parser splits on commas; a literal comma is written twice.
_qemu_optesc() { printf '%s' "${1//,/,,}"; }

# The guest's network: user-mode (slirp) with restrict=on, so the guest can reach only the
# virtual gateway 10.0.2.2 (it answers ping, refuses TCP) and the forwards below, never this
# machine's addresses or anything beyond it. No IPv6. Nothing on this machine can connect in.
_qemu_net() {
    case "${NIC:-none}" in
        none) return 0 ;;
        *) _qemu_nic_model NIC "$NIC" || return 1 ;;
    esac
    local netdev="user,id=n0,restrict=on,ipv6=off" fwd port target
    while IFS= read -r fwd; do
        [ -n "$fwd" ] || continue
        port=${fwd%%=*} target=${fwd#*=}
        [[ $port =~ ^[0-9]+$ ]] || { echo "qemu: NET_GUESTFWD '$fwd': expected PORT=TARGET" >&2; return 1; }
        case "$target" in
            cmd:*) ;;
            tcp:127.0.0.1:*) [[ ${target#tcp:127.0.0.1:} =~ ^[0-9]+$ ]] ||
                { echo "qemu: NET_GUESTFWD '$fwd': bad port" >&2; return 1; } ;;
            *) echo "qemu: NET_GUESTFWD '$fwd': only cmd: and tcp:127.0.0.1: targets" >&2; return 1 ;;
        esac
        netdev+=",guestfwd=tcp:10.0.2.100:$port-$(_qemu_optesc "$target")"
    done <<< "${NET_GUESTFWD:-}"
    QEMU_ARGV+=(-netdev "$netdev" -device "$NIC,netdev=n0${NIC_BUS:+,bus=$NIC_BUS}")
    if [ -n "${NIC2:-}" ]; then
        _qemu_nic_model NIC2 "$NIC2" || return 1
        QEMU_ARGV+=(-netdev "user,id=n1,restrict=on,ipv6=off,net=10.0.3.0/24" -device "$NIC2,netdev=n1")
    fi
}

# _qemu_nic_model VAR MODEL: a device model name only (no options smuggled in after a comma).
_qemu_nic_model() {
    [[ $2 =~ ^[A-Za-z0-9_-]+$ ]] && return 0
    echo "qemu: $1=$2: expected a QEMU NIC model name (qemu-system-x86_64 -device help), or none" >&2
    return 1
}

qemu_postern_argv() {
    local esp=$1 vars=$2
    [ -r "$OVMF_CODE" ] && [ -r "$OVMF_VARS" ] || { echo "qemu: OVMF missing (apt-get install ovmf)" >&2; return 1; }
    cp "$OVMF_VARS" "$vars" # each run gets its own, writable NVRAM
    _qemu_common || return
    # The ESP as a SATA disk on q35's built-in AHCI; bootindex=0 makes OVMF boot it first instead of
    # trying the default (empty) DVD drive.
    # shellcheck disable=SC2054 # the commas are inside QEMU's option values, not array separators
    QEMU_ARGV+=(-drive if=pflash,format=raw,readonly=on,file="$OVMF_CODE"
                -drive if=pflash,format=raw,file="$vars"
                -drive file="$esp",format=raw,if=none,id=esp -device ide-hd,drive=esp,bus=ide.0,bootindex=0)
}

# The stick as a USB mass-storage device on an xHCI controller, as a server's front USB port has it,
# and no other disk. The controller comes after the IOMMU and the NIC, so their addresses stay put.
qemu_usb_stick_argv() {
    local disk=$1 vars=$2
    [ -r "$OVMF_CODE" ] && [ -r "$OVMF_VARS" ] || { echo "qemu: OVMF missing (apt-get install ovmf)" >&2; return 1; }
    cp "$OVMF_VARS" "$vars"
    _qemu_common || return
    # shellcheck disable=SC2054 # the commas are inside QEMU's option values, not array separators
    QEMU_ARGV+=(-drive if=pflash,format=raw,readonly=on,file="$OVMF_CODE"
                -drive if=pflash,format=raw,file="$vars"
                -device qemu-xhci,id=xhci
                -drive if=none,id=stick,format=raw,file="$disk"
                -device usb-storage,bus=xhci.0,drive=stick,bootindex=0)
}

qemu_direct_argv() {
    _qemu_common || return
    QEMU_ARGV+=(-kernel "$GUEST_DIR/vmlinuz" -initrd "${QEMU_INITRD:-$GUEST_DIR/initrd.img}" -append "$1")
}

# The guest command line of a config file (the value of its "cmdline =" line).
config_cmdline() { sed -n 's/^[[:space:]]*cmdline[[:space:]]*=[[:space:]]*//p' "$1" | tail -n 1; }

# stderr filter: QEMU's "TCG doesn't support requested feature" warnings are expected noise.
qemu_filter_warnings() { grep -v "TCG doesn't support requested feature" >&2 || true; }

# Run helpers (serial/monitor options go in "$@"). Meant to be started with "&": QEMU runs as a child
# and a TERM/INT sent to that background job ($!) is passed on to QEMU, so "kill $!" stops it.
#   qemu_postern ESP.img VARS.fd [qemu args...]     qemu_direct [qemu args incl. -append ...]
_qemu_run() {
    local q rc=0
    "${QEMU_ARGV[@]}" "$@" 2> >(qemu_filter_warnings) &
    q=$!
    trap 'kill $q 2>/dev/null' TERM INT
    wait $q || rc=$?
    # a trapped signal ends wait early: wait on until QEMU is gone
    while kill -0 $q 2>/dev/null; do wait $q || rc=$?; done
    trap - TERM INT
    return $rc
}

qemu_postern() {
    local esp=$1 vars=$2
    shift 2
    qemu_postern_argv "$esp" "$vars" || return
    _qemu_run "$@"
}

qemu_direct() {
    _qemu_common || return
    _qemu_run -kernel "$GUEST_DIR/vmlinuz" -initrd "$GUEST_DIR/initrd.img" "$@"
}
