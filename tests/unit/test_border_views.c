/* UNIT-SOURCES: hv/guard/border_views.c hv/guard/guard.c tests/unit/guard_mem_host.c hv/guard/privilege.c hv/core/npt.c hv/lib/fmt.c */
/*
 * The border in the nested page tables (hv/guard/border_views.c): which view a vCPU runs on as the
 * state machine moves it across the border, what each view lets it execute, loose vCPUs, the
 * device's copy of the in view, rebuilds when the ordinary map changes, and the wrappers-only
 * fallback where the nested format cannot forbid execution.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guard/border_views.h"
#include "guard/guard.h"
#include "lib/page_alloc.h"
#include "core/vcpu.h"
#include "core/vm.h"

/* ---------------------------------------------------------------- fakes */
struct page_pool hv_pages;
static void *pages[8192];
static int npages, freed;

hpa_t page_alloc(struct page_pool *p, u64 n, u64 align)
{
    void *q = aligned_alloc(4096, 4096 * n);
    memset(q, 0, 4096 * n);
    pages[npages++] = q;
    return (hpa_t)(uintptr_t)q;
}
bool page_free(struct page_pool *p, hpa_t pa, u64 n)
{
    freed++;
    return true;
} /* freed in teardown */
static hpa_t table_page(void) { return page_alloc(&hv_pages, 1, 1); }

#include "log_capture.h"

static hpa_t root_now;
static u32 view_now, flushes;
static void f_set_root(struct vcpu *v, hpa_t root, u32 view)
{
    root_now = root;
    view_now = view;
}
static void f_flush(struct vcpu *v) { flushes++; }
static u32 view_tags; /* the fake backend's tagged views (SVM: its ASIDs but the host's); 0 = no limit */
static u32 f_view_tags(void) { return view_tags; }
static const struct vcpu_ops fake_ops = {
    .name = "fake", .set_nested_root = f_set_root, .flush_nested_tlb = f_flush, .nested_view_tags = f_view_tags
};
const struct vcpu_ops *vcpu_ops = &fake_ops;

/* ---------------------------------------------------------------- fixture */
#define BASE       0xffffffffc0a00000ull /* the module's text, two pages */
#define KERNEL_RIP 0xffffffff81234567ull
#define TEXT0      0x1234000ull /* its guest-physical pages */
#define TEXT1      0x5000000ull
#define KERNEL_GPA 0x1235000ull /* the next page: kernel memory */
#define BAR        0xfeb80000ull
#define RSP        0xffffc90000123f00ull

static const struct guard_site_desc sites[] = {
    { 0x100, GMETA_SITE_INIT },
    { 0x200, GMETA_SITE_DEINIT },
    { 0x300, GMETA_SITE_BORDER_IN_CALL },
    { 0x310, GMETA_SITE_BORDER_OUT_RET },
};
static u8 hash[GUARD_HASH_LEN];
static struct vm vm;
static struct privilege_registry privs;
static struct guard guard;
static struct vcpu vcpu;
static struct border_text_page text[2] = { { TEXT0, 0 }, { TEXT1, 0 } };
static u32 ntext;
#define PRIVATE_GPA 0x1240000ull /* a private page of the module (unmapped in the ordinary view) */
static struct border_text_page priv[1] = { { PRIVATE_GPA, 0 } };
static u32 npriv;

/* Guest RAM: the first 512 MiB, identity-mapped. */
static const struct gmem_range guest_ram = { 0, MiB(512) };

