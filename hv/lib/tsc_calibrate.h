/*
 * How fast the TSC runs, from the first source that answers (tsc_calibrate.c, docs/console.md
 * "Time"): CPUID leaf 0x15 (crystal clock × ratio) or 0x16 (base frequency), then a 20 ms
 * measurement against the ACPI PM timer (where the FADT names one), then the PIT's channel 2.
 * Every wait is bounded in TSC ticks and in reads, so a dead or gated clock costs at most about a
 * second; with nothing usable the TSC is taken to run at 1 GHz. Pure logic on a struct of
 * accessors, so the host unit tests (tests/unit/test_tsc_calibrate.c) fake each source.
 */
#ifndef POSTERN_TSC_CALIBRATE_H
#define POSTERN_TSC_CALIBRATE_H

#include "lib/types.h"

enum tsc_source {
    TSC_SRC_CPUID_15, /* crystal Hz × EBX/EAX */
    TSC_SRC_CPUID_16, /* base frequency in MHz (leaf 0x15 without the crystal's frequency) */
    TSC_SRC_PM_TIMER, /* 3.579545 MHz ACPI PM timer, 20 ms */
    TSC_SRC_PIT,      /* 1.193182 MHz PIT channel 2, 20 ms */
    TSC_SRC_ASSUMED,  /* nothing answered: 1 GHz */
};

struct tsc_hw {
    void (*cpuid)(u32 leaf, u32 sub, u32 out[4]); /* eax, ebx, ecx, edx */
    u64 (*rdtsc)(void);
    u8 (*inb)(u16 port);
    void (*outb)(u16 port, u8 value);
    u32 (*inl)(u16 port);
    u16 pm_timer_port;   /* the FADT's PM_TMR_BLK; 0: none */
    bool pm_timer_32bit; /* FADT TMR_VAL_EXT: 32 bits, else 24 */
};

#define TSC_CAL_MS         20u
#define TSC_MIN_HZ         100000000ull   /* 100 MHz: anything slower is a failed measurement */
#define TSC_MAX_HZ         20000000000ull /* 20 GHz */
#define TSC_WAIT_MAX_TICKS (1ull << 32)   /* a wait gives up after this many TSC ticks (~1 s at 4 GHz) ... */
#define TSC_WAIT_MAX_READS 2000000u       /* ... or this many port reads (~2 s at 1 µs each on LPC) */
#define TSC_NOTE_MAX       160

struct tsc_calibration {
    u64 hz;
    enum tsc_source source;
    u64 wait_ticks;          /* TSC ticks spent waiting on clocks (the failed ones too) */
    char note[TSC_NOTE_MAX]; /* the sources that did not answer, and why ("" when the first did) */
};

void tsc_calibrate(const struct tsc_hw *hw, struct tsc_calibration *out);
const char *tsc_source_name(enum tsc_source s);

#endif
