/* UNIT-SOURCES: arch/x86_64/vmx/ept.c arch/x86_64/vmx/vmx_qual.c hv/core/npt.c */
/*
 * VT-x's EPT entry format driven through the shared nested-paging builder (hv/core/npt.c), the EPT
 * pointer, and the decoding of exit qualifications and interruption information.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "host_pages.h"

#include "arch/x86_64/vmx/ept.h"
#include "arch/x86_64/vmx/vmx_qual.h"
#include "arch/x86_64/vmx/vmcs.h"


/* The raw entry at `level` for gpa (walks the tables the builder made). */
static u64 raw_entry(const struct npt *n, gpa_t gpa, int level)
{
    u64 *t = (u64 *)(uintptr_t)n->root;
    for (int l = 4; l > level; l--)
        t = (u64 *)(uintptr_t)(t[(gpa >> (12 + 9 * (l - 1))) & 511] & EPT_ADDR_MASK);
    return t[(gpa >> (12 + 9 * (level - 1))) & 511];
}

static void ram_gets_write_back_large_pages(void **state)
{
    struct npt n;
    hpa_t hpa;
    u32 perms;
    int level;
    u64 e;

    assert_true(npt_init(&n, &npt_format_ept, alloc_page));
    assert_true(npt_map(&n, 0, GiB(1), MiB(256), NPT_RWX));
    assert_int_equal(n.tables, 3);
    assert_true(npt_lookup(&n, 0x1234567, &hpa, &perms, &level));
    assert_int_equal(hpa, GiB(1) + 0x1234567);
    assert_int_equal(level, 2);
    assert_int_equal(perms, NPT_RWX);
    e = raw_entry(&n, 0x1234567, 2);
    assert_int_equal(e & 7, EPT_READ | EPT_WRITE | EPT_EXEC);
    assert_true(e & EPT_LARGE);
    assert_int_equal((e >> EPT_MEMTYPE_SHIFT) & 7, EPT_MEMTYPE_WB);
    assert_false(e & EPT_IGNORE_PAT);
    /* upper levels: RWX, no memory type, no large bit */
    e = raw_entry(&n, 0, 4);
    assert_int_equal(e & 0xff, EPT_READ | EPT_WRITE | EPT_EXEC);
    assert_false(npt_lookup(&n, MiB(256), NULL, NULL, NULL));
}

static void device_windows_are_uncached_and_ignore_pat(void **state)
{
    struct npt n;
    u32 perms;
    u64 e;

    assert_true(npt_init(&n, &npt_format_ept, alloc_page));
    assert_true(npt_map(&n, 0xfeb00000, 0xfeb00000, 0x4000, NPT_READ | NPT_WRITE | NPT_UNCACHED));
    e = raw_entry(&n, 0xfeb01000, 1);
    assert_int_equal(e & 7, EPT_READ | EPT_WRITE);
    assert_int_equal((e >> EPT_MEMTYPE_SHIFT) & 7, EPT_MEMTYPE_UC);
    assert_true(e & EPT_IGNORE_PAT);
    assert_false(e & EPT_LARGE); /* bit 7 is ignored at level 1, and never set */
    assert_true(npt_lookup(&n, 0xfeb01000, NULL, &perms, NULL));
    assert_int_equal(perms, NPT_READ | NPT_WRITE | NPT_UNCACHED);
}

/* Module text protection: a 4 KiB piece of a 2 MiB page becomes read+execute only. */
static void write_protecting_splits_the_large_page(void **state)
{
    struct npt n;
    u32 perms;
    int level;
    u64 e;

    assert_true(npt_init(&n, &npt_format_ept, alloc_page));
    assert_true(npt_map(&n, 0, 0x40000000, MiB(4), NPT_RWX));
    assert_true(npt_map(&n, 0x201000, 0x40201000, 0x1000, NPT_READ | NPT_EXEC));
    assert_true(npt_lookup(&n, 0x201000, NULL, &perms, &level));
    assert_int_equal(level, 1);
    assert_int_equal(perms, NPT_READ | NPT_EXEC);
    e = raw_entry(&n, 0x201000, 1);
    assert_int_equal(e & 7, EPT_READ | EPT_EXEC);
    assert_int_equal(e & EPT_ADDR_MASK, 0x40201000);
    /* the neighbours kept the large page's permissions, memory type and addresses */
    assert_true(npt_lookup(&n, 0x202000, NULL, &perms, &level));
    assert_int_equal(perms, NPT_RWX);
    assert_int_equal(raw_entry(&n, 0x3ff000, 1) & EPT_ADDR_MASK, 0x403ff000);
    assert_int_equal((raw_entry(&n, 0x3ff000, 1) >> EPT_MEMTYPE_SHIFT) & 7, EPT_MEMTYPE_WB);
    /* unmapped: all of R/W/X clear is "not present" to the CPU */
    assert_true(npt_unmap(&n, 0x203000, 0x1000));
    assert_int_equal(raw_entry(&n, 0x203000, 1) & 7, 0);
    assert_false(npt_lookup(&n, 0x203000, NULL, NULL, NULL));
}

static void without_2mb_pages_every_leaf_is_4k(void **state)
{
    struct npt n;
    int level;

    assert_true(npt_init(&n, &npt_format_ept_4k, alloc_page));
    assert_true(npt_map(&n, 0, 0x40000000, MiB(4), NPT_RWX));
    assert_true(npt_lookup(&n, 0x300000, NULL, NULL, &level));
    assert_int_equal(level, 1);
    assert_int_equal(n.tables, 1 + 1 + 1 + 2);
}

