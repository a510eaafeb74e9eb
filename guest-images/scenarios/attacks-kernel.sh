#!/bin/sh
# The attack suite's attacks from inside the guest kernel (tests/attacks/, docs/security.md). gevil
# plays the untrusted kernel, gtest is the guarded module attacked (`test`), gdma a guarded module
# holding `nic`. Order matters: the write to gtest's text revokes gtest, so it comes last.
# shellcheck source=guest-images/scenarios/lib/attack.sh
. /tests/lib/attack.sh
insmod $M/gevil.ko || echo "ATTACK-SETUP-FAILED insmod gevil"
target=$(dmesg | sed -n 's/.*gevil: loaded.*indirect target at \([0-9a-f]*\).*/\1/p' | tail -n 1)

attack_begin unlisted-site
echo 1 > /sys/module/gevil/parameters/raise
attack_result unlisted-site "$(last_dmesg "gevil: unlisted border-in")" "privilege now 0"
attack_end unlisted-site

attack_begin tampered-text
insmod $M/gtest-tampered.ko && line=$(cut -d' ' -f1,2 /proc/gtest) || line=""
rmmod gtest 2>/dev/null
attack_result tampered-text "tampered gtest says: $line" "read=0"
attack_end tampered-text

# The control: the genuine module holds its privilege (else every "not granted" below means nothing).
insmod $M/gtest.ko
line=$(cat /proc/gtest)
echo "ATTACK-CONTROL genuine-gtest $(echo "$line" | cut -d' ' -f1,2)"
text=0x$(echo "$line" | sed -n 's/.*text=\([0-9a-f]*\).*/\1/p')

# The module's private memory (HC_GUARD_PRIVATE): the control reads it inside the border, the
# attack from outside (gevil, in a kernel thread of its own).
echo private > /proc/gtest
line=$(last_dmesg "gtest: private page at")
echo "ATTACK-CONTROL private-inside $line"
page=$(echo "$line" | sed -n 's/.*private page at \([0-9a-f]*\).*/\1/p')
attack_begin private-memory
echo "$page" > /sys/module/gevil/parameters/peek
line=$(last_dmesg "gevil: peek at")
case "$line" in *"did not return"*) g=0 ;; *POSTERN-PRIVATE*) g=1 ;; "") g="?" ;; *) g=0 ;; esac
attack_report private-memory $g "$line"
attack_end private-memory

attack_begin claim-hash
echo "$(cat $M/gtest.sha256)" > /sys/module/gevil/parameters/claim
attack_result claim-hash "$(last_dmesg "gevil: registration claiming")" "privilege now 0"
attack_end claim-hash

attack_begin return-tamper
echo evilcall > /proc/gtest
attack_result return-tamper "$(last_dmesg "gevil: tampered return landed")" "privilege 0"
echo "ATTACK-CONTROL return-tamper-genuine-path $(last_dmesg "gtest: evilcall returned")"
attack_end return-tamper

attack_begin indirect-call
# in a subshell: should the call fault (a hardware-enforced border may stop it), the oops kills
# that process, not this script
(echo "indirect $target" > /proc/gtest)
attack_result indirect-call "$(last_dmesg "gevil: indirect call from the module")" "privilege 0"
attack_end indirect-call

attack_begin jump-middle
echo "$text" > /sys/module/gevil/parameters/jump
line=$(last_dmesg "gevil: jump into the middle")
case "$line" in *"did not return"*) g=0 ;; *"privilege 0"*) g=0 ;; "") g="?" ;; *) g=1 ;; esac
attack_report jump-middle $g "$line"
attack_end jump-middle
mid=$(dmesg | sed -n 's/.*gevil: jump into the middle of the module at \([0-9a-f]*\).*/\1/p' | tail -n 1)

attack_begin remap-text
echo "$text" > /sys/module/gevil/parameters/remap
remapped=$(last_dmesg "gevil: remapped module text page")
line=$(cut -d' ' -f1,2 /proc/gtest)
echo 0 > /sys/module/gevil/parameters/remap
# granted: gtest's callback held `test` while its text page was the modified copy
case "$remapped" in
    "") attack_report remap-text "?" "the remap failed" ;;
    *) attack_result remap-text "$remapped; gtest from the copy says: $line" "read=0" ;;
