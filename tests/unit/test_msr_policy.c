/* UNIT-SOURCES: hv/core/msr_policy.c */
/* The MSR policy: docs/msr.md's table against the code's (both ways), first-match lookup, the bitmaps
 * built from it, the MTRR and APIC_BASE checks, the emulated values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/msr_policy.h"

/* ---- docs/msr.md's table ---- */

#define DOC_PATH "docs/msr.md" /* tests run from the top of the tree */
#define DOC_ROWS 128

struct doc_row {
    u32 first, last, step;
    char name[96], vendor[16], read[16], write[16];
};

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n'))
        s[--n] = 0;
    size_t i = 0;
    while (s[i] == ' ')
        i++;
    memmove(s, s + i, strlen(s + i) + 1);
}

/* Cell i (0-based) of a "| a | b | ... |" row, trimmed, into out. */
static bool cell(const char *line, int i, char *out, size_t size)
{
    const char *p = line;
    for (int k = 0; k <= i; k++) {
        p = strchr(p, '|');
        if (!p)
            return false;
        p++;
    }
    const char *end = strchr(p, '|');
    if (!end || (size_t)(end - p) >= size)
        return false;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = 0;
    trim(out);
    return true;
}

/* "`0xA`", "`0xA-0xB`" or "`0xA-0xB/S`" */
static bool parse_msrs(const char *c, struct doc_row *r)
{
    char buf[64];
    char *p, *dash, *slash;
    size_t n = strlen(c);

    if (n < 3 || c[0] != '`' || c[n - 1] != '`' || n - 2 >= sizeof(buf))
        return false;
    memcpy(buf, c + 1, n - 2);
    buf[n - 2] = 0;
    slash = strchr(buf, '/');
    r->step = slash ? (u32)strtoul(slash + 1, NULL, 0) : 1;
    if (slash)
        *slash = 0;
    dash = strchr(buf, '-');
    r->first = (u32)strtoul(buf, &p, 0);
    r->last = dash ? (u32)strtoul(dash + 1, NULL, 0) : r->first;
    return r->step != 0 && r->last >= r->first;
}

/* The rows of the table whose header starts "| MSRs |"; -1 if it is not found or a row is malformed. */
static int doc_rows(struct doc_row *rows, int max)
{
    FILE *f = fopen(DOC_PATH, "r");
    char line[2048];
    bool in_table = false;
    int n = 0;

    if (!f) {
        print_error("cannot open %s (the unit tests run from the top of the tree)\n", DOC_PATH);
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (!in_table) {
            in_table = strncmp(line, "| MSRs |", 8) == 0;
            continue;
        }
        if (line[0] != '|')
            break;
        if (strncmp(line, "|---", 4) == 0)
            continue;
        char msrs[64];
        struct doc_row *r = &rows[n];
        if (n == max || !cell(line, 0, msrs, sizeof(msrs)) || !parse_msrs(msrs, r) ||
            !cell(line, 1, r->name, sizeof(r->name)) || !cell(line, 2, r->vendor, sizeof(r->vendor)) ||
            !cell(line, 3, r->read, sizeof(r->read)) || !cell(line, 4, r->write, sizeof(r->write))) {
            print_error("%s: malformed row: %s", DOC_PATH, line);
            fclose(f);
            return -1;
        }
        n++;
    }
    fclose(f);
    return in_table ? n : -1;
}

static bool same(const struct doc_row *d, const struct msr_rule *r)
{
    return d->first == r->first && d->last == r->last && d->step == r->step && !strcmp(d->name, r->name) &&
           !strcmp(d->vendor, msr_vendor_name(r->vendor)) && !strcmp(d->read, msr_read_name(r->read)) &&
           !strcmp(d->write, msr_write_name(r->write));
}

static void doc_table_is_the_code_table(void **state)
{
    static struct doc_row rows[DOC_ROWS];
    int n = doc_rows(rows, DOC_ROWS);
    bool ok = true;

    assert_true(n > 0);
    /* every code rule is in the document, and in the same order (the first match decides) */
    for (unsigned i = 0; i < msr_rule_count; i++) {
        const struct msr_rule *r = &msr_rules[i];
        if (i >= (unsigned)n || !same(&rows[i], r)) {
            print_error("code rule %u (0x%x-0x%x/%u %s %s %s %s) is not row %u of %s\n", i, r->first, r->last, r->step,
                        r->name, msr_vendor_name(r->vendor), msr_read_name(r->read), msr_write_name(r->write), i,
                        DOC_PATH);
            ok = false;
        }
    }
    /* every document row is in the code */
    for (int i = 0; i < n; i++) {
        bool found = false;
        for (unsigned j = 0; j < msr_rule_count && !found; j++)
            found = same(&rows[i], &msr_rules[j]);
        if (!found) {
            print_error("%s row %d (0x%x-0x%x/%u %s %s %s %s) has no rule in hv/core/msr_policy.c\n", DOC_PATH, i,
                        rows[i].first, rows[i].last, rows[i].step, rows[i].name, rows[i].vendor, rows[i].read,
                        rows[i].write);
            ok = false;
        }
    }
    assert_int_equal(n, (int)msr_rule_count);
    assert_true(ok);
}

