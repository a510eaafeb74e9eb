/* UNIT-SOURCES: hv/core/guest_physmap.c hv/core/cpuid_policy.c */
/* Which guest-physical addresses are device windows, and what CPUID the guest sees. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/guest_physmap.h"
#include "core/cpuid_policy.h"

/* Roughly what OVMF reports on q35 with 1 GiB: RAM below 1 GiB, flash MMIO at the top. */
static const struct boot_mem_region q35[] = {
    { 0x0, 0xa0000, BOOT_MEM_FREE, 7 },
    { 0x100000, 0x3ff00000, BOOT_MEM_USED, 2 },
    { 0xb0000000, 0x10000000, BOOT_MEM_RESERVED, 0 }, /* ECAM reported as reserved */
    { 0xffc00000, 0x400000, BOOT_MEM_MMIO, 11 },
};

static void windows_skip_every_kind_of_memory(void **state)
{
    struct phys_range w[8];
    int n = physmap_device_windows(q35, 4, MiB(256), w, 8);

    /* guest RAM is 256 MiB; host RAM up to 1 GiB (the hypervisor lives there) is not a window */
    assert_int_equal(n, 2);
    assert_int_equal(w[0].base, GiB(1));
    assert_int_equal(w[0].size, 0xb0000000 - GiB(1));
    assert_int_equal(w[1].base, 0xc0000000);
    assert_int_equal(w[1].size, GiB(4) - 0xc0000000); /* firmware MMIO (flash) is a window */
}

static void hypervisor_pages_are_never_in_a_window(void **state)
{
    struct boot_mem_region mem[] = {
        { 0x0, GiB(2), BOOT_MEM_USED, 2 }, { 0x80000000 + 0x1000, 0x1000, BOOT_MEM_USED, 2 }, /* odd page above RAM */
    };
    struct phys_range w[8];
    int n = physmap_device_windows(mem, 2, MiB(256), w, 8);
    for (int i = 0; i < n; i++) {
        assert_true(w[i].base >= GiB(2));
        assert_false(w[i].base <= 0x80001000 && w[i].base + w[i].size > 0x80001000);
        assert_int_equal(w[i].base % 4096, 0);
        assert_int_equal(w[i].size % 4096, 0);
    }
    assert_int_equal(n, 2);
}

static void too_many_windows_is_an_error(void **state)
{
    struct boot_mem_region mem[20];
    struct phys_range w[4];
    for (int i = 0; i < 20; i++)
        mem[i] = (struct boot_mem_region){ GiB(1) + (u64)i * MiB(4), MiB(2), BOOT_MEM_USED, 2 };
    assert_int_equal(physmap_device_windows(mem, 20, 0x100000, w, 4), -1);
}

static void ecam_in_reserved_memory_may_be_passed_through(void **state)
{
    assert_true(physmap_device_range_ok(q35, 4, 0xb0000000, 0x10000000));
    /* anything touching RAM in use (the hypervisor's pool lives in USED memory) may not */
    assert_false(physmap_device_range_ok(q35, 4, 0x3ff00000, 0x200000));
    assert_false(physmap_device_range_ok(q35, 4, 0x0, 0x1000));
    /* malformed windows */
    assert_false(physmap_device_range_ok(q35, 4, 0xb0000000, 0));
    assert_false(physmap_device_range_ok(q35, 4, 0xb0000010, 0x1000));
    assert_false(physmap_device_range_ok(q35, 4, ~0xfffull, 0x2000));
}

static void cpuid_hides_svm_and_vmx(void **state)
{
    u32 a = 0, b = 0, c = 0xffffffff, d = 0;
    cpuid_policy_apply(1, 0, &a, &b, &c, &d);
    assert_false(c & (1u << 5));
    assert_true(c & (1u << 31));
    assert_true(c & (1u << 3)); /* MONITOR/MWAIT stay visible (the guarded idle loop) */
    c = 0xffffffff;
    cpuid_policy_apply(0x80000001, 0, &a, &b, &c, &d);
    assert_false(c & (1u << 2));
    assert_false(c & (1u << 29)); /* MONITORX/MWAITX */
    assert_true(c & (1u << 3));   /* other bits pass */
    a = b = c = d = 0xffffffff;
    cpuid_policy_apply(0x8000000a, 0, &a, &b, &c, &d);
    assert_int_equal(a | b | c | d, 0);
    a = b = c = d = 0xffffffff;
    cpuid_policy_apply(7, 0, &a, &b, &c, &d); /* Intel PT hidden, the rest of leaf 7 passes */
    assert_int_equal(b, 0xffffffff & ~(1u << 25));
    assert_int_equal(c, 0xffffffff);
    b = 0xffffffff;
    cpuid_policy_apply(7, 1, &a, &b, &c, &d);
    assert_int_equal(b, 0xffffffff);
}

