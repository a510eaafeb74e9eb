#!/bin/sh
# The attack suite's ECAM and chipset attacks (tests/attacks/cases/attacks-ecam.case,
# docs/security.md, docs/pci.md "ECAM"). The guest kernel has iomem=relaxed, so a root process
# stores and loads in the ECAM window through /dev/mem, as any kernel code could: each access
# faults into the hypervisor and is emulated by the same policy as port 0xCF8/0xCFC.
# shellcheck source=guest-images/scenarios/lib/attack.sh
. /tests/lib/attack.sh

ecam_base=$(grep -m1 'PCI MMCONFIG' /proc/iomem | sed 's/^ *\([0-9a-f]*\)-.*/\1/')
# ecam BUS DEV FN OFF: the physical address of that register
ecam() { printf '0x%x' $((0x$ecam_base + ($1 << 20) + ($2 << 15) + ($3 << 12) + $4)); }

# The guarded e1000 (8086:100e), wherever it is
nic=""
for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x100e ] && nic=${d##*/} && break
done
nb=$((0x$(echo "$nic" | cut -c6-7))) nd=$((0x$(echo "$nic" | cut -c9-10))) nf=$(echo "$nic" | cut -c12)

# The control: ECAM answers at all (the NIC's IDs through it, as the hardware has them)
echo "ATTACK-CONTROL nic-id-through-ecam ecam 0x$ecam_base nic $nic reads $(hvprobe peek "$(ecam $nb $nd $nf 0)")"

# Move the guarded NIC's BAR 0 through ECAM, then read its STATUS register (0x8) at the new address.
# The device's own BAR never moves: the write reaches its virtual BAR (pci_vdev), and the new
# address maps the unprivileged view's zero page.
attack_begin ecam-bar-move
old=$(hvprobe peek "$(ecam $nb $nd $nf 0x10)")
new=$(printf '0x%08x' $((old + 0x100000)))
hvprobe poke "$(ecam $nb $nd $nf 0x10)" "$new"
now=$(hvprobe peek "$(ecam $nb $nd $nf 0x10)")
status=$(hvprobe peek $((new + 8)))
hvprobe poke "$(ecam $nb $nd $nf 0x10)" "$old"
attack_result ecam-bar-move "BAR0 $old -> $now through ECAM; STATUS at the new address reads $status" \
    "reads 0x00000000"
attack_end ecam-bar-move

# Read the hidden AMD-Vi function (00:02.0) through ECAM: its vendor/device ID.
attack_begin ecam-hidden-iommu
id=$(hvprobe peek "$(ecam 0 2 0 0)")
attack_result ecam-hidden-iommu "00:02.0 ID register through ECAM reads $id" "reads 0xffffffff"
attack_end ecam-hidden-iommu

# Write the host bridge's register 0x60 through ECAM: on Q35 PCIEXBAR (where ECAM itself decodes),
# on an AMD root complex the SMN index (the PSP, SMU and IOMMU behind it).
attack_begin chipset-write
before=$(hvprobe peek "$(ecam 0 0 0 0x60)")
hvprobe poke "$(ecam 0 0 0 0x60)" 0xe0000001
after=$(hvprobe peek "$(ecam 0 0 0 0x60)")
if [ "$before" = "$after" ]; then seen="unchanged"; else seen="changed"; fi
attack_result chipset-write "00:00.0 register 0x60 $before, after writing 0xe0000001: $after ($seen)" "(unchanged)"
attack_end chipset-write
echo "ATTACKS-DONE ecam"
