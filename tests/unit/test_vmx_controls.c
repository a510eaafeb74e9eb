/* UNIT-SOURCES: arch/x86_64/vmx/vmx_caps.c arch/x86_64/vmx/vmx_bitmaps.c hv/lib/fmt.c */
/*
 * VT-x's pure parts: VMCS field encodings against the SDM's Appendix B numbers, and the controls
 * chosen from capability MSRs (allowed-0/allowed-1, TRUE_* MSRs, secondary controls, EPT/VPID
 * capabilities, CR0/CR4 fixed bits) for a Skylake-like CPU and for CPUs lacking one feature each;
 * the I/O and MSR bitmaps' layout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86_64/vmx/vmcs.h"
#include "arch/x86_64/vmx/vmx_caps.h"
#include "arch/x86_64/vmx/vmx_bitmaps.h"

/* ---- encodings (SDM Vol. 3D Appendix B) ---- */

static void field_encodings_match_the_sdm(void **state)
{
    assert_int_equal(VMCS_VPID, 0x0000);
    assert_int_equal(VMCS_GUEST_CS_SEL, 0x0802);
    assert_int_equal(vmcs_guest_sel(VMCS_SEG_TR), 0x080e);
    assert_int_equal(VMCS_HOST_TR_SEL, 0x0c0c);
    assert_int_equal(VMCS_IO_BITMAP_B, 0x2002);
    assert_int_equal(VMCS_MSR_BITMAP, 0x2004);
    assert_int_equal(VMCS_EPT_POINTER, 0x201a);
    assert_int_equal(VMCS_EPTP_LIST, 0x2024);
    assert_int_equal(VMCS_GUEST_PHYSICAL_ADDRESS, 0x2400);
    assert_int_equal(VMCS_LINK_POINTER, 0x2800);
    assert_int_equal(VMCS_GUEST_EFER, 0x2806);
    assert_int_equal(VMCS_HOST_EFER, 0x2c02);
    assert_int_equal(VMCS_PIN_CONTROLS, 0x4000);
    assert_int_equal(VMCS_EXCEPTION_BITMAP, 0x4004);
    assert_int_equal(VMCS_ENTRY_INTR_INFO, 0x4016);
    assert_int_equal(VMCS_PROC2_CONTROLS, 0x401e);
    assert_int_equal(VMCS_INSN_ERROR, 0x4400);
    assert_int_equal(VMCS_EXIT_REASON, 0x4402);
    assert_int_equal(VMCS_IDT_VECTORING_INFO, 0x4408);
    assert_int_equal(VMCS_EXIT_INSN_LEN, 0x440c);
    assert_int_equal(vmcs_guest_limit(VMCS_SEG_TR), 0x480e);
    assert_int_equal(VMCS_GUEST_IDTR_LIMIT, 0x4812);
    assert_int_equal(vmcs_guest_ar(VMCS_SEG_ES), 0x4814);
    assert_int_equal(vmcs_guest_ar(VMCS_SEG_TR), 0x4822);
    assert_int_equal(VMCS_GUEST_INTERRUPTIBILITY, 0x4824);
    assert_int_equal(VMCS_GUEST_SYSENTER_CS, 0x482a);
    assert_int_equal(VMCS_PREEMPTION_TIMER, 0x482e);
    assert_int_equal(VMCS_HOST_SYSENTER_CS, 0x4c00);
    assert_int_equal(VMCS_CR4_SHADOW, 0x6006);
    assert_int_equal(VMCS_EXIT_QUALIFICATION, 0x6400);
    assert_int_equal(VMCS_GUEST_LINEAR_ADDRESS, 0x640a);
    assert_int_equal(VMCS_GUEST_CR4, 0x6804);
    assert_int_equal(vmcs_guest_base(VMCS_SEG_GS), 0x6810);
    assert_int_equal(VMCS_GUEST_GDTR_BASE, 0x6816);
    assert_int_equal(VMCS_GUEST_RIP, 0x681e);
    assert_int_equal(VMCS_GUEST_RFLAGS, 0x6820);
    assert_int_equal(VMCS_HOST_TR_BASE, 0x6c0a);
    assert_int_equal(VMCS_HOST_RSP, 0x6c14);
    assert_int_equal(VMCS_HOST_RIP, 0x6c16);
}