esac
attack_end remap-text

attack_begin jump-site
echo "$text" > /sys/module/gevil/parameters/jumpsite
attack_result jump-site "$(last_dmesg "gevil: jump onto the border-in-ret site")" "privilege now 0"
attack_end jump-site

attack_begin bad-hypercalls
echo 1 > /sys/module/gevil/parameters/badcalls
kernel=$(last_dmesg "gevil: badcalls")
# the same from user space: the guarded-module numbers from CPL 3, each must be refused (-2)
user=""
for nr in 0x50530100 0x50530101 0x50530102 0x50530103 0x50530104 0x50530105; do
    user="$user $(hvprobe hypercall $nr | cut -d' ' -f2)"
done
priv=$(hvprobe hypercall 0x50530010)
g=0
case "$kernel" in *" 0 succeeded, 0 left a privilege"*) ;; *) g=1 ;; esac
[ "$user" = " -2 -2 -2 -2 -2 -2" ] || g=1
[ "$priv" = "rax 0 rbx 0x0" ] || g=1
[ -n "$kernel" ] || g="?"
attack_report bad-hypercalls $g "$kernel; CPL 3 guarded numbers:$user; test privilege from CPL 3: $priv"
attack_end bad-hypercalls

attack_begin nic-bar-unguarded
insmod $M/gpoke.ko restore=0 && rmmod gpoke
attack_result nic-bar-unguarded "$(last_dmesg "gpoke: summary")" "mmio_nonzero=0 io_nonzero=0 mmio_write_landed=0 io_write_landed=0"
attack_end nic-bar-unguarded

attack_begin irq-touches-nic
echo 1 > /sys/module/gevil/parameters/irqpoke
insmod $M/gdma.ko spin_ms=1500 secret=0 && rmmod gdma
echo 0 > /sys/module/gevil/parameters/irqpoke
echo "ATTACK-CONTROL gdma-holds-nic $(last_dmesg "gdma: spun")"
line=$(last_dmesg "gevil: irqpoke:")
case "$line" in
    "" | *": 0 interrupts inside gdma"*) g="?" ;; # no interrupt arrived while gdma ran: nothing seen
    *" inside gdma, 0 of them saw the device"*) g=0 ;;
    *) g=1 ;;
esac
attack_report irq-touches-nic $g "$line"
attack_end irq-touches-nic

attack_begin dma-hypervisor
canary=$(hvprobe canary)
page=$(printf '0x%x' $((canary & ~0xfff)))
insmod $M/gdma.ko canary="$canary" addrs="$page" secret=0 && rmmod gdma
sleep 2 # the IOMMU's fault report may lag
attack_result dma-hypervisor "$(last_dmesg "gdma: buffer at .*(the hypervisor's canary page)")" "no POSTERN-HV-CANARY" "the device read"
attack_end dma-hypervisor

attack_begin dma-module-text
insmod $M/gdma.ko textwrite="0x$mid" secret=0 && rmmod gdma
sleep 2
attack_result dma-module-text "$(last_dmesg "gdma: DMA write to module text")" "text unchanged"
attack_end dma-module-text

attack_begin text-write-kernel
echo "$text" > /sys/module/gevil/parameters/write
line=$(last_dmesg "gevil: write to guarded text")
after=$(cut -d' ' -f1,2 /proc/gtest)
attack_result text-write-kernel "$line; gtest afterwards: $after" "byte unchanged"
attack_end text-write-kernel

# Wake another core into guest code (it would run with no nested paging and no IOMMU): INIT, then
# SIPI, to APIC 1 and to all but self, through the xAPIC ICR (the init-refused case covers more).
attack_begin ap-wakeup
online0=$(cat /sys/devices/system/cpu/online)
for icr in 0100000000004500 0100000000004608 00000000000c4500 00000000000c4608; do
    hvprobe ipi xapic $icr >/dev/null
done
sleep 0.5
online1=$(cat /sys/devices/system/cpu/online)
attack_result ap-wakeup "$(last_dmesg "gcpu: ipi xapic 0xc4608"); online CPUs $online0 -> $online1" "online CPUs $online0 -> $online0"
attack_end ap-wakeup
echo "ATTACKS-DONE kernel"
