/* UNIT-SOURCES: hv/guard/idle.c hv/core/vm.c hv/core/npt.c hv/guard/privilege.c hv/guard/guard.c tests/unit/guard_mem_host.c hv/lib/fmt.c */
/*
 * The `idle` privilege component (hv/guard/idle.c, docs/idle.md): a raise lifts the HLT/MONITOR/MWAIT
 * intercepts of that vCPU only when it has its physical CPU to itself (vm_vcpu_owns_core), and is
 * refused with a log line otherwise; every lower restores them. Then through the border-control
 * state machine: the intercepts are off exactly while the vCPU is inside the module bound to
 * `idle`, and back on after every kind of border-out, a refused crossing, revocation and deinit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "guard/guard.h"
#include "guard/idle.h"
#include "core/vcpu.h"
#include "core/vm.h"

/* ---------------------------------------------------------------- fakes */
#include "log_capture.h" /* logbuf: every LOG line since setup */

/* What the backend would have in its control block: intercepted (true) or native, per vCPU. */
static bool intercepted[PRIV_MAX_VCPUS];
static unsigned calls;
static void f_set_idle(struct vcpu *v, bool on)
{
    intercepted[v->id] = on;
    calls++;
}
static const struct vcpu_ops fake_ops = { .name = "fake", .set_idle_intercepts = f_set_idle };
const struct vcpu_ops *vcpu_ops = &fake_ops;

struct vm vm0;
static struct vcpu vc[PRIV_MAX_VCPUS];
static struct privilege_registry R;
static int H;

/* n vCPUs, vCPU i pinned to physical CPU pcpu[i] (-1: not pinned). */
static void machine(u32 n, const int *pcpu)
{
    memset(&vm0, 0, sizeof(vm0));
    memset(vc, 0, sizeof(vc));
    for (u32 i = 0; i < n; i++) {
        vc[i].id = i;
        vc[i].vm = &vm0;
        vc[i].pinned = pcpu[i] >= 0;
        vc[i].pcpu = pcpu[i] >= 0 ? (u32)pcpu[i] : 0;
        vm0.vcpu[i] = &vc[i];
        intercepted[i] = true; /* the backend's default */
    }
    vm0.vcpu_count = n;
    calls = 0;
    logbuf[0] = 0;
    privilege_registry_init(&R);
    privilege_idle_reset();
    H = privilege_idle_register(&R, &vm0);
    assert_true(H >= 0);
    assert_int_equal(privilege_lookup(&R, "idle"), H);
}

/* ---------------------------------------------------------------- vm_vcpu_owns_core */

static void test_owns_core(void **state)
{
    static const int one[] = { 0 }, two_apart[] = { 0, 1 }, two_shared[] = { 2, 2 }, unpinned[] = { -1 },
                     other_unpinned[] = { 0, -1 };

    machine(1, one);
    assert_true(vm_vcpu_owns_core(&vm0, &vc[0]));
    assert_false(vm_vcpu_owns_core(&vm0, NULL));
    machine(2, two_apart);
    assert_true(vm_vcpu_owns_core(&vm0, &vc[0]));
    assert_true(vm_vcpu_owns_core(&vm0, &vc[1]));
    machine(2, two_shared);
    assert_false(vm_vcpu_owns_core(&vm0, &vc[0]));
    assert_false(vm_vcpu_owns_core(&vm0, &vc[1]));
    machine(1, unpinned);
    assert_false(vm_vcpu_owns_core(&vm0, &vc[0]));
    /* An unpinned vCPU may run on any core, so no pinned one has its core to itself. */
    machine(2, other_unpinned);
    assert_false(vm_vcpu_owns_core(&vm0, &vc[0]));
    /* A vCPU the VM does not list is nobody's to judge. */
    machine(1, one);
    struct vcpu stray = { .id = 3, .pinned = true, .pcpu = 7 };
    assert_false(vm_vcpu_owns_core(&vm0, &stray));
}

