/* The TSC's rate, measured once (timebase.h; the sources in tsc_calibrate.c). */
#include "lib/timebase.h"
#include "arch/x86_64/cpu.h"
#include "lib/log.h"
#include "lib/tsc_calibrate.h"

static u64 tsc_hz, tsc_boot;

static void hw_cpuid(u32 leaf, u32 sub, u32 out[4])
{
    struct cpuid_regs r = cpuid(leaf, sub);
    out[0] = r.eax;
    out[1] = r.ebx;
    out[2] = r.ecx;
    out[3] = r.edx;
}
static u64 hw_rdtsc(void) { return rdtsc(); }
static u8 hw_inb(u16 port) { return inb(port); }
static void hw_outb(u16 port, u8 v) { outb(port, v); }
static u32 hw_inl(u16 port) { return inl(port); }

void timebase_init(u16 pm_timer_port, bool pm_timer_32bit)
{
    struct tsc_hw hw = { hw_cpuid, hw_rdtsc, hw_inb, hw_outb, hw_inl, pm_timer_port, pm_timer_32bit };
    struct tsc_calibration c;

    tsc_boot = rdtsc();
    tsc_calibrate(&hw, &c);
    tsc_hz = c.hz;
    LOG("timebase: TSC %llu kHz from %s%s%s%s", (unsigned long long)(tsc_hz / 1000), tsc_source_name(c.source),
        c.note[0] ? " (" : "", c.note, c.note[0] ? ")" : "");
    if (!(cpuid(0x80000000u, 0).eax >= 0x80000007u && (cpuid(0x80000007u, 0).edx & BIT(8))))
        LOG("timebase: the CPU does not report an invariant TSC: uptimes may drift with power states");
}

u64 timebase_tsc_hz(void) { return tsc_hz; }

u64 timebase_tsc_to_ms(u64 tsc)
{
    u64 d = tsc > tsc_boot ? tsc - tsc_boot : 0;
    return tsc_hz ? d / (tsc_hz / 1000) : 0;
}

u64 timebase_ms(void) { return timebase_tsc_to_ms(rdtsc()); }