static void encoding_parts_decode(void **state)
{
    assert_int_equal(vmcs_field_width(VMCS_GUEST_EFER), VMCS_W64);
    assert_int_equal(vmcs_field_width(VMCS_EXIT_REASON), VMCS_W32);
    assert_int_equal(vmcs_field_width(VMCS_GUEST_RIP), VMCS_WNAT);
    assert_int_equal(vmcs_field_width(VMCS_HOST_CS_SEL), VMCS_W16);
    assert_int_equal(vmcs_field_type(VMCS_EXIT_QUALIFICATION), VMCS_RO);
    assert_int_equal(vmcs_field_type(VMCS_HOST_RIP), VMCS_HOST);
    assert_int_equal(vmcs_field_type(VMCS_GUEST_CR0), VMCS_GUEST);
    assert_int_equal(vmcs_field_type(VMCS_PROC_CONTROLS), VMCS_CTL);
    assert_int_equal(vmcs_field_index(VMCS_GUEST_RIP), 15);
    /* a 64-bit field's high half is the odd encoding, never one of ours */
    assert_int_equal(VMCS_EPT_POINTER & 1, 0);
}

/* ---- capability MSRs ---- */

struct msr_value {
    u32 msr;
    u64 value;
};

/* A Skylake-server-like VT-x (the figures are of the shape such parts report; the tests change one
 * thing at a time). */
static struct msr_value msrs[] = {
    { MSR_FEATURE_CONTROL, 0x5 },
    { MSR_VMX_BASIC, 0x00da040000000004ull },
    { MSR_VMX_PINBASED_CTLS, 0x000000ff00000016ull },
    { MSR_VMX_PROCBASED_CTLS, 0xfff9fffe0401e172ull },
    { MSR_VMX_EXIT_CTLS, 0x01ffffff00036dffull },
    { MSR_VMX_ENTRY_CTLS, 0x0003ffff000011ffull },
    { MSR_VMX_CR0_FIXED0, 0x80000021ull },
    { MSR_VMX_CR0_FIXED1, 0xffffffffull },
    { MSR_VMX_CR4_FIXED0, 0x2000ull },
    { MSR_VMX_CR4_FIXED1, 0x3767ffull },
    { MSR_VMX_PROCBASED_CTLS2, 0x00553cfe00000000ull },
    { MSR_VMX_EPT_VPID_CAP, 0x00000f0106734141ull },
    { MSR_VMX_TRUE_PINBASED, 0x000000ff00000016ull },
    { MSR_VMX_TRUE_PROCBASED, 0xfff9fffe04006172ull },
    { MSR_VMX_TRUE_EXIT, 0x01ffffff00036dfbull },
    { MSR_VMX_TRUE_ENTRY, 0x0003ffff000011fbull },
    { MSR_VMX_VMFUNC, 0x1ull },
};
static struct msr_value saved[ARRAY_SIZE(msrs)];
static u32 reads[64];
static int nreads;

static int setup(void **state)
{
    memcpy(saved, msrs, sizeof(msrs));
    nreads = 0;
    return 0;
}

static int teardown(void **state)
{
    memcpy(msrs, saved, sizeof(msrs));
    return 0;
}

static u64 fake_rdmsr(u32 msr)
{
    reads[nreads++] = msr;
    for (size_t i = 0; i < ARRAY_SIZE(msrs); i++)
        if (msrs[i].msr == msr)
            return msrs[i].value;
    fail_msg("rdmsr of 0x%x, which this CPU does not have (#GP)", msr);
    return 0;
}

