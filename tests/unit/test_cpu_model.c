/* UNIT-SOURCES: hv/core/cpuid_policy.c arch/x86_64/svm/svm_erratum383.c arch/x86_64/svm/svm_vmrun_check.c hv/lib/fmt.c */
/*
 * CPU models (docs/events.md "CPU models"): the guest's CPUID policy built from fake CPUID tables
 * shaped like QEMU's EPYC and Opteron_G4 models, the CR4 and XCR0 checks against it, the family 10h
 * erratum 383 model check, and VMRUN's guest-state checks naming the field that failed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/cpuid_policy.h"
#include "arch/x86_64/svm/svm_erratum383.h"
#include "arch/x86_64/svm/svm_vmrun_check.h"

#define CR4_VME      BIT(0)
#define CR4_PAE      BIT(5)
#define CR4_PGE      BIT(7)
#define CR4_OSFXSR   BIT(9)
#define CR4_VMXE     BIT(13)
#define CR4_FSGSBASE BIT(16)
#define CR4_OSXSAVE  BIT(18)
#define CR4_SMEP     BIT(20)
#define CR4_PKE      BIT(22)

/* A fake CPU: leaf 1, 7, 0Dh and 8000_0001h of the model under test. */
static struct {
    u32 max_basic;
    struct cpuid_out l1, l7, ld, e1;
} cpu;

static struct cpuid_out fake_cpuid(u32 leaf, u32 sub)
{
    struct cpuid_out z = { 0, 0, 0, 0 };
    switch (leaf) {
    case 0:
        return (struct cpuid_out){ cpu.max_basic, 0, 0, 0 };
    case 1:
        return cpu.l1;
    case 7:
        return sub == 0 ? cpu.l7 : z;
    case 0xd:
        return sub == 0 ? cpu.ld : z;
    case 0x80000000u:
        return (struct cpuid_out){ 0x80000008u, 0, 0, 0 };
    case 0x80000001u:
        return cpu.e1;
    default:
        return z;
    }
}

/* QEMU 7.2's EPYC under TCG (family 17h): XSAVE, FSGSBASE, SMEP, SVM, no PKU. */
static void epyc(void)
{
    memset(&cpu, 0, sizeof(cpu));
    cpu.max_basic = 0xd;
    cpu.l1 = (struct cpuid_out){ 0x00800f12, 0, BIT(26) | BIT(27) | BIT(0), 0x178bfbff };
    cpu.l7 = (struct cpuid_out){ 0, BIT(0) | BIT(7) | BIT(20), 0, 0 };
    cpu.ld = (struct cpuid_out){ 0x7, 0, 0, 0 };
    cpu.e1 = (struct cpuid_out){ 0, 0, BIT(2) | BIT(29), BIT(29) | BIT(20) };
}

/* Opteron_G4 (family 15h): XSAVE and AVX in leaf 1, nothing in leaf 7. */
static void opteron_g4(void)
{
    epyc();
    cpu.l1.eax = 0x00600f12;
    cpu.l7 = (struct cpuid_out){ 0, 0, 0, 0 };
}

/* Opteron_G3 / phenom (family 10h): no XSAVE at all, max basic leaf 5. */
static void opteron_g3(void)
{
    epyc();
    cpu.max_basic = 5;
    cpu.l1 = (struct cpuid_out){ 0x00100f23, 0, BIT(0) | BIT(23), 0x078bfbff };
    cpu.l7 = cpu.ld = (struct cpuid_out){ 0, 0, 0, 0 };
}

