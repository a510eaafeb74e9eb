/* TSC calibration against the PIT (timebase.h). */
#include "lib/timebase.h"
#include "arch/x86_64/cpu.h"
#include "lib/log.h"

#define PIT_HZ       1193182u
#define PIT_CH2_DATA 0x42
#define PIT_COMMAND  0x43
#define PORT_B       0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define CALIBRATE_MS 20u

static u64 tsc_hz, tsc_boot;

void timebase_init(void)
{
    u16 count = (u16)(PIT_HZ * CALIBRATE_MS / 1000);
    u8 b = inb(PORT_B);
    u64 t0, t1;
    u32 spins = 0;

    outb(PORT_B, (u8)((b & ~0x02) | 0x01)); /* gate on, speaker off */
    outb(PIT_COMMAND, 0xb0);                /* channel 2, lo/hi byte, mode 0 (out rises at terminal count) */
    outb(PIT_CH2_DATA, (u8)count);
    outb(PIT_CH2_DATA, (u8)(count >> 8));
    t0 = rdtsc();
    while (!(inb(PORT_B) & 0x20) && ++spins < 100000000u)
        ;
    t1 = rdtsc();
    outb(PORT_B, b);
    tsc_hz = spins < 100000000u ? (t1 - t0) * (1000 / CALIBRATE_MS) : 0;
    if (tsc_hz < 1000000) {
        LOG("timebase: the PIT did not count; taking the TSC to run at 1 GHz");
        tsc_hz = 1000000000ull;
    }
    tsc_boot = t0;
    LOG("timebase: TSC %llu kHz (against the PIT, %u ms)", (unsigned long long)(tsc_hz / 1000), CALIBRATE_MS);
}

u64 timebase_tsc_hz(void) { return tsc_hz; }

u64 timebase_tsc_to_ms(u64 tsc)
{
    u64 d = tsc > tsc_boot ? tsc - tsc_boot : 0;
    return tsc_hz ? d / (tsc_hz / 1000) : 0;
}

u64 timebase_ms(void) { return timebase_tsc_to_ms(rdtsc()); }