/* ---- lookup ---- */

static void first_rule_decides(void **state)
{
    const struct msr_rule *r;

    r = msr_rule_find(0x404, MSR_INTEL); /* MC1_CTL: the step-4 rule before the bank range */
    assert_non_null(r);
    assert_string_equal(r->name, "MCi_CTL");
    r = msr_rule_find(0x405, MSR_INTEL); /* MC1_STATUS */
    assert_non_null(r);
    assert_int_equal(r->read, MSR_READ_PASS);
    assert_int_equal(r->write, MSR_WRITE_PASS);
    r = msr_rule_find(0xc0002010u, MSR_AMD); /* SMCA bank 1 MCA_CTL */
    assert_string_equal(r->name, "SMCA MCA_CTL");
    r = msr_rule_find(0xc0002011u, MSR_AMD);
    assert_string_equal(r->name, "SMCA bank registers");
    assert_null(msr_rule_find(0x6e0, MSR_AMD)); /* TSC_DEADLINE: no rule, native */
}

static void vendor_rows_apply_to_their_vendor(void **state)
{
    assert_non_null(msr_rule_find(0xc0010015u, MSR_AMD)); /* HWCR */
    assert_null(msr_rule_find(0xc0010015u, MSR_INTEL));
    assert_non_null(msr_rule_find(0x480, MSR_INTEL)); /* VMX_BASIC */
    assert_null(msr_rule_find(0x480, MSR_AMD));
    assert_int_equal(msr_rule_find(0x2ff, MSR_AMD)->write, MSR_WRITE_EMULATE);
    assert_int_equal(msr_rule_find(0x2ff, MSR_INTEL)->write, MSR_WRITE_EMULATE);
    assert_int_equal(msr_vendor_of("AuthenticAMD"), MSR_AMD);
    assert_int_equal(msr_vendor_of("HygonGenuine"), MSR_AMD);
    assert_int_equal(msr_vendor_of("GenuineIntel"), MSR_INTEL);
}

/* Every rule's own MSR names and actions are sane: no empty ranges, steps that reach last. */
static void rules_are_well_formed(void **state)
{
    for (unsigned i = 0; i < msr_rule_count; i++) {
        const struct msr_rule *r = &msr_rules[i];
        assert_true(r->step >= 1);
        assert_true(r->first <= r->last);
        assert_int_equal((r->last - r->first) % r->step, 0);
        assert_true(r->name && r->name[0]);
        assert_true(r->read <= MSR_READ_FAULT && r->write <= MSR_WRITE_FAULT);
        /* filter and the fixed answers need code of their own */
        if (r->write == MSR_WRITE_FILTER)
            assert_int_not_equal(r->special, MSR_SPECIAL_NONE);
    }
}

/* ---- the bitmaps ---- */

static u8 seen[3][0x2000]; /* 0, C000_xxxx, C001_xxxx: bit 0 read exits, bit 1 write exits, bit 2 set twice */

static void record(void *ctx, u32 msr, bool read, bool write)
{
    u8 *b;
    if (msr <= 0x1fff)
        b = &seen[0][msr];
    else if (msr - 0xc0000000u <= 0x1fff)
        b = &seen[1][msr - 0xc0000000u];
    else if (msr - 0xc0010000u <= 0x1fff)
        b = &seen[2][msr - 0xc0010000u];
    else
        return;
    if (*b)
        *b |= 4;
    *b |= (u8)((read ? 1 : 0) | (write ? 2 : 0));
    (*(int *)ctx)++;
}

static u8 bits(u32 msr)
{
    if (msr <= 0x1fff)
        return seen[0][msr];
    if (msr - 0xc0000000u <= 0x1fff)
        return seen[1][msr - 0xc0000000u];
    return seen[2][msr - 0xc0010000u];
}