static void policy_comes_from_the_cpus_leaves(void **state)
{
    struct cpuid_policy p;
    epyc();
    cpuid_policy_init(&p, fake_cpuid);
    assert_int_equal(cpuid_family(p.leaf1_eax), 0x17);
    assert_int_equal(p.xcr0_supported, 7);
    assert_false(p.ext1_ecx & BIT(2));   /* SVM masked */
    assert_false(p.leaf1_ecx & BIT(31)); /* the hypervisor bit is no feature */
    assert_false(p.leaf1_ecx & BIT(27)); /* OSXSAVE mirrors CR4, no feature */
    assert_true(p.leaf1_ecx & BIT(26));
    /* never adding: every bit is one the CPU has */
    assert_int_equal(p.leaf1_ecx & ~cpu.l1.ecx, 0);
    assert_int_equal(p.leaf1_edx & ~cpu.l1.edx, 0);
    assert_int_equal(p.leaf7_ebx & ~cpu.l7.ebx, 0);
    assert_int_equal(p.ext1_ecx & ~cpu.e1.ecx, 0);
}

static void cr4_bits_follow_the_features(void **state)
{
    struct cpuid_policy p;
    int bit = -1;

    epyc();
    cpuid_policy_init(&p, fake_cpuid);
    assert_null(
        cpuid_policy_cr4_check(&p, CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXSAVE | CR4_FSGSBASE | CR4_SMEP, &bit));
    assert_string_equal(cpuid_policy_cr4_check(&p, CR4_PAE | CR4_VMXE, &bit), "VMXE"); /* hidden: never */
    assert_int_equal(bit, 13);
    assert_string_equal(cpuid_policy_cr4_check(&p, CR4_PAE | CR4_PKE, &bit), "PKE"); /* no PKU */
    assert_string_equal(cpuid_policy_cr4_check(&p, BIT(15), &bit), "reserved");
    assert_string_equal(cpuid_policy_cr4_check(&p, BIT(40), &bit), "reserved");
    assert_int_equal(bit, 40);

    opteron_g4();
    cpuid_policy_init(&p, fake_cpuid);
    assert_null(cpuid_policy_cr4_check(&p, CR4_PAE | CR4_OSXSAVE, &bit)); /* CPUID offers XSAVE */
    assert_string_equal(cpuid_policy_cr4_check(&p, CR4_PAE | CR4_SMEP, &bit), "SMEP");
    assert_string_equal(cpuid_policy_cr4_check(&p, CR4_FSGSBASE, &bit), "FSGSBASE");

    opteron_g3();
    cpuid_policy_init(&p, fake_cpuid);
    assert_string_equal(cpuid_policy_cr4_check(&p, CR4_PAE | CR4_OSXSAVE, &bit), "OSXSAVE");
    assert_int_equal(p.xcr0_supported, 0);
    assert_null(cpuid_policy_cr4_check(&p, CR4_VME | CR4_PAE | CR4_PGE, &bit));
}

static void xcr0_is_checked_against_leaf_0d(void **state)
{
    struct cpuid_policy p;
    epyc();
    cpuid_policy_init(&p, fake_cpuid);
    assert_null(cpuid_policy_xcr0_check(&p, 0, 0x7));
    assert_null(cpuid_policy_xcr0_check(&p, 0, 0x3));
    assert_non_null(cpuid_policy_xcr0_check(&p, 1, 0x7));  /* only XCR0 */
    assert_non_null(cpuid_policy_xcr0_check(&p, 0, 0x6));  /* x87 must stay */
    assert_non_null(cpuid_policy_xcr0_check(&p, 0, 0x5));  /* AVX without SSE */
    assert_non_null(cpuid_policy_xcr0_check(&p, 0, 0xe7)); /* AVX-512: not offered */
    assert_non_null(cpuid_policy_xcr0_check(&p, 0, 1ull << 62));
    opteron_g3();
    cpuid_policy_init(&p, fake_cpuid);
    assert_string_equal(cpuid_policy_xcr0_check(&p, 0, 0x1), "XSAVE is not offered");
}

static void erratum_383_model_check(void **state)
{
    assert_true(erratum383_affected(0x00100f23, false, 0, 0));  /* Opteron_G3: family 10h */
    assert_true(erratum383_affected(0x00100f42, false, 0, 0));  /* phenom II */
    assert_false(erratum383_affected(0x00600f12, false, 0, 0)); /* Opteron_G4: family 15h */
    assert_false(erratum383_affected(0x00800f12, false, 0, 0)); /* EPYC: family 17h */
    assert_false(erratum383_affected(0x00000f48, false, 0, 0)); /* K8: family 0Fh */
    /* OSVW decides where it knows the erratum (ID 3 < ID_Length) */
    assert_false(erratum383_affected(0x00100f23, true, 4, 0));
    assert_true(erratum383_affected(0x00100f23, true, 4, BIT(3)));
    assert_true(erratum383_affected(0x00600f12, true, 4, BIT(3)));
    /* and falls back to the family where it does not */
    assert_true(erratum383_affected(0x00100f23, true, 3, 0));
}

