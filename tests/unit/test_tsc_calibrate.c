/* UNIT-SOURCES: hv/lib/tsc_calibrate.c hv/lib/fmt.c */
/* TSC calibration (hv/lib/tsc_calibrate.c) against simulated machines: a clock in nanoseconds that
 * every access advances (a port read costs 1 µs, as on LPC), a TSC, an ACPI PM timer and a PIT
 * derived from it, and CPUID leaves as Intel and AMD parts publish them. Checks the source chosen,
 * the frequency found, and that a dead or gated clock costs a bounded wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/tsc_calibrate.h"

struct machine {
    u64 tsc_hz;
    u32 max_leaf;
    u32 leaf15[3]; /* eax, ebx, ecx */
    u32 leaf16_mhz;
    bool pm_timer, pm_dead, pm_32;
    u32 pm_offset; /* the PM timer's value at time 0 */
    bool pit_gated;
};

static struct machine m;
static u64 ns;        /* simulated time */
static u64 pit_start; /* ns when channel 2 was programmed */
static u16 pit_count; /* the count written */
static int pit_bytes; /* count bytes written since the command */
static bool pit_armed;

static void fake_cpuid(u32 leaf, u32 sub, u32 out[4])
{
    (void)sub;
    memset(out, 0, 4 * sizeof(u32));
    if (leaf == 0)
        out[0] = m.max_leaf;
    else if (leaf == 0x15 && m.max_leaf >= 0x15)
        memcpy(out, m.leaf15, sizeof(m.leaf15));
    else if (leaf == 0x16 && m.max_leaf >= 0x16)
        out[0] = m.leaf16_mhz;
}

static u64 fake_rdtsc(void)
{
    ns += 20;
    return (u64)((unsigned __int128)ns * m.tsc_hz / 1000000000u);
}

static u8 fake_inb(u16 port)
{
    ns += 1000;
    if (port != 0x61)
        return 0xff;
    if (!pit_armed || m.pit_gated)
        return 0x01;
    /* mode 0: OUT low from the count's write until it reaches zero */
    return (u8)(0x01 | ((ns - pit_start) * 1193182ull / 1000000000u >= pit_count ? 0x20 : 0));
}

static void fake_outb(u16 port, u8 v)
{
    ns += 1000;
    if (port == 0x43) {
        pit_bytes = 0;
        pit_armed = false;
    } else if (port == 0x42) {
        pit_count = pit_bytes == 0 ? v : (u16)(pit_count | v << 8);
        if (++pit_bytes == 2) {
            pit_start = ns;
            pit_armed = true;
        }
    }
}

static u32 fake_inl(u16 port)
{
    u64 ticks;
    ns += 1000;
    if (port != 0x608 || !m.pm_timer)
        return 0xffffffffu;
    ticks = m.pm_dead ? 0 : ns * 3579545ull / 1000000000u;
    return (u32)(ticks + m.pm_offset) & (m.pm_32 ? 0xffffffffu : 0xffffffu);
}

static struct tsc_calibration run(void)
{
    struct tsc_hw hw = { fake_cpuid, fake_rdtsc, fake_inb, fake_outb, fake_inl, 0, false };
    struct tsc_calibration c;
    hw.pm_timer_port = m.pm_timer ? 0x608 : 0;
    hw.pm_timer_32bit = m.pm_32;
    ns = 1000000;
    pit_armed = false;
    tsc_calibrate(&hw, &c);
    printf("    -> %llu Hz from %s%s%s, %llu µs simulated\n", (unsigned long long)c.hz, tsc_source_name(c.source),
           c.note[0] ? "; " : "", c.note, (unsigned long long)((ns - 1000000) / 1000));
    return c;
}

static u64 sim_ms(void) { return (ns - 1000000) / 1000000; }

/* |got - want| within want / 1000 */
static void near(u64 got, u64 want) { assert_true(got + want / 1000 >= want && got <= want + want / 1000); }

static int setup(void **state)
{
    (void)state;
    memset(&m, 0, sizeof(m));
    m.tsc_hz = 2500000000ull;
    m.max_leaf = 0x0d; /* an AMD EPYC's basic leaves end below 0x15 */
    return 0;
}

static void cpuid_15_crystal(void **state)
{
    (void)state;
    m.max_leaf = 0x16;
    m.leaf15[0] = 2;
    m.leaf15[1] = 188;
    m.leaf15[2] = 25000000; /* 25 MHz crystal × 94 = 2.35 GHz */
    m.pit_gated = true;
    struct tsc_calibration c = run();
    assert_int_equal(c.source, TSC_SRC_CPUID_15);
    assert_int_equal(c.hz, 2350000000ull);
    assert_int_equal(c.wait_ticks, 0);
    assert_int_equal(sim_ms(), 0);
}