static int setup(void **state)
{
    memset(&vm, 0, sizeof(vm));
    memset(&vcpu, 0, sizeof(vcpu));
    root_now = 0, view_now = 0, flushes = 0, freed = 0, ntext = 0, npriv = 0, view_tags = 0;
    npt_x86_nx = true;
    vm.mem = (struct guest_mem){ .ranges = &guest_ram, .count = 1, .ram_bytes = MiB(512) };
    assert_true(npt_init(&vm.npt, &npt_format_x86, table_page));
    assert_true(npt_map(&vm.npt, 0, 0, MiB(512), NPT_RWX)); /* identity, as build_nested_map */
    assert_true(npt_map(&vm.npt, 0xfe000000, 0xfe000000, MiB(16), NPT_READ | NPT_WRITE | NPT_UNCACHED));
    /* the device's view: the BAR reachable there only (a zero page in the ordinary one) */
    assert_true(npt_fork(&vm.npt_priv, &vm.npt, BAR, 0x20000));
    assert_true(npt_map(&vm.npt, BAR, 0x7000000, 0x20000, NPT_READ));
    privilege_registry_init(&privs);
    static const struct guard_config cfg = { .check_callee_saved = true };
    guard_destroy(&guard); /* the previous test's modules */
    guard_init(&guard, &privs, &cfg);
    memset(hash, 0x11, sizeof(hash));
    struct guard_module_desc d = { "gm", hash, 0x2000, sites, 4 };
    assert_int_equal(guard_module_add(&guard, &d), 0);
    vcpu.vm = &vm;
    vm.vcpu[0] = &vcpu;
    vm.vcpu_count = 1;
    return 0;
}

static int teardown(void **state)
{
    while (npages)
        free(pages[--npages]);
    npt_x86_nx = false;
    return 0;
}

static enum guard_verdict post(enum guard_event_kind k, u64 rip, u64 rsp)
{
    struct guard_event e;
    memset(&e, 0, sizeof(e));
    e.kind = k;
    e.rip = rip;
    e.rsp = rsp;
    if (k == GUARD_EV_INIT) {
        memcpy(e.u.init.claimed_hash, hash, sizeof(hash));
        memcpy(e.u.init.text_hash, hash, sizeof(hash));
    }
    return guard_event(&guard, &e, NULL);
}

/* Registration as border.c does it: protect the pages, then the init event; the exit ends. */
static void register_module(void)
{
    char why[200];
    assert_true(border_views_claim(0, true, why, sizeof(why))); /* gm may hold the device's privilege */
    ntext = 2;
    vm_npt_changed(&vm);
    assert_int_equal(post(GUARD_EV_INIT, BASE + 0x100, RSP), GUARD_OK);
    vcpu.regs[REG_RIP] = BASE + 0x103;
    border_view_changed(&vcpu, true);
    border_view_after_exit(&vcpu);
}

static bool can_exec(gpa_t gpa)
{
    struct npt n = vm.npt;
    n.root = root_now;
    return npt_executable(&n, gpa);
}

/* ---------------------------------------------------------------- tests */

static void inside_only_the_module_executes(void **state)
{
    assert_true(border_views_init(&vm, &guard, true, text, &ntext, priv, &npriv));
    register_module();
    assert_int_equal(border_view_number(0, false), VIEW_IN_FIRST);
    assert_int_equal(border_view_number(0, true), VIEW_IN_FIRST + 1);
    assert_int_equal(view_now, border_view_number(0, false));
    assert_true(can_exec(TEXT0) && can_exec(TEXT1));
    assert_false(can_exec(KERNEL_GPA));
    assert_false(can_exec(0));
    /* an interrupt: the border-out happens before delivery, the RIP is still the module's, and
     * that must not make the vCPU loose: the return into the module has to fault */
    assert_int_equal(post(GUARD_EV_INTERRUPT, BASE + 0x400, RSP), GUARD_OK);
    border_view_changed(&vcpu, false);
    vcpu.regs[REG_RIP] = BASE + 0x400;
    border_view_after_exit(&vcpu);
    assert_int_equal(view_now, VIEW_OUT);
    assert_false(can_exec(TEXT0) || can_exec(TEXT1));
    assert_true(can_exec(KERNEL_GPA));
    /* the return (a fetch fault, border.c): privileged again, in view */
    assert_int_equal(post(GUARD_EV_FETCH, BASE + 0x400, RSP), GUARD_OK);
    border_view_changed(&vcpu, true);
    border_view_after_exit(&vcpu);
    assert_int_equal(view_now, border_view_number(0, false));
    assert_int_equal(border_view_stats()->loose, 0);
}