static void set_msr(u32 msr, u64 value)
{
    for (size_t i = 0; i < ARRAY_SIZE(msrs); i++)
        if (msrs[i].msr == msr)
            msrs[i].value = value;
}

static bool was_read(u32 msr)
{
    for (int i = 0; i < nreads; i++)
        if (reads[i] == msr)
            return true;
    return false;
}

static bool choose(struct vmx_controls *ctl, char *why)
{
    struct vmx_cap_msrs caps;
    vmx_read_caps(&caps, fake_rdmsr);
    why[0] = 0;
    return vmx_choose_controls(&caps, ctl, why, 200);
}

static void adjust_honours_allowed0_and_allowed1(void **state)
{
    /* bit 1 must be 1, bit 2 must be 0, bit 3 may be either */
    u64 cap = ((u64)(BIT(1) | BIT(3)) << 32) | BIT(1);
    assert_int_equal(vmx_ctl_adjust(cap, 0), BIT(1));
    assert_int_equal(vmx_ctl_adjust(cap, BIT(2) | BIT(3)), BIT(1) | BIT(3));
    assert_true(vmx_ctl_may_set(cap, BIT(3)));
    assert_false(vmx_ctl_may_set(cap, BIT(2)));
    assert_false(vmx_ctl_may_clear(cap, BIT(1)));
    assert_true(vmx_ctl_may_clear(cap, BIT(3)));
}

static void skylake_gets_everything_postern_wants(void **state)
{
    struct vmx_controls c;
    char why[200];

    assert_true(choose(&c, why));
    assert_true(was_read(MSR_VMX_TRUE_PROCBASED));
    assert_false(was_read(MSR_VMX_PROCBASED_CTLS));
    assert_int_equal(c.proc & (PROC_HLT_EXITING | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | PROC_USE_IO_BITMAPS |
                               PROC_USE_MSR_BITMAPS | PROC_SECONDARY_CONTROLS),
                     PROC_HLT_EXITING | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | PROC_USE_IO_BITMAPS |
                         PROC_USE_MSR_BITMAPS | PROC_SECONDARY_CONTROLS);
    /* TRUE controls let CR3 accesses run natively; EPT makes them harmless */
    assert_int_equal(c.proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING), 0);
    /* the default-1 bits stay set */
    assert_int_equal(c.proc & 0x04006172u, 0x04006172u);
    assert_true(c.proc2 & PROC2_ENABLE_EPT);
    assert_true(c.proc2 & PROC2_ENABLE_VPID);
    assert_true(c.proc2 & PROC2_UNRESTRICTED_GUEST);
    assert_true(c.proc2 & PROC2_ENABLE_RDTSCP);
    assert_true(c.proc2 & PROC2_ENABLE_INVPCID);
    assert_false(c.proc2 & PROC2_ENABLE_VMFUNC);
    assert_true(c.vpid && c.unrestricted && c.ept_2mb && c.vmfunc_eptp && c.mtf);
    assert_int_equal(c.exit & (EXIT_HOST_ADDR_SPACE_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_LOAD_PAT),
                     EXIT_HOST_ADDR_SPACE_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_LOAD_PAT);
    assert_false(c.exit & EXIT_ACK_INTR_ON_EXIT);
    assert_int_equal(c.entry & (ENTRY_IA32E_GUEST | ENTRY_LOAD_EFER | ENTRY_LOAD_PAT),
                     ENTRY_IA32E_GUEST | ENTRY_LOAD_EFER | ENTRY_LOAD_PAT);
    /* nothing the border switches at run time is on from the start */
    assert_int_equal(c.pin & (PIN_EXTINT_EXITING | PIN_NMI_EXITING), 0);
    assert_false(c.proc & (PROC_INTR_WINDOW_EXITING | PROC_MONITOR_TRAP_FLAG));
    /* unrestricted guest: CR0.PE/PG are the guest's, NE stays fixed */
    assert_int_equal(c.cr0_fixed0, CR0_NE);
    assert_int_equal(c.cr4_fixed0, CR4_VMXE);
}

