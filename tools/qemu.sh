# Sourced: the one place the QEMU machine is described (docs/platform-notes.md says why).
# qemu_postern ESP.img VARS.fd [extra qemu args...]   — OVMF → postern.efi on the ESP
# qemu_direct [extra qemu args...]                   — the same kernel booted by QEMU itself
QEMU=${QEMU:-qemu-system-x86_64}
QEMU_CPU=${QEMU_CPU:-EPYC}
QEMU_MEM=${QEMU_MEM:-1024}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
# No NIC at all: the guest never reaches a network.
QEMU_COMMON=(-machine q35 -cpu "$QEMU_CPU" -accel tcg -m "$QEMU_MEM" -smp "${SMP:-1}" -nographic -nic none -no-reboot)

qemu_postern() {
    local esp=$1 vars=$2
    shift 2
    cp "$OVMF_VARS" "$vars"
    "$QEMU" "${QEMU_COMMON[@]}" \
        -drive if=pflash,format=raw,readonly=on,file="$OVMF_CODE" \
        -drive if=pflash,format=raw,file="$vars" \
        -drive file="$esp",format=raw "$@" 2> >(grep -v "TCG doesn't support requested feature" >&2)
}

qemu_direct() {
    local top
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    "$QEMU" "${QEMU_COMMON[@]}" -kernel "$top/build/guest/vmlinuz" -initrd "$top/build/guest/initrd.img" "$@" \
        2> >(grep -v "TCG doesn't support requested feature" >&2)
}