/* ---------------------------------------------------------------- the component */

static void test_raise_lifts_lower_restores(void **state)
{
    static const int two_apart[] = { 0, 1 };
    struct idle_stats st;

    machine(2, two_apart);
    assert_int_equal(privilege_activate(&R, H), PRIV_OK);
    assert_int_equal(privilege_raise(&R, H, 1), PRIV_OK);
    assert_false(intercepted[1]);
    assert_true(intercepted[0]);                          /* only that vCPU */
    assert_int_equal(privilege_raise(&R, H, 1), PRIV_OK); /* idempotent: no second call */
    assert_int_equal(calls, 1);
    assert_int_equal(privilege_lower(&R, H, 1), PRIV_OK);
    assert_true(intercepted[1]);
    assert_int_equal(privilege_lower(&R, H, 1), PRIV_OK);
    assert_int_equal(calls, 2);
    privilege_idle_stats(&st);
    assert_int_equal(st.lifts, 1);
    assert_int_equal(st.restores, 1);
    assert_int_equal(st.refused, 0);
    assert_int_equal(st.lifted_mask, 0);
    assert_string_equal(logbuf, "");
}

static void test_refused_without_own_core(void **state)
{
    static const int two_shared[] = { 2, 2 }, unpinned[] = { -1 };
    struct idle_stats st;

    machine(2, two_shared);
    assert_int_equal(privilege_activate(&R, H), PRIV_OK);
    assert_int_equal(privilege_raise(&R, H, 0), PRIV_OK); /* the module holds `idle`... */
    assert_true(privilege_is_raised(&R, H, 0));
    assert_true(intercepted[0]); /* ...but HLT still exits */
    assert_int_equal(calls, 0);
    assert_non_null(strstr(logbuf, "idle: vcpu0 does not have its physical CPU to itself (shared with another vCPU)"));
    assert_int_equal(privilege_lower(&R, H, 0), PRIV_OK);
    assert_int_equal(calls, 0); /* nothing to restore */
    assert_true(intercepted[0]);
    privilege_idle_stats(&st);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.lifts, 0);
    assert_int_equal(st.restores, 0);

    machine(1, unpinned);
    assert_int_equal(privilege_activate(&R, H), PRIV_OK);
    assert_int_equal(privilege_raise(&R, H, 0), PRIV_OK);
    assert_true(intercepted[0]);
    assert_non_null(strstr(logbuf, "(not pinned)"));
}

/* The refusal log is bounded: 16 lines, then every 1024th. */
static void test_refusal_log_bounded(void **state)
{
    static const int two_shared[] = { 0, 0 };
    unsigned lines = 0;

    machine(2, two_shared);
    assert_int_equal(privilege_activate(&R, H), PRIV_OK);
    for (int i = 0; i < 1100; i++) {
        privilege_raise(&R, H, 0);
        privilege_lower(&R, H, 0);
    }
    for (const char *p = logbuf; (p = strstr(p, "idle: vcpu0")); p++)
        lines++;
    assert_int_equal(lines, 17);
}

/* A vCPU id the VM does not have (the registry allows up to PRIV_MAX_VCPUS). */
static void test_raise_unknown_vcpu(void **state)
{
    static const int one[] = { 0 };
    machine(1, one);
    assert_int_equal(privilege_activate(&R, H), PRIV_OK);
    assert_int_equal(privilege_raise(&R, H, 3), PRIV_OK);
    assert_int_equal(calls, 0);
    assert_non_null(strstr(logbuf, "idle: vcpu3 does not have its physical CPU to itself (no such vCPU)"));
    assert_int_equal(privilege_lower(&R, H, 3), PRIV_OK);
    assert_int_equal(calls, 0);
}