static void without_true_msrs_the_default1_bits_stay(void **state)
{
    struct vmx_controls c;
    char why[200];

    set_msr(MSR_VMX_BASIC, 0x00da040000000004ull & ~VMX_BASIC_TRUE_CTLS);
    assert_true(choose(&c, why));
    assert_true(was_read(MSR_VMX_PROCBASED_CTLS));
    assert_false(was_read(MSR_VMX_TRUE_PROCBASED));
    assert_int_equal(c.proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING),
                     PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING);
}

static void no_ept_is_refused_by_name(void **state)
{
    struct vmx_controls c;
    char why[200];

    set_msr(MSR_VMX_PROCBASED_CTLS2, 0x00553cfe00000000ull & ~((u64)PROC2_ENABLE_EPT << 32));
    assert_false(choose(&c, why));
    assert_non_null(strstr(why, "enable EPT"));
}

static void no_secondary_controls_reads_no_secondary_msrs(void **state)
{
    struct vmx_controls c;
    char why[200];

    set_msr(MSR_VMX_TRUE_PROCBASED, 0xfff9fffe04006172ull & ~((u64)PROC_SECONDARY_CONTROLS << 32));
    assert_false(choose(&c, why));
    assert_false(was_read(MSR_VMX_PROCBASED_CTLS2));
    assert_false(was_read(MSR_VMX_EPT_VPID_CAP));
    assert_non_null(strstr(why, "activate secondary controls"));
}

static void no_unrestricted_guest_keeps_pe_pg_fixed(void **state)
{
    struct vmx_controls c;
    char why[200];

    set_msr(MSR_VMX_PROCBASED_CTLS2, 0x00553cfe00000000ull & ~((u64)PROC2_UNRESTRICTED_GUEST << 32));
    assert_true(choose(&c, why));
    assert_false(c.unrestricted);
    assert_false(c.proc2 & PROC2_UNRESTRICTED_GUEST);
    assert_int_equal(c.cr0_fixed0, 0x80000021ull);
}

static void no_invvpid_means_no_vpid(void **state)
{
    struct vmx_controls c;
    char why[200];

    set_msr(MSR_VMX_EPT_VPID_CAP, 0x00000f0106734141ull & ~VPID_CAP_INVVPID);
    assert_true(choose(&c, why));
    assert_false(c.vpid);
    assert_false(c.proc2 & PROC2_ENABLE_VPID);
}

static void ept_without_invept_or_2mb(void **state)
{
    struct vmx_controls c;
    char why[200];

    set_msr(MSR_VMX_EPT_VPID_CAP, 0x00000f0106734141ull & ~EPT_CAP_2MB);
    assert_true(choose(&c, why));
    assert_false(c.ept_2mb);
    set_msr(MSR_VMX_EPT_VPID_CAP, 0x00000f0106734141ull & ~EPT_CAP_INVEPT_ALL);
    assert_false(choose(&c, why));
    assert_non_null(strstr(why, "INVEPT"));
    set_msr(MSR_VMX_EPT_VPID_CAP, 0x00000f0106734141ull & ~EPT_CAP_WB);
    assert_false(choose(&c, why));
    assert_non_null(strstr(why, "write-back"));
}

static void forced_interrupt_acknowledge_is_refused(void **state)
{
    struct vmx_controls c;
    char why[200];

    set_msr(MSR_VMX_TRUE_EXIT, 0x01ffffff00036dfbull | EXIT_ACK_INTR_ON_EXIT);
    assert_false(choose(&c, why));
    assert_non_null(strstr(why, "acknowledge interrupt"));
    set_msr(MSR_VMX_TRUE_EXIT, 0x01ffffff00036dfbull & ~((u64)EXIT_ACK_INTR_ON_EXIT << 32));
    assert_false(choose(&c, why));
    assert_non_null(strstr(why, "acknowledge interrupt"));
}