static struct vmcb vmcb;
static const struct svm_check_env env = {
    .cr4_reserved = ~(u64)0x406f8,
    .phys_bits = 48,
    .long_mode = true,
    .efer_allowed = 0xfd01,
};

static void good_state(void)
{
    memset(&vmcb, 0, sizeof(vmcb));
    vmcb.save.efer = 0x1d00;
    vmcb.save.cr0 = 0x80050033;
    vmcb.save.cr3 = 0x1000;
    vmcb.save.cr4 = 0x6b0;
    vmcb.save.dr6 = 0xffff0ff0;
    vmcb.save.dr7 = 0x400;
    vmcb.save.cs.attrib = 0x29b; /* L set, D clear */
    vmcb.control.intercept_misc2 = 1;
    vmcb.control.guest_asid = 1;
}

static void expect_field(const char *field)
{
    char buf[200];
    const char *why = svm_vmrun_check(&vmcb, &env, buf, sizeof(buf));
    assert_non_null(why);
    assert_non_null(strstr(why, field));
}

static void vmrun_check_names_the_field(void **state)
{
    char buf[200];
    good_state();
    assert_null(svm_vmrun_check(&vmcb, &env, buf, sizeof(buf)));
    good_state(), vmcb.save.efer &= ~(u64)BIT(12), expect_field("SVME");
    good_state(), vmcb.save.cr0 |= BIT(29), expect_field("NW set with CD clear");
    good_state(), vmcb.save.cr0 |= 1ull << 32, expect_field("CR0");
    good_state(), vmcb.save.cr3 |= 1ull << 50, expect_field("CR3");
    good_state(), vmcb.save.cr4 |= BIT(22), expect_field("CR4 0x4006b0: reserved bits 0x400000");
    good_state(), vmcb.save.dr6 |= 1ull << 40, expect_field("DR6");
    good_state(), vmcb.save.dr7 |= 1ull << 40, expect_field("DR7");
    good_state(), vmcb.save.efer |= BIT(1), expect_field("EFER 0x1d02: reserved bits 0x2");
    good_state(), vmcb.save.cr4 &= ~(u64)BIT(5), expect_field("CR4.PAE clear");
    good_state(), vmcb.save.cr0 &= ~(u64)1, expect_field("CR0.PE clear");
    good_state(), vmcb.save.cs.attrib |= BIT(10), expect_field("L and D");
    good_state(), vmcb.control.intercept_misc2 = 0, expect_field("VMRUN intercept");
    good_state(), vmcb.control.guest_asid = 0, expect_field("ASID");
    good_state(), vmcb.control.event_inj = BIT(31) | (3 << 8) | 0xec, expect_field("EVENTINJ 0x800003ec");
    good_state(), vmcb.control.event_inj = BIT(31) | (3 << 8) | 2, expect_field("vector 2");
    good_state(), vmcb.control.event_inj = BIT(31) | (1 << 8), expect_field("reserved type 1");
    good_state(), vmcb.control.event_inj = BIT(31) | (0 << 8) | 0xec;
    assert_null(svm_vmrun_check(&vmcb, &env, buf, sizeof(buf)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(policy_comes_from_the_cpus_leaves), cmocka_unit_test(cr4_bits_follow_the_features),
        cmocka_unit_test(xcr0_is_checked_against_leaf_0d),   cmocka_unit_test(erratum_383_model_check),
        cmocka_unit_test(vmrun_check_names_the_field),
    };
    return cmocka_run_group_tests_name("cpu_model", tests, NULL, NULL);
}