static void a_refused_entry_runs_loose_until_it_leaves(void **state)
{
    assert_true(border_views_init(&vm, &guard, true, text, &ntext, priv, &npriv));
    register_module();
    assert_int_equal(post(GUARD_EV_OUT_RET, BASE + 0x310, RSP), GUARD_OK);
    vcpu.regs[REG_RIP] = KERNEL_RIP;
    border_view_changed(&vcpu, true);
    border_view_after_exit(&vcpu);
    assert_int_equal(view_now, VIEW_OUT);
    /* a jump into the middle: refused, and it runs on unprivileged where module text executes */
    assert_int_equal(post(GUARD_EV_FETCH, BASE + 0x1000, RSP), GUARD_SUSPICIOUS);
    vcpu.regs[REG_RIP] = BASE + 0x1000;
    border_view_changed(&vcpu, true);
    border_view_after_exit(&vcpu);
    assert_int_equal(root_now, vm.npt.root);
    assert_int_equal(view_now, VIEW_NORMAL);
    assert_int_equal(border_view_stats()->loose, 1);
    /* an exit still in the module keeps it loose; the first one outside ends it */
    vcpu.regs[REG_RIP] = BASE + 0x1010;
    border_view_after_exit(&vcpu);
    assert_int_equal(view_now, VIEW_NORMAL);
    vcpu.regs[REG_RIP] = KERNEL_RIP;
    border_view_after_exit(&vcpu);
    assert_int_equal(view_now, VIEW_OUT);
}

static void the_device_view_is_a_copy_of_the_in_view(void **state)
{
    assert_true(border_views_init(&vm, &guard, true, text, &ntext, priv, &npriv));
    register_module();
    hpa_t plain = root_now;
    border_view_set_device(&vcpu, true); /* the nic privilege's raise */
    border_view_after_exit(&vcpu);
    assert_int_equal(view_now, border_view_number(0, true));
    assert_true(root_now != plain);
    struct npt n = vm.npt_priv;
    n.root = root_now;
    hpa_t hpa;
    assert_true(npt_lookup(&n, BAR + 0x1000, &hpa, NULL, NULL));
    assert_int_equal(hpa, BAR + 0x1000); /* the device itself */
    assert_true(can_exec(TEXT0));
    assert_false(can_exec(KERNEL_GPA));
    border_view_set_device(&vcpu, false);
    border_view_after_exit(&vcpu);
    assert_int_equal(root_now, plain);
}

static void a_changed_map_rebuilds_the_views(void **state)
{
    assert_true(border_views_init(&vm, &guard, true, text, &ntext, priv, &npriv));
    register_module();
    u64 rebuilds = border_view_stats()->rebuilds;
    border_view_after_exit(&vcpu); /* nothing changed */
    assert_int_equal(border_view_stats()->rebuilds, rebuilds);
    int freed_before = freed;
    vm_npt_changed(&vm);
    border_view_after_exit(&vcpu);
    assert_int_equal(border_view_stats()->rebuilds, rebuilds + 1);
    assert_true(freed > freed_before); /* the old views' tables went back */
    assert_true(flushes > 0);
    assert_int_equal(view_now, border_view_number(0, false));
    assert_true(can_exec(TEXT0));
}

static void without_execute_permissions_the_wrappers_are_the_border(void **state)
{
    npt_x86_nx = false; /* a host without NX: nested entries cannot forbid execution */
    assert_false(border_views_init(&vm, &guard, true, text, &ntext, priv, &npriv));
    assert_false(border_views_enforced());
    register_module();
    assert_int_equal(root_now, vm.npt.root);
    border_view_set_device(&vcpu, true);
    border_view_after_exit(&vcpu);
    assert_int_equal(root_now, vm.npt_priv.root);
    assert_int_equal(view_now, VIEW_PRIVILEGED);
    /* and border = wrappers asks for the same, with NX available */
    npt_x86_nx = true;
    assert_false(border_views_init(&vm, &guard, false, text, &ntext, priv, &npriv));
}