static void border_controls_must_be_switchable(void **state)
{
    struct vmx_controls c;
    char why[200];

    /* interrupt-window exiting fixed to 1 (allowed-0 set) */
    set_msr(MSR_VMX_TRUE_PROCBASED, 0xfff9fffe04006172ull | PROC_INTR_WINDOW_EXITING);
    assert_false(choose(&c, why));
    assert_non_null(strstr(why, "interrupt-window exiting"));
    teardown(state);
    set_msr(MSR_VMX_TRUE_PINBASED, 0x000000f700000016ull); /* NMI exiting may not be 1 */
    assert_false(choose(&c, why));
    assert_non_null(strstr(why, "NMI exiting"));
}

static void monitor_trap_flag_is_optional(void **state)
{
    struct vmx_controls c;
    char why[200];

    set_msr(MSR_VMX_TRUE_PROCBASED, 0xfff9fffe04006172ull & ~((u64)PROC_MONITOR_TRAP_FLAG << 32));
    assert_true(choose(&c, why));
    assert_false(c.mtf);
    assert_false(c.proc & PROC_MONITOR_TRAP_FLAG);
    /* the preemption timer (pin-based bit 6, allowed in the Skylake figures) stands in */
    assert_true(c.preemption_timer);
    assert_false(c.pin & PIN_PREEMPTION_TIMER);
    set_msr(MSR_VMX_TRUE_PINBASED, 0x0000003f00000016ull);
    assert_true(choose(&c, why));
    assert_false(c.preemption_timer);
}

/* Virtual NMIs (NMI exiting, virtual NMIs, NMI-window exiting) are used where the CPU has all
 * three; without one of them NMIs go to the guest directly, as before (docs/events.md). */
static void virtual_nmis_are_optional(void **state)
{
    struct vmx_controls c;
    char why[200];

    assert_true(choose(&c, why));
    assert_true(c.virtual_nmis);
    assert_false(c.pin & PIN_VIRTUAL_NMIS); /* switched on by vmx_apply_watch, not chosen here */
    set_msr(MSR_VMX_TRUE_PROCBASED, 0xfff9fffe04006172ull & ~((u64)PROC_NMI_WINDOW_EXITING << 32));
    assert_true(choose(&c, why));
    assert_false(c.virtual_nmis);
    teardown(state);
    set_msr(MSR_VMX_TRUE_PINBASED, 0x0000007f00000016ull & ~((u64)PIN_VIRTUAL_NMIS << 32));
    assert_true(choose(&c, why));
    assert_false(c.virtual_nmis);
}

static void pat_switch_needs_both_edges(void **state)
{
    struct vmx_controls c;
    char why[200];

    set_msr(MSR_VMX_TRUE_ENTRY, 0x0003ffff000011fbull & ~((u64)ENTRY_LOAD_PAT << 32));
    if (!choose(&c, why))
        fail_msg("%s", why);
    assert_false(c.entry & ENTRY_LOAD_PAT);
    assert_false(c.exit & (EXIT_LOAD_PAT | EXIT_SAVE_PAT));
}

static void cr_fixed_bits(void **state)
{
    /* Linux's CR0 at entry without NE: NE forced on; a bit fixed to 0 cleared */
    assert_int_equal(vmx_cr_fixed(0x80000011ull, 0x20, 0xffffffffull), 0x80000031ull);
    assert_int_equal(vmx_cr_fixed(0x2000 | BIT(23), 0x2000, 0x3767ff), 0x2000);
    /* mask: fixed-1 bits and fixed-0 bits; upper half never */
    assert_int_equal(vmx_cr_mask(0x2000, 0x3767ff), (0x2000 | ~0x3767ffull) & 0xffffffffull);
    assert_int_equal(vmx_cr_mask(0x20, 0xffffffffull), 0x20);
}

/* ---- bitmaps (SDM Vol. 3C §25.6.9: read low, read high, write low, write high, 1 KiB each) ---- */