static void bitmaps_follow_the_table(void **state)
{
    int calls = 0;

    memset(seen, 0, sizeof(seen));
    msr_policy_for_each_intercept(MSR_AMD, record, &calls);
    assert_true(calls > 0);
    assert_int_equal(bits(0x2ff), 3);       /* MTRRdefType: both */
    assert_int_equal(bits(0x1b), 2);        /* APIC_BASE: writes only */
    assert_int_equal(bits(0x79), 0);        /* Intel's loader: not on AMD */
    assert_int_equal(bits(0xc0010020u), 2); /* AMD's loader: writes */
    assert_int_equal(bits(0xc0010015u), 3); /* HWCR */
    assert_int_equal(bits(0xc0000080u), 3); /* EFER */
    assert_int_equal(bits(0xc0010114u), 3); /* VM_CR */
    assert_int_equal(bits(0x830), 2);       /* x2APIC ICR: writes (INIT/SIPI judged) */
    assert_int_equal(bits(0x831), 0);       /* other x2APIC registers: native */
    assert_int_equal(bits(0x400), 3);       /* MC0_CTL */
    assert_int_equal(bits(0x401), 0);       /* MC0_STATUS: native */
    assert_int_equal(bits(0x277), 0);       /* PAT */
    assert_int_equal(bits(0x480), 0);       /* VMX caps: Intel only */
    for (u32 m = 0; m < 0x2000; m++)        /* each MSR set once: the first rule's */
        assert_int_equal(bits(m) & 4, 0);

    memset(seen, 0, sizeof(seen));
    msr_policy_for_each_intercept(MSR_INTEL, record, &calls);
    assert_int_equal(bits(0x480), 3);
    assert_int_equal(bits(0x491), 3);
    assert_int_equal(bits(0x3a), 3);  /* FEATURE_CONTROL */
    assert_int_equal(bits(0x79), 2);  /* microcode loader */
    assert_int_equal(bits(0x570), 3); /* RTIT_CTL */
    assert_int_equal(bits(0xc0010015u), 0);
    /* every intercepted MSR in the maps is one whose first rule is not pass/pass, and the reverse */
    for (u32 m = 0; m < 0x2000; m++) {
        const struct msr_rule *r = msr_rule_find(m, MSR_INTEL);
        u8 want = r ? (u8)((r->read != MSR_READ_PASS ? 1 : 0) | (r->write != MSR_WRITE_PASS ? 2 : 0)) : 0;
        assert_int_equal(bits(m), want);
    }
}

/* ---- MTRRs ---- */

static void mtrr_values_checked_as_the_cpu_does(void **state)
{
    /* def type: WB, E and FE set */
    assert_true(msr_mtrr_write_ok(0x2ff, 0xc06, 48, 8, true));
    assert_true(msr_mtrr_write_ok(0x2ff, 0, 48, 8, true));
    assert_false(msr_mtrr_write_ok(0x2ff, 0xc02, 48, 8, true));  /* type 2 is reserved */
    assert_false(msr_mtrr_write_ok(0x2ff, 0x1006, 48, 8, true)); /* bit 12 reserved */
    /* variable pair 2: base at 2 GiB WB, mask 1 GiB valid */
    assert_true(msr_mtrr_write_ok(0x204, 0x80000006, 48, 8, true));
    assert_true(msr_mtrr_write_ok(0x205, 0xffffc0000800ull, 48, 8, true));
    assert_false(msr_mtrr_write_ok(0x204, 0x80000106, 48, 8, true));     /* bits 11:8 reserved */
    assert_false(msr_mtrr_write_ok(0x204, 1ull << 48 | 6, 48, 8, true)); /* above MAXPHYADDR */
    assert_false(msr_mtrr_write_ok(0x205, 0x801, 48, 8, true));          /* mask bits 10:0 reserved */
    assert_false(msr_mtrr_write_ok(0x204, 0x80000003, 48, 8, true));     /* type 3 reserved */
    /* pair 8 on a CPU with 8 pairs (0-7) */
    assert_false(msr_mtrr_write_ok(0x210, 6, 48, 8, true));
    assert_true(msr_mtrr_write_ok(0x210, 6, 48, 10, true));
    /* fixed: every byte a valid type; none without the fixed ranges */
    assert_true(msr_mtrr_write_ok(0x250, 0x0606060606060606ull, 48, 8, true));
    assert_true(msr_mtrr_write_ok(0x26f, 0x0505050500000101ull, 48, 8, true));
    assert_false(msr_mtrr_write_ok(0x258, 0x0606060606060607ull, 48, 8, true));
    assert_false(msr_mtrr_write_ok(0x268, 0x06, 48, 8, false));
    /* not an MTRR */
    assert_false(msr_mtrr_write_ok(0x277, 0, 48, 8, true));
}