/* Private memory: unmapped in the ordinary view (and so in the out view), read/write and not
 * executable in the module's in views, the device's copy included. */
static void private_memory_exists_only_inside(void **state)
{
    hpa_t hpa;
    u32 perms;
    assert_true(border_views_init(&vm, &guard, true, text, &ntext, priv, &npriv));
    register_module();
    assert_true(npt_unmap(&vm.npt, PRIVATE_GPA, PAGE_SIZE)); /* what private_mem_take does */
    npriv = 1;
    vm_npt_changed(&vm);
    border_view_after_exit(&vcpu);
    assert_int_equal(view_now, border_view_number(0, false));
    struct npt n = vm.npt;
    n.root = root_now;
    assert_true(npt_lookup(&n, PRIVATE_GPA, &hpa, &perms, NULL));
    assert_int_equal(hpa, PRIVATE_GPA /* identity */);
    assert_true(perms & NPT_WRITE);
    assert_false(can_exec(PRIVATE_GPA));
    assert_false(can_exec(PRIVATE_GPA + PAGE_SIZE)); /* its copied neighbours stay closed */
    assert_false(npt_lookup(&vm.npt, PRIVATE_GPA, NULL, NULL, NULL));
    border_view_set_device(&vcpu, true);
    border_view_after_exit(&vcpu);
    n.root = root_now;
    assert_int_equal(view_now, border_view_number(0, true));
    assert_true(npt_lookup(&n, PRIVATE_GPA, &hpa, NULL, NULL));
    border_view_set_device(&vcpu, false);
    /* outside: absent */
    assert_int_equal(post(GUARD_EV_OUT_RET, BASE + 0x310, RSP), GUARD_OK);
    vcpu.regs[REG_RIP] = KERNEL_RIP;
    border_view_changed(&vcpu, true);
    border_view_after_exit(&vcpu);
    assert_int_equal(view_now, VIEW_OUT);
    n.root = root_now;
    assert_false(npt_lookup(&n, PRIVATE_GPA, NULL, NULL, NULL));
}

/* Sixteen more modules registered at once: each runs on a view of its own, under a number of its
 * own, where only its text executes; the out view executes none of them. */
#define NMANY     16
#define MANY_BASE 0xffffffffc1000000ull
#define MANY_GPA  0x2000000ull
static void sixteen_modules_each_on_its_own_view(void **state)
{
    static struct border_text_page many[2 + NMANY];
    static u8 h[NMANY][GUARD_HASH_LEN];
    char why[200], name[16];
    u32 n = 2;
    assert_true(border_views_init(&vm, &guard, true, many, &n, priv, &npriv));
    many[0] = text[0], many[1] = text[1];
    register_module();
    for (int i = 0; i < NMANY; i++) {
        memset(h[i], 0x40 + i, GUARD_HASH_LEN);
        snprintf(name, sizeof(name), "m%d", i);
        struct guard_module_desc d = { name, h[i], 0x1000, sites, 4 };
        int m = guard_module_add(&guard, &d);
        assert_int_equal(m, 1 + i);
        assert_true(border_views_claim(m, false, why, sizeof(why)));
        many[n++] = (struct border_text_page){ MANY_GPA + (u64)i * PAGE_SIZE, m };
        struct guard_event e;
        memset(&e, 0, sizeof(e));
        e.kind = GUARD_EV_INIT;
        e.rip = MANY_BASE + (u64)i * 0x10000 + 0x100;
        e.rsp = RSP;
        memcpy(e.u.init.claimed_hash, h[i], GUARD_HASH_LEN);
        memcpy(e.u.init.text_hash, h[i], GUARD_HASH_LEN);
        /* the previous one returns first (border-out ret), then this one registers */
        struct guard_event out = e;
        out.kind = GUARD_EV_OUT_RET;
        out.rip = i ? MANY_BASE + (u64)(i - 1) * 0x10000 + 0x310 : BASE + 0x310;
        assert_int_equal(guard_event(&guard, &out, NULL), GUARD_OK);
        vm_npt_changed(&vm);
        assert_int_equal(guard_event(&guard, &e, NULL), GUARD_OK);
        vcpu.regs[REG_RIP] = e.rip + 3;
        border_view_changed(&vcpu, true);
        border_view_after_exit(&vcpu);
        assert_int_equal(view_now, border_view_number(m, false));
        assert_true(border_view_number(m, false) > border_view_number(m - 1, m - 1 == 0));
        assert_int_equal(border_view_number(m, true), 0); /* no device: no copy, no number */
        for (int j = 0; j <= i; j++)
            assert_int_equal(can_exec(MANY_GPA + (u64)j * PAGE_SIZE), j == i);
        assert_false(can_exec(TEXT0));
        assert_false(can_exec(KERNEL_GPA));
    }
    /* leaving the last: the out view, where no module's text executes */
    struct guard_event out;
    memset(&out, 0, sizeof(out));
    out.kind = GUARD_EV_OUT_RET;
    out.rip = MANY_BASE + (u64)(NMANY - 1) * 0x10000 + 0x310;
    out.rsp = RSP;
    assert_int_equal(guard_event(&guard, &out, NULL), GUARD_OK);
    vcpu.regs[REG_RIP] = KERNEL_RIP;
    border_view_changed(&vcpu, true);
    border_view_after_exit(&vcpu);
    assert_int_equal(view_now, VIEW_OUT);
    for (int j = 0; j < NMANY; j++)
        assert_false(can_exec(MANY_GPA + (u64)j * PAGE_SIZE));
    assert_true(can_exec(KERNEL_GPA));
}