static void msr_bitmap_layout(void **state)
{
    static u8 map[VMX_MSR_BITMAP_SIZE];

    memset(map, 0, sizeof(map));
    /* EFER (C0000080h): read bit 0x80 of the high read map (byte 1024 + 16, bit 0), write 2 KiB up */
    assert_true(vmx_msr_bitmap_set(map, 0xc0000080u, true, true));
    assert_int_equal(map[1024 + 16], 1);
    assert_int_equal(map[3072 + 16], 1);
    /* IA32_FEATURE_CONTROL (3Ah): byte 7 bit 2 of the low maps */
    assert_true(vmx_msr_bitmap_set(map, 0x3a, true, false));
    assert_int_equal(map[7], BIT(2));
    assert_int_equal(map[2048 + 7], 0);
    /* the last of each range */
    assert_true(vmx_msr_bitmap_set(map, 0x1fff, false, true));
    assert_int_equal(map[2048 + 1023], BIT(7));
    assert_true(vmx_msr_bitmap_set(map, 0xc0001fffu, true, false));
    assert_int_equal(map[1024 + 1023], BIT(7));
    /* outside both ranges: always exits, nothing to set */
    assert_false(vmx_msr_bitmap_set(map, 0x2000, true, true));
    assert_false(vmx_msr_bitmap_set(map, 0xc0010114u, true, true));
    /* clearing one direction leaves the other */
    assert_true(vmx_msr_bitmap_set(map, 0xc0000080u, false, true));
    assert_int_equal(map[1024 + 16], 0);
    assert_int_equal(map[3072 + 16], 1);
    int set = 0;
    for (size_t i = 0; i < sizeof(map); i++)
        set += __builtin_popcount(map[i]);
    assert_int_equal(set, 4);
}

static void io_bitmap_layout(void **state)
{
    static u8 map[VMX_IO_BITMAP_SIZE];

    memset(map, 0, sizeof(map));
    vmx_io_bitmap_set(map, 0xcf9, true);
    assert_int_equal(map[0xcf9 / 8], BIT(1));
    vmx_io_bitmap_set(map, 0x8000, true); /* the first port of bitmap B */
    assert_int_equal(map[4096], BIT(0));
    vmx_io_bitmap_set(map, 0xffff, true);
    assert_int_equal(map[8191], BIT(7));
    vmx_io_bitmap_set(map, 0xcf9, false);
    assert_int_equal(map[0xcf9 / 8], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_encodings_match_the_sdm),
        cmocka_unit_test(encoding_parts_decode),
        cmocka_unit_test(adjust_honours_allowed0_and_allowed1),
        cmocka_unit_test_setup_teardown(skylake_gets_everything_postern_wants, setup, teardown),
        cmocka_unit_test_setup_teardown(without_true_msrs_the_default1_bits_stay, setup, teardown),
        cmocka_unit_test_setup_teardown(no_ept_is_refused_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(no_secondary_controls_reads_no_secondary_msrs, setup, teardown),
        cmocka_unit_test_setup_teardown(no_unrestricted_guest_keeps_pe_pg_fixed, setup, teardown),
        cmocka_unit_test_setup_teardown(no_invvpid_means_no_vpid, setup, teardown),
        cmocka_unit_test_setup_teardown(ept_without_invept_or_2mb, setup, teardown),
        cmocka_unit_test_setup_teardown(forced_interrupt_acknowledge_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(border_controls_must_be_switchable, setup, teardown),
        cmocka_unit_test_setup_teardown(virtual_nmis_are_optional, setup, teardown),
        cmocka_unit_test_setup_teardown(monitor_trap_flag_is_optional, setup, teardown),
        cmocka_unit_test_setup_teardown(pat_switch_needs_both_edges, setup, teardown),
        cmocka_unit_test(cr_fixed_bits),
        cmocka_unit_test(msr_bitmap_layout),
        cmocka_unit_test(io_bitmap_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