/* ---- APIC_BASE ---- */

#define BASE 0xfee00000ull

static void apic_base_mode_changes(void **state)
{
    u64 out = 0;
    u64 xapic = BASE | APIC_BASE_EN | APIC_BASE_BSP, x2apic = xapic | APIC_BASE_EXTD, off = BASE | APIC_BASE_BSP;

    /* xAPIC -> x2APIC (Linux's x2apic_enable) */
    assert_int_equal(msr_apic_base_check(xapic, x2apic, 48, true, &out), APIC_BASE_OK);
    assert_int_equal(out, x2apic);
    /* x2APIC -> disabled -> xAPIC (Linux's __x2apic_disable) */
    assert_int_equal(msr_apic_base_check(x2apic, off, 48, true, &out), APIC_BASE_OK);
    assert_int_equal(msr_apic_base_check(off, xapic, 48, true, &out), APIC_BASE_OK);
    /* illegal transitions and the invalid state */
    assert_int_equal(msr_apic_base_check(x2apic, xapic, 48, true, &out), APIC_BASE_FAULT);
    assert_int_equal(msr_apic_base_check(off, x2apic, 48, true, &out), APIC_BASE_FAULT);
    assert_int_equal(msr_apic_base_check(xapic, BASE | APIC_BASE_EXTD, 48, true, &out), APIC_BASE_FAULT);
    /* x2APIC on a CPU without it, reserved bits */
    assert_int_equal(msr_apic_base_check(xapic, x2apic, 48, false, &out), APIC_BASE_FAULT);
    assert_int_equal(msr_apic_base_check(xapic, xapic | BIT(9), 48, true, &out), APIC_BASE_FAULT);
    assert_int_equal(msr_apic_base_check(xapic, xapic | 1, 48, true, &out), APIC_BASE_FAULT);
    assert_int_equal(msr_apic_base_check(xapic, xapic | (1ull << 48), 48, true, &out), APIC_BASE_FAULT);
    /* a move is refused, whatever the mode */
    assert_int_equal(msr_apic_base_check(xapic, (xapic & ~BASE) | 0x1000000, 48, true, &out), APIC_BASE_MOVED);
    /* the BSP flag stays the machine's */
    assert_int_equal(msr_apic_base_check(xapic, xapic & ~APIC_BASE_BSP, 48, true, &out), APIC_BASE_OK);
    assert_int_equal(out, xapic);
    assert_int_equal(msr_apic_base_check(BASE | APIC_BASE_EN, xapic, 48, true, &out), APIC_BASE_OK);
    assert_int_equal(out, BASE | APIC_BASE_EN);
}

/* ---- emulated values ---- */

static void shadow_holds_what_the_guest_wrote(void **state)
{
    u64 v = 0;

    msr_shadow_reset();
    assert_false(msr_shadow_get(0x2ff, &v));
    assert_true(msr_shadow_set(0x2ff, 0x806));
    assert_true(msr_shadow_get(0x2ff, &v));
    assert_int_equal(v, 0x806);
    assert_true(msr_shadow_set(0x2ff, 0xc06));
    assert_true(msr_shadow_get(0x2ff, &v));
    assert_int_equal(v, 0xc06);
    for (u32 m = 0; m < MSR_SHADOW_MAX - 1; m++)
        assert_true(msr_shadow_set(0x400 + m, m));
    assert_false(msr_shadow_set(0x1000, 1)); /* full */
    assert_true(msr_shadow_set(0x2ff, 6));   /* an MSR already held still changes */
    assert_true(msr_shadow_get(0x400 + 7, &v));
    assert_int_equal(v, 7);
    msr_shadow_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doc_table_is_the_code_table),
        cmocka_unit_test(first_rule_decides),
        cmocka_unit_test(vendor_rows_apply_to_their_vendor),
        cmocka_unit_test(rules_are_well_formed),
        cmocka_unit_test(bitmaps_follow_the_table),
        cmocka_unit_test(mtrr_values_checked_as_the_cpu_does),
        cmocka_unit_test(apic_base_mode_changes),
        cmocka_unit_test(shadow_holds_what_the_guest_wrote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