static void cpuid_names_the_hypervisor(void **state)
{
    u32 a, b, c, d;
    char sig[13] = { 0 };
    cpuid_policy_apply(0x40000000, 0, &a, &b, &c, &d);
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    assert_string_equal(sig, "PosternHV");
    a = b = c = d = 7;
    cpuid_policy_apply(0x40000001, 0, &a, &b, &c, &d);
    assert_int_equal(a | b | c | d, 0);
}

/* KVM-compatible leaves only where the firmware left x2APIC on (docs/msr.md, "x2APIC") */
static void cpuid_kvm_leaves_only_for_x2apic_handover(void **state)
{
    u32 a, b, c, d;
    char sig[13] = { 0 };

    assert_false(cpuid_policy_wants_kvm_leaves(0xfee00900, false)); /* xAPIC, BSP */
    assert_false(cpuid_policy_wants_kvm_leaves(0xfee00100, false)); /* disabled */
    assert_true(cpuid_policy_wants_kvm_leaves(0xfee00d00, false));  /* x2APIC */
    assert_true(cpuid_policy_wants_kvm_leaves(0xfee00900, true));   /* locked */

    cpuid_policy_offer_kvm_leaves(false);
    a = b = c = d = 7; /* a host hypervisor's own leaves never show through */
    cpuid_policy_apply(0x40000100, 0, &a, &b, &c, &d);
    assert_int_equal(a | b | c | d, 0);
    cpuid_policy_offer_kvm_leaves(true);
    cpuid_policy_apply(0x40000100, 0, &a, &b, &c, &d);
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    assert_string_equal(sig, "KVMKVMKVM");
    assert_int_equal(a, 0x40000101);
    a = b = c = d = 7;
    cpuid_policy_apply(0x40000101, 0, &a, &b, &c, &d); /* no features, no hints */
    assert_int_equal(a | b | c | d, 0);
    cpuid_policy_apply(0x40000000, 0, &a, &b, &c, &d); /* Postern's own block is unchanged */
    assert_int_equal(a, 0x40000000);
    a = b = c = d = 7;
    cpuid_policy_apply(0x4000ff00, 0, &a, &b, &c, &d);
    assert_int_equal(a | b | c | d, 0);
    cpuid_policy_offer_kvm_leaves(false);
}

static void cpuid_os_bits_follow_the_guests_cr4(void **state)
{
    u32 ecx = 0;

    cpuid_policy_os_bits(1, 0, BIT(18), &ecx);
    assert_int_equal(ecx, BIT(27));
    ecx = 0xffffffffu;
    cpuid_policy_os_bits(1, 0, 0, &ecx);
    assert_int_equal(ecx, 0xffffffffu & ~(u32)BIT(27));
    ecx = 0;
    cpuid_policy_os_bits(7, 0, BIT(22), &ecx);
    assert_int_equal(ecx, BIT(4));
    ecx = BIT(4);
    cpuid_policy_os_bits(7, 0, BIT(18), &ecx);
    assert_int_equal(ecx, 0);
    /* other leaves and subleaves untouched */
    ecx = 0x12345678;
    cpuid_policy_os_bits(7, 1, 0, &ecx);
    cpuid_policy_os_bits(0x80000001u, 0, 0, &ecx);
    assert_int_equal(ecx, 0x12345678);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(windows_skip_every_kind_of_memory),
        cmocka_unit_test(hypervisor_pages_are_never_in_a_window),
        cmocka_unit_test(too_many_windows_is_an_error),
        cmocka_unit_test(ecam_in_reserved_memory_may_be_passed_through),
        cmocka_unit_test(cpuid_hides_svm_and_vmx),
        cmocka_unit_test(cpuid_names_the_hypervisor),
        cmocka_unit_test(cpuid_kvm_leaves_only_for_x2apic_handover),
        cmocka_unit_test(cpuid_os_bits_follow_the_guests_cr4),
    };
    return cmocka_run_group_tests_name("physmap_cpuid", tests, NULL, NULL);
}
