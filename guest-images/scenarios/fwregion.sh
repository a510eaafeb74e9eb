#!/bin/sh
# An SSDT (tests/integration/fwregion.asl, added with -acpitable) whose device PST0001's _STA
# writes a magic number into an AML SystemMemory OperationRegion at 0x8ff000, in OVMF's fixed
# ACPI NVS range, and reads it back: _STA is 0xf when the value round-trips. The hypervisor then
# reads host-physical 0x8ff000 (HC_TEST_FIRMWARE_PEEK): the same value only when guest-physical is
# host-physical. (With the old layout, guest RAM at 0 backed elsewhere, the AML wrote guest RAM and
# the hypervisor's read finds OVMF's own bytes instead: fwregion-host fails. /dev/mem cannot show
# it: Linux refuses to map ACPI NVS there, "Operation not permitted".)
sta=$(cat /sys/bus/acpi/devices/PST0001:00/status 2>/dev/null)
echo "PST0001 _STA ${sta:-missing}"
if [ "$sta" = 15 ]; then echo "PASS fwregion-aml"; else echo "FAIL fwregion-aml"; fi
host=$(hvprobe fwpeek 0x8ff000)
echo "$host"
case "$host" in
    *0x????????5053544e) echo "PASS fwregion-host" ;;
    *) echo "FAIL fwregion-host" ;;
esac