/* Deactivation (the last module bound to `idle` deinitialised or revoked) lowers every vCPU. */
static void test_deactivate_restores_all(void **state)
{
    static const int two_apart[] = { 0, 1 };
    machine(2, two_apart);
    assert_int_equal(privilege_activate(&R, H), PRIV_OK);
    privilege_raise(&R, H, 0);
    privilege_raise(&R, H, 1);
    assert_false(intercepted[0]);
    assert_false(intercepted[1]);
    assert_int_equal(privilege_deactivate(&R, H), PRIV_OK);
    assert_true(intercepted[0]);
    assert_true(intercepted[1]);
}

/* ---------------------------------------------------------------- through border control */

#define BASE 0xffffffffc0a00000ull
#define TLEN 0x2000ull
#define RSP0 0xffffc90000123f00ull
#define RSP1 0xffffc90000123e00ull
enum { S_INIT = 0x100, S_DEINIT = 0x200, S_IN = 0x300, S_OUT = 0x310, S_XOUT = 0x400, S_XIN = 0x410 };
static const struct guard_site_desc gi_sites[] = {
    { S_INIT, GMETA_SITE_INIT },          { S_DEINIT, GMETA_SITE_DEINIT },        { S_IN, GMETA_SITE_BORDER_IN_CALL },
    { S_OUT, GMETA_SITE_BORDER_OUT_RET }, { S_XOUT, GMETA_SITE_BORDER_OUT_CALL }, { S_XIN, GMETA_SITE_BORDER_IN_RET },
};
static struct guard G;
static u8 gi_hash[GUARD_HASH_LEN];

static struct guard_event ev(enum guard_event_kind k, u64 rip, u64 rsp)
{
    struct guard_event e;
    memset(&e, 0, sizeof(e));
    e.kind = k;
    e.rip = rip;
    e.rsp = rsp;
    return e;
}

static struct guard_event ev_call(enum guard_event_kind k, u64 rip, u64 rsp)
{
    struct guard_event e = ev(k, rip, rsp);
    e.u.call.ret_slot = rsp + 8;
    e.u.call.ret_addr = BASE + 0x1234;
    for (int i = 0; i < GUARD_NCALLEE; i++)
        e.u.call.callee_saved[i] = 0x1000 + (u64)i;
    return e;
}

/* Post an event; the invariant after every one: HLT runs natively iff vCPU 0 is inside gi. */
static enum guard_verdict post(struct guard_event e)
{
    struct guard_result r;
    enum guard_verdict v = guard_event(&G, &e, &r);
    assert_int_equal(!intercepted[0], G.vcpu[0].module == 0);
    return v;
}

static void guarded_fixture(void)
{
    static const int one[] = { 0 };
    static const struct guard_config cfg = { .check_callee_saved = true };
    struct guard_module_desc d = { "gidle", gi_hash, TLEN, gi_sites, ARRAY_SIZE(gi_sites) };
    struct guard_event init = ev(GUARD_EV_INIT, BASE + S_INIT, RSP0);

    machine(1, one);
    memset(gi_hash, 0x5a, sizeof(gi_hash));
    guard_destroy(&G); /* the previous test's module */
    guard_init(&G, &R, &cfg);
    assert_int_equal(guard_module_add(&G, &d), 0);
    assert_int_equal(guard_bind_privilege(&G, 0, "idle"), GUARD_OK_RC);
    memcpy(init.u.init.claimed_hash, gi_hash, GUARD_HASH_LEN);
    memcpy(init.u.init.text_hash, gi_hash, GUARD_HASH_LEN);
    assert_int_equal(post(init), GUARD_OK); /* registration = the first border-in */
    assert_false(intercepted[0]);
    assert_int_equal(post(ev(GUARD_EV_OUT_RET, BASE + S_OUT, RSP0)), GUARD_OK);
    assert_true(intercepted[0]);
}