/* The backend tags only so many views (SVM's ASIDs): a registration that would need one more is
 * refused, said why; one given back (deinit) is handed out again. */
static void a_registration_past_the_last_tag_is_refused(void **state)
{
    char why[200] = "";
    view_tags = VIEW_IN_FIRST + 5; /* five in views */
    assert_true(border_views_init(&vm, &guard, true, text, &ntext, priv, &npriv));
    assert_true(border_views_claim(0, true, why, sizeof(why))); /* two: in view and device copy */
    assert_true(border_views_claim(1, false, why, sizeof(why)));
    assert_true(border_views_claim(2, false, why, sizeof(why)));
    assert_false(border_views_claim(3, true, why, sizeof(why))); /* one left, two needed */
    assert_non_null(strstr(why, "no ASID left for its nested-paging views"));
    assert_true(border_views_claim(3, false, why, sizeof(why)));
    assert_false(border_views_claim(20, false, why, sizeof(why)));
    assert_non_null(strstr(why, "no ASID left"));
    border_views_release(1);
    assert_true(border_views_claim(20, false, why, sizeof(why)));
    assert_int_equal(border_view_number(20, false), VIEW_IN_FIRST + 2); /* module 1's, given back */
    for (int m = 0; m < 21; m++)
        assert_true(border_view_number(m, false) < view_tags && border_view_number(m, true) < view_tags);
    /* no limit (VT-x): numbers for every module */
    view_tags = 0;
    assert_true(border_views_init(&vm, &guard, true, text, &ntext, priv, &npriv));
    for (int m = 0; m < 100; m++)
        assert_true(border_views_claim(m, true, why, sizeof(why)));
    assert_int_equal(border_view_number(99, true), VIEW_IN_FIRST + 199);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(inside_only_the_module_executes, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refused_entry_runs_loose_until_it_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(the_device_view_is_a_copy_of_the_in_view, setup, teardown),
        cmocka_unit_test_setup_teardown(a_changed_map_rebuilds_the_views, setup, teardown),
        cmocka_unit_test_setup_teardown(without_execute_permissions_the_wrappers_are_the_border, setup, teardown),
        cmocka_unit_test_setup_teardown(private_memory_exists_only_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(sixteen_modules_each_on_its_own_view, setup, teardown),
        cmocka_unit_test_setup_teardown(a_registration_past_the_last_tag_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests_name("border_views", tests, NULL, NULL);
}
