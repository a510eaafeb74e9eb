/*
 * Time for humans: uptime and event timestamps in the admin shell. The TSC is calibrated once at
 * boot against the PIT (channel 2, the one wired to nothing but the speaker gate), 20 ms. The TSC
 * runs at a constant rate on every CPU Postern supports (AMD "invariant TSC"; under QEMU TCG it
 * follows the host clock), so one calibration serves the whole run.
 */
#ifndef POSTERN_TIMEBASE_H
#define POSTERN_TIMEBASE_H

#include "lib/types.h"

void timebase_init(void);
u64 timebase_tsc_hz(void);
/* Milliseconds since timebase_init, and a TSC value converted to the same scale. */
u64 timebase_ms(void);
u64 timebase_tsc_to_ms(u64 tsc);

#endif
