/*
 * Time for humans and for the host tick: uptime, event timestamps in the admin shell, the tick's
 * period. The TSC's rate is found once at boot (lib/tsc_calibrate.h: CPUID 0x15/0x16, else 20 ms
 * against the ACPI PM timer, else against the PIT, every wait bounded) and logged with its
 * source. The TSC runs at a constant rate on every CPU Postern supports ("invariant TSC", checked
 * and logged when absent; under QEMU TCG it follows the host clock), so one calibration serves
 * the whole run.
 */
#ifndef POSTERN_TIMEBASE_H
#define POSTERN_TIMEBASE_H

#include "lib/types.h"

/* pm_timer_port: the FADT's PM timer (0: none; hv/platform/acpi_host.h acpi_host_pm_timer). */
void timebase_init(u16 pm_timer_port, bool pm_timer_32bit);
u64 timebase_tsc_hz(void);
/* Milliseconds since timebase_init, and a TSC value converted to the same scale. */
u64 timebase_ms(void);
u64 timebase_tsc_to_ms(u64 tsc);

#endif
