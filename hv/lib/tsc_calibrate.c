/* TSC frequency from CPUID, the ACPI PM timer or the PIT, every wait bounded (tsc_calibrate.h). */
#include "lib/tsc_calibrate.h"
#include "lib/log.h"

#define PM_TIMER_HZ    3579545ull
#define PIT_HZ         1193182ull
#define PIT_CH2_DATA   0x42
#define PIT_COMMAND    0x43
#define PORT_B         0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define PORT_B_OUT2    0x20
#define PM_STUCK_READS 10000u

/* "why" appended to the note, "; " between entries. */
static void note(struct tsc_calibration *c, const char *why)
{
    size_t n = 0;
    while (n < sizeof(c->note) && c->note[n])
        n++;
    if (n + 1 >= sizeof(c->note))
        return;
    fmt_snprintf(c->note + n, sizeof(c->note) - n, "%s%s", n ? "; " : "", why);
}

static bool plausible(u64 hz) { return hz >= TSC_MIN_HZ && hz <= TSC_MAX_HZ; }

static bool from_cpuid(const struct tsc_hw *hw, struct tsc_calibration *c)
{
    u32 r[4], max;
    u64 hz;

    hw->cpuid(0, 0, r);
    max = r[0];
    if (max < 0x15) {
        note(c, "no CPUID leaf 0x15");
        return false;
    }
    hw->cpuid(0x15, 0, r); /* EAX: ratio denominator, EBX: numerator, ECX: crystal Hz */
    if (r[0] && r[1] && r[2]) {
        hz = (u64)r[2] * r[1] / r[0];
        if (plausible(hz)) {
            c->hz = hz;
            c->source = TSC_SRC_CPUID_15;
            return true;
        }
    }
    if (max >= 0x16) {
        hw->cpuid(0x16, 0, r); /* EAX[15:0]: base frequency, MHz (the TSC's nominal rate) */
        hz = (u64)(r[0] & 0xffff) * 1000000ull;
        if (plausible(hz)) {
            c->hz = hz;
            c->source = TSC_SRC_CPUID_16;
            return true;
        }
    }
    note(c, "CPUID 0x15/0x16 give no frequency");
    return false;
}

static bool too_long(const struct tsc_hw *hw, u64 t0, u32 reads)
{
    return reads >= TSC_WAIT_MAX_READS || hw->rdtsc() - t0 >= TSC_WAIT_MAX_TICKS;
}

static bool from_pm_timer(const struct tsc_hw *hw, struct tsc_calibration *c)
{
    u32 mask = hw->pm_timer_32bit ? 0xffffffffu : 0xffffffu;
    u64 want = PM_TIMER_HZ * TSC_CAL_MS / 1000, elapsed = 0;
    u32 start, now, reads = 0;
    u64 t0, t1;
    char why[80];

    if (!hw->pm_timer_port) {
        note(c, "no ACPI PM timer");
        return false;
    }
    /* Start on a tick edge, so the measurement is not short by up to one tick. */
    t0 = hw->rdtsc();
    start = hw->inl(hw->pm_timer_port) & mask;
    /* A running timer moves every 279 ns; one that has not moved in PM_STUCK_READS reads is dead. */
    while (((now = hw->inl(hw->pm_timer_port) & mask)) == start)
        if (++reads >= PM_STUCK_READS || too_long(hw, t0, reads))
            goto dead;
    start = now;
    t0 = hw->rdtsc();
    reads = 0;
    do {
        if (too_long(hw, t0, ++reads))
            goto dead;
        now = hw->inl(hw->pm_timer_port) & mask;
        elapsed = (now - start) & mask;
    } while (elapsed < want);
    t1 = hw->rdtsc();
    c->wait_ticks += t1 - t0;
    c->hz = (t1 - t0) * PM_TIMER_HZ / elapsed;
    if (plausible(c->hz)) {
        c->source = TSC_SRC_PM_TIMER;
        return true;
    }
    fmt_snprintf(why, sizeof(why), "the ACPI PM timer at port 0x%x gave %llu Hz", hw->pm_timer_port,
                 (unsigned long long)c->hz);
    note(c, why);
    return false;
dead:
    c->wait_ticks += hw->rdtsc() - t0;
    fmt_snprintf(why, sizeof(why), "the ACPI PM timer at port 0x%x did not count", hw->pm_timer_port);
    note(c, why);
    return false;
}

static bool from_pit(const struct tsc_hw *hw, struct tsc_calibration *c)
{
    u16 count = (u16)(PIT_HZ * TSC_CAL_MS / 1000);
    u8 b = hw->inb(PORT_B);
    u32 reads = 0;
    u64 t0, t1;
    bool ok = true;

    hw->outb(PORT_B, (u8)((b & ~0x02) | 0x01)); /* gate on, speaker off */
    hw->outb(PIT_COMMAND, 0xb0);                /* channel 2, lo/hi byte, mode 0 (out rises at terminal count) */
    hw->outb(PIT_CH2_DATA, (u8)count);
    hw->outb(PIT_CH2_DATA, (u8)(count >> 8));
    t0 = hw->rdtsc();
    /* Mode 0 drives OUT low when the count is written; high at once means nothing counts there. */
    if (hw->inb(PORT_B) & PORT_B_OUT2)
        ok = false;
    while (ok && !(hw->inb(PORT_B) & PORT_B_OUT2))
        if (too_long(hw, t0, ++reads))
            ok = false;
    t1 = hw->rdtsc();
    hw->outb(PORT_B, b);
    c->wait_ticks += t1 - t0;
    if (ok) {
        c->hz = (t1 - t0) * (1000 / TSC_CAL_MS);
        if (plausible(c->hz)) {
            c->source = TSC_SRC_PIT;
            return true;
        }
    }
    note(c, ok ? "the PIT gave an implausible frequency" : "the PIT did not count (gated?)");
    return false;
}

void tsc_calibrate(const struct tsc_hw *hw, struct tsc_calibration *c)
{
    c->hz = 0;
    c->wait_ticks = 0;
    c->note[0] = 0;
    if (from_cpuid(hw, c) || from_pm_timer(hw, c) || from_pit(hw, c))
        return;
    c->hz = 1000000000ull;
    c->source = TSC_SRC_ASSUMED;
}

const char *tsc_source_name(enum tsc_source s)
{
    switch (s) {
    case TSC_SRC_CPUID_15:
        return "CPUID 0x15 (crystal clock)";
    case TSC_SRC_CPUID_16:
        return "CPUID 0x16 (base frequency)";
    case TSC_SRC_PM_TIMER:
        return "the ACPI PM timer, 20 ms";
    case TSC_SRC_PIT:
        return "the PIT, 20 ms";
    case TSC_SRC_ASSUMED:
        return "nothing (assumed 1 GHz)";
    }
    return "?";
}