static void test_guarded_crossings(void **state)
{
    struct guard_event intr = ev(GUARD_EV_INTERRUPT, BASE + 0x1500, RSP0 - 0x100);

    guarded_fixture();
    /* entry wrapper: in, then out */
    assert_int_equal(post(ev(GUARD_EV_IN_CALL, BASE + S_IN, RSP0)), GUARD_OK);
    assert_false(intercepted[0]);
    /* the module calls the kernel: HLT in the kernel function exits */
    assert_int_equal(post(ev_call(GUARD_EV_OUT_CALL, BASE + S_XOUT, RSP1)), GUARD_OK);
    assert_true(intercepted[0]);
    assert_int_equal(post(ev_call(GUARD_EV_IN_RET, BASE + S_XIN, RSP1)), GUARD_OK);
    assert_false(intercepted[0]);
    /* an interrupt wakes the module's native HLT: border-out int before the handler runs */
    intr.u.intr.vector = 0xec;
    assert_int_equal(post(intr), GUARD_OK);
    assert_true(intercepted[0]);
    /* the handler's own IRET elsewhere changes nothing; the one back into the module raises */
    assert_int_equal(post(ev(GUARD_EV_IRET, 0xffffffff81000000ull, RSP0 - 0x300)), GUARD_IGNORED);
    assert_true(intercepted[0]);
    assert_int_equal(post(ev(GUARD_EV_IRET, BASE + 0x1500, RSP0 - 0x100)), GUARD_OK);
    assert_false(intercepted[0]);
    assert_int_equal(post(ev(GUARD_EV_OUT_RET, BASE + S_OUT, RSP0)), GUARD_OK);
    assert_true(intercepted[0]);
}

static void test_guarded_refusals(void **state)
{
    guarded_fixture();
    /* a crossing from a site of the wrong kind: refused, lowered */
    assert_int_equal(post(ev(GUARD_EV_IN_CALL, BASE + S_IN, RSP0)), GUARD_OK);
    assert_int_equal(post(ev(GUARD_EV_OUT_RET, BASE + S_XOUT, RSP0)), GUARD_SUSPICIOUS);
    assert_true(intercepted[0]);
    /* a border-in ret with no border-out call: refused, stays intercepted */
    assert_int_equal(post(ev_call(GUARD_EV_IN_RET, BASE + S_XIN, RSP1)), GUARD_SUSPICIOUS);
    assert_true(intercepted[0]);
    /* a write to the text while inside: revoked, lowered, never lifted again */
    assert_int_equal(post(ev(GUARD_EV_IN_CALL, BASE + S_IN, RSP0)), GUARD_OK);
    assert_false(intercepted[0]);
    struct guard_event w = ev(GUARD_EV_TEXT_WRITE, 0xffffffff81000000ull, RSP0);
    w.u.write.module = 0;
    w.u.write.addr = 0x1234000;
    post(w);
    assert_true(intercepted[0]);
    assert_int_equal(post(ev(GUARD_EV_IN_CALL, BASE + S_IN, RSP0)), GUARD_SUSPICIOUS);
    assert_true(intercepted[0]);
}

static void test_guarded_deinit(void **state)
{
    guarded_fixture();
    assert_int_equal(post(ev(GUARD_EV_IN_CALL, BASE + S_IN, RSP0)), GUARD_OK);
    assert_false(intercepted[0]);
    assert_int_equal(post(ev(GUARD_EV_DEINIT, BASE + S_DEINIT, RSP0)), GUARD_OK);
    assert_true(intercepted[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owns_core),
        cmocka_unit_test(test_raise_lifts_lower_restores),
        cmocka_unit_test(test_refused_without_own_core),
        cmocka_unit_test(test_refusal_log_bounded),
        cmocka_unit_test(test_raise_unknown_vcpu),
        cmocka_unit_test(test_deactivate_restores_all),
        cmocka_unit_test(test_guarded_crossings),
        cmocka_unit_test(test_guarded_refusals),
        cmocka_unit_test(test_guarded_deinit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