static void ept_pointer_layout(void **state)
{
    /* WB (6) in bits 2:0, walk length 4 - 1 in bits 5:3, no A/D (bit 6) */
    assert_int_equal(ept_pointer(0x12345000), 0x12345000 | 0x1e);
    assert_int_equal(ept_pointer(0x12345fff) & ~0xfffull, 0x12345000);
}

/* ---- exit information ---- */

static void ept_violation_qualification(void **state)
{
    /* a write to a read+execute page, linear address valid (module text) */
    struct ept_violation v = vmx_decode_ept_violation(BIT(1) | BIT(3) | BIT(5) | BIT(7) | BIT(8));
    assert_true(v.write);
    assert_false(v.read || v.fetch);
    assert_true(v.readable && v.executable);
    assert_false(v.writable);
    assert_true(v.linear_valid);
    assert_false(v.nmi_unblocked_by_iret);
    v = vmx_decode_ept_violation(BIT(2) | BIT(12));
    assert_true(v.fetch && v.nmi_unblocked_by_iret);
    assert_false(v.readable || v.writable || v.executable || v.linear_valid);
}

static void cr_access_qualification(void **state)
{
    /* mov %rbx, %cr4 */
    struct cr_access c = vmx_decode_cr_access(4 | (0 << 4) | (3 << 8));
    assert_int_equal(c.cr, 4);
    assert_int_equal(c.type, CR_MOV_TO);
    assert_int_equal(c.gpr, 3);
    /* mov %cr0, %r12 */
    c = vmx_decode_cr_access(0 | (1 << 4) | (12 << 8));
    assert_int_equal(c.cr, 0);
    assert_int_equal(c.type, CR_MOV_FROM);
    assert_int_equal(c.gpr, 12);
    /* lmsw from memory, source data 0x0031 */
    c = vmx_decode_cr_access(0 | (3 << 4) | BIT(6) | (0x31ull << 16));
    assert_int_equal(c.type, CR_LMSW);
    assert_true(c.lmsw_memory);
    assert_int_equal(c.lmsw_source, 0x31);
    c = vmx_decode_cr_access(2 << 4);
    assert_int_equal(c.type, CR_CLTS);
}

static void io_qualification(void **state)
{
    struct io_access io;

    /* outb %al, $0x92 */
    assert_true(vmx_decode_io(0 | BIT(6) | (0x92ull << 16), &io));
    assert_int_equal(io.port, 0x92);
    assert_int_equal(io.size, 1);
    assert_false(io.in || io.string || io.rep);
    assert_true(io.immediate);
    /* inl %dx, %eax at 0xcfc */
    assert_true(vmx_decode_io(3 | BIT(3) | (0xcfcull << 16), &io));
    assert_int_equal(io.size, 4);
    assert_true(io.in);
    assert_int_equal(io.port, 0xcfc);
    /* rep outsw */
    assert_true(vmx_decode_io(1 | BIT(4) | BIT(5) | (0x3f8ull << 16), &io));
    assert_int_equal(io.size, 2);
    assert_true(io.string && io.rep);
    /* size 3 (encoding 2) is undefined */
    assert_false(vmx_decode_io(2, &io));
}

static void interruption_information(void **state)
{
    /* #PF with an error code */
    struct intr_info i = vmx_decode_intr_info(0x80000b0e);
    assert_true(i.valid);
    assert_int_equal(i.vector, 14);
    assert_int_equal(i.type, INTR_TYPE_HW_EXCEPTION);
    assert_true(i.has_error);
    /* NMI, unblocked by an IRET */
    i = vmx_decode_intr_info(0x80001202);
    assert_int_equal(i.type, INTR_TYPE_NMI);
    assert_true(i.nmi_unblocked_by_iret);
    assert_false(i.has_error);
    assert_false(vmx_decode_intr_info(0x0000020e).valid);
    /* the injection word is the same layout */
    assert_int_equal(vmx_intr_info(13, INTR_TYPE_HW_EXCEPTION, true), 0x80000b0d);
    assert_int_equal(vmx_intr_info(0x30, INTR_TYPE_EXTERNAL, false), 0x80000030);
    assert_int_equal(vmx_intr_info(2, INTR_TYPE_NMI, false), 0x80000202);
}

static void names(void **state)
{
    assert_string_equal(vmx_insn_error_name(7), "VM entry with invalid control field(s)");
    assert_string_equal(vmx_insn_error_name(8), "VM entry with invalid host-state field(s)");
    assert_string_equal(vmx_insn_error_name(14), "unknown VM-instruction error");
    assert_string_equal(vmx_insn_error_name(1000), "unknown VM-instruction error");
    assert_string_equal(vmx_exit_reason_name(VMX_EXIT_EPT_VIOLATION), "ept-violation");
    assert_string_equal(vmx_exit_reason_name(VMX_EXIT_CPUID), "cpuid");
    assert_null(vmx_exit_reason_name(35));
    assert_null(vmx_exit_reason_name(0xffff));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(ram_gets_write_back_large_pages, teardown),
        cmocka_unit_test_teardown(device_windows_are_uncached_and_ignore_pat, teardown),
        cmocka_unit_test_teardown(write_protecting_splits_the_large_page, teardown),
        cmocka_unit_test_teardown(without_2mb_pages_every_leaf_is_4k, teardown),
        cmocka_unit_test(ept_pointer_layout),
        cmocka_unit_test(ept_violation_qualification),
        cmocka_unit_test(cr_access_qualification),
        cmocka_unit_test(io_qualification),
        cmocka_unit_test(interruption_information),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