static void cpuid_16_base_frequency(void **state)
{
    (void)state;
    m.max_leaf = 0x16;
    m.leaf15[0] = 2;
    m.leaf15[1] = 168;
    m.leaf15[2] = 0; /* no crystal frequency (Skylake client parts) */
    m.leaf16_mhz = 2100;
    struct tsc_calibration c = run();
    assert_int_equal(c.source, TSC_SRC_CPUID_16);
    assert_int_equal(c.hz, 2100000000ull);
}

static void cpuid_15_empty_falls_to_pm_timer(void **state)
{
    (void)state;
    m.max_leaf = 0x15; /* leaf 0x15 all zero, no 0x16 */
    m.pm_timer = true;
    struct tsc_calibration c = run();
    assert_int_equal(c.source, TSC_SRC_PM_TIMER);
    near(c.hz, m.tsc_hz);
    assert_non_null(strstr(c.note, "CPUID 0x15/0x16 give no frequency"));
}

static void pm_timer_24bit(void **state)
{
    (void)state;
    m.pm_timer = true;
    m.pit_gated = true;
    struct tsc_calibration c = run();
    assert_int_equal(c.source, TSC_SRC_PM_TIMER);
    near(c.hz, m.tsc_hz);
    assert_true(sim_ms() >= 20 && sim_ms() <= 25);
}

static void pm_timer_wraps(void **state)
{
    (void)state;
    m.pm_timer = true;
    m.pm_offset = 0xffffff - 30000; /* wraps 24 bits a few ms into the measurement */
    struct tsc_calibration c = run();
    assert_int_equal(c.source, TSC_SRC_PM_TIMER);
    near(c.hz, m.tsc_hz);
    m.pm_32 = true;
    m.pm_offset = 0xffffffffu - 30000;
    c = run();
    assert_int_equal(c.source, TSC_SRC_PM_TIMER);
    near(c.hz, m.tsc_hz);
}

static void pit_when_no_pm_timer(void **state)
{
    (void)state;
    m.tsc_hz = 3000000000ull;
    struct tsc_calibration c = run();
    assert_int_equal(c.source, TSC_SRC_PIT);
    near(c.hz, m.tsc_hz);
    assert_non_null(strstr(c.note, "no ACPI PM timer"));
}

static void dead_pm_timer_then_pit(void **state)
{
    (void)state;
    m.pm_timer = true;
    m.pm_dead = true;
    struct tsc_calibration c = run();
    assert_int_equal(c.source, TSC_SRC_PIT);
    near(c.hz, m.tsc_hz);
    assert_non_null(strstr(c.note, "PM timer at port 0x608 did not count"));
    assert_true(sim_ms() < 100); /* a stuck timer is known after PM_STUCK_READS reads */
}

/* The review's m3: a gated PIT (OUT never rises) used to cost 100M port reads, minutes, before
 * "1 GHz". Now at most TSC_WAIT_MAX_READS reads or TSC_WAIT_MAX_TICKS. */
static void gated_pit_is_bounded(void **state)
{
    (void)state;
    m.pit_gated = true;
    struct tsc_calibration c = run();
    assert_int_equal(c.source, TSC_SRC_ASSUMED);
    assert_int_equal(c.hz, 1000000000ull);
    assert_non_null(strstr(c.note, "the PIT did not count"));
    assert_true(sim_ms() < 3000);
}

static void everything_dead_is_bounded(void **state)
{
    (void)state;
    m.pm_timer = true;
    m.pm_dead = true;
    m.pit_gated = true;
    m.tsc_hz = 1000000000ull; /* a slow TSC: the tick bound is longest in time */
    struct tsc_calibration c = run();
    assert_int_equal(c.source, TSC_SRC_ASSUMED);
    assert_true(sim_ms() < 6000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(cpuid_15_crystal, setup),
        cmocka_unit_test_setup(cpuid_16_base_frequency, setup),
        cmocka_unit_test_setup(cpuid_15_empty_falls_to_pm_timer, setup),
        cmocka_unit_test_setup(pm_timer_24bit, setup),
        cmocka_unit_test_setup(pm_timer_wraps, setup),
        cmocka_unit_test_setup(pit_when_no_pm_timer, setup),
        cmocka_unit_test_setup(dead_pm_timer_then_pit, setup),
        cmocka_unit_test_setup(gated_pit_is_bounded, setup),
        cmocka_unit_test_setup(everything_dead_is_bounded, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
