/* UNIT-SOURCES: hv/guard/guard.c tests/unit/guard_mem_host.c hv/guard/privilege.c */
/*
 * The border-control state machine (hv/guard/guard.c), table-driven: every state x event pair, valid and
 * invalid; nesting; interrupts; threads that sleep in the kernel and come back on another vCPU;
 * registration checks; revocation and deinit; the O(1) site table; counters and the log ring.
 *
 * A fake privilege component records every raise/lower so the tests check that privilege is held
 * exactly between a validated border-in and the next border-out, and never after a refusal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "guard/guard.h"
#include "guard_mem_host.h"

/* ---------------------------------------------------------------- fixture */

#define BASE  0xffffffffc0a00000ull /* module "gm" text */
#define BASE2 0xffffffffc0b00000ull /* module "other" text */
#define TLEN  0x3000ull
#define TLEN2 0x1000ull
#define RSP0  0xffffc90000123f00ull
#define RSP1  0xffffc90000123e00ull /* border-out call */
#define RSP2  0xffffc90000123d00ull /* border-out int */
#define RET1  (BASE + 0x1234)       /* where the exit wrapper returns in the module */
#define IRIP  (BASE + 0x1500)       /* interrupted module RIP */

enum {
    S_INIT = 0x100,
    S_DEINIT = 0x200,
    S_IN = 0x300,
    S_OUT = 0x310,
    S_IN_B = 0x320,
    S_OUT_B = 0x330,
    S_XOUT = 0x400,
    S_XIN = 0x410,
    S_XOUT_B = 0x420,
    S_XIN_B = 0x430
};

static const struct guard_site_desc gm_sites[] = {
    { S_INIT, GMETA_SITE_INIT },
    { S_DEINIT, GMETA_SITE_DEINIT },
    { S_IN, GMETA_SITE_BORDER_IN_CALL },
    { S_OUT, GMETA_SITE_BORDER_OUT_RET },
    { S_IN_B, GMETA_SITE_BORDER_IN_CALL },
    { S_OUT_B, GMETA_SITE_BORDER_OUT_RET },
    { S_XOUT, GMETA_SITE_BORDER_OUT_CALL },
    { S_XIN, GMETA_SITE_BORDER_IN_RET },
    { S_XOUT_B, GMETA_SITE_BORDER_OUT_CALL },
    { S_XIN_B, GMETA_SITE_BORDER_IN_RET },
};
static const struct guard_site_desc other_sites[] = {
    { 0x10, GMETA_SITE_INIT },           { 0x20, GMETA_SITE_DEINIT },          { 0x30, GMETA_SITE_BORDER_IN_CALL },
    { 0x40, GMETA_SITE_BORDER_OUT_RET }, { 0x50, GMETA_SITE_BORDER_OUT_CALL }, { 0x60, GMETA_SITE_BORDER_IN_RET },
};
static u8 gm_hash[GUARD_HASH_LEN], other_hash[GUARD_HASH_LEN], bad_hash[GUARD_HASH_LEN];

static struct guard G;
static struct privilege_registry R;
static int GM, OTHER;

/* The fake selective-privilege component: a log of calls, and who holds it now. */
struct fake {
    u32 mask;
    int inits, deinits, fail_init;
    char ops[512];
    unsigned nops;
};
static struct fake F;
static int fake_init(void *s)
{
    struct fake *f = s;
    f->inits++;
    return f->fail_init ? -1 : 0;
}
static void fake_deinit(void *s)
{
    struct fake *f = s;
    f->deinits++;
}
static void fake_raise(u32 v, void *s)
{
    struct fake *f = s;
    assert_false(f->mask & (1u << v)); /* never raised twice */
    f->mask |= 1u << v;
    if (f->nops < sizeof(f->ops) - 1)
        f->ops[f->nops++] = (char)('R' + 0), f->ops[f->nops++] = (char)('0' + v);
}
static void fake_lower(u32 v, void *s)
{
    struct fake *f = s;
    assert_true(f->mask & (1u << v)); /* never lowered when not held */
    f->mask &= ~(1u << v);
    if (f->nops < sizeof(f->ops) - 1)
        f->ops[f->nops++] = 'L', f->ops[f->nops++] = (char)('0' + v);
}
static const struct privilege_ops fake_ops = { fake_init, fake_deinit, fake_raise, fake_lower };

static bool held(u32 v) { return (F.mask & (1u << v)) != 0; }

static void fixture(const struct guard_config *cfg)
{
    memset(&F, 0, sizeof(F));
    memset(gm_hash, 0x11, sizeof(gm_hash));
    memset(other_hash, 0x22, sizeof(other_hash));
    memset(bad_hash, 0x33, sizeof(bad_hash));
    privilege_registry_init(&R);
    privilege_test_reset();
    assert_int_equal(privilege_register(&R, "fake", &fake_ops, &F), 0);
    assert_int_equal(privilege_test_register(&R), 1);
    static const struct guard_config def = { .check_callee_saved = true, .check_stack_digest = false };
    guard_destroy(&G); /* the previous test's modules */
    guard_init(&G, &R, cfg ? cfg : &def);
    struct guard_module_desc d = { "gm", gm_hash, TLEN, gm_sites, ARRAY_SIZE(gm_sites) };
    GM = guard_module_add(&G, &d);
    assert_int_equal(GM, 0);
    struct guard_module_desc d2 = { "other", other_hash, TLEN2, other_sites, ARRAY_SIZE(other_sites) };
    OTHER = guard_module_add(&G, &d2);
    assert_int_equal(OTHER, 1);
    assert_int_equal(guard_bind_privilege(&G, GM, "fake"), GUARD_OK_RC);
    assert_int_equal(guard_bind_privilege(&G, GM, "test"), GUARD_OK_RC);
    assert_int_equal(guard_bind_privilege(&G, OTHER, "fake"), GUARD_OK_RC);
}

static int setup(void **state)
{
    fixture(NULL);
    return 0;
}

/* ---------------------------------------------------------------- event builders */

static struct guard_event hc(enum guard_event_kind k, u32 v, u64 rip, u64 rsp)
{
    struct guard_event e;
    memset(&e, 0, sizeof(e));
    e.kind = k;
    e.vcpu = v;
    e.rip = rip;
    e.rsp = rsp;
    return e;
}

static struct guard_event ev_init(u32 v, u64 site, const u8 *claimed, const u8 *text)
{
    struct guard_event e = hc(GUARD_EV_INIT, v, site, RSP0);
    memcpy(e.u.init.claimed_hash, claimed, GUARD_HASH_LEN);
    memcpy(e.u.init.text_hash, text, GUARD_HASH_LEN);
    return e;
}

/* Border-out call / border-in ret: return slot just above RSP, callee-saved registers from a seed. */
static struct guard_event ev_call(enum guard_event_kind k, u32 v, u64 rip, u64 rsp, u64 ret, u64 seed)
{
    struct guard_event e = hc(k, v, rip, rsp);
    e.u.call.ret_slot = rsp + 8;
    e.u.call.ret_addr = ret;
    for (int i = 0; i < GUARD_NCALLEE; i++)
        e.u.call.callee_saved[i] = seed + (u64)i;
    e.u.call.stack_digest = seed * 7;
    return e;
}

static struct guard_event ev_int(u32 v, u64 rip, u64 rsp, u8 vec)
{
    struct guard_event e = hc(GUARD_EV_INTERRUPT, v, rip, rsp);
    e.u.intr.vector = vec;
    return e;
}

static struct guard_event ev_write(int m, u64 addr)
{
    struct guard_event e = hc(GUARD_EV_TEXT_WRITE, 0, BASE + 0x2000, RSP0);
    e.u.write.module = m;
    e.u.write.addr = addr;
    return e;
}

static enum guard_verdict post(const struct guard_event *e, struct guard_result *r)
{
    enum guard_verdict v = guard_event(&G, e, r);
    /* The invariant after every event: the privilege component agrees with the state machine. */
    for (u32 c = 0; c < GUARD_MAX_VCPUS; c++) {
        bool in_gm = G.vcpu[c].module == GM, in_any = G.vcpu[c].module >= 0;
        assert_int_equal(held(c), in_any);
        assert_int_equal(privilege_test_is_raised(c), in_gm);
    }
    return v;
}

static void ok(const struct guard_event *e)
{
    struct guard_result r;
    u32 logs = guard_log_count(&G);
    assert_int_equal(post(e, &r), GUARD_OK);
    assert_int_equal(guard_log_count(&G), logs);
}

/* An invalid event: verdict, exactly one new log entry of the right kind, vCPU unprivileged. */
static void refused(const struct guard_event *e, enum guard_susp kind, const char *module)
{
    struct guard_result r;
    u64 seq = G.log_seq;
    assert_int_equal(post(e, &r), GUARD_SUSPICIOUS);
    assert_int_equal(r.susp, kind);
    assert_false(r.privileged);
    assert_false(held(e->vcpu));
    assert_int_equal(G.log_seq, seq + 1);
    const struct guard_log_entry *l = guard_log_get(&G, guard_log_count(&G) - 1);
    assert_non_null(l);
    assert_int_equal(l->seq, seq + 1);
    assert_int_equal(l->kind, kind);
    assert_int_equal(l->vcpu, e->vcpu);
    assert_int_equal(l->rip, e->rip);
    assert_int_equal(l->event, e->kind);
    assert_string_equal(l->module, module);
    assert_non_null(l->detail);
}

/* ---------------------------------------------------------------- the state x event table */

enum setup_state { X_UNREG, X_OUTSIDE, X_INSIDE, X_OUT_CALL, X_OUT_INT, X_DEAD, X_SETUPS };

static void reach(enum setup_state s)
{
    struct guard_event e;
    if (s == X_UNREG)
        return;
    e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    switch (s) {
    case X_OUTSIDE:
        e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
        ok(&e);
        break;
    case X_OUT_CALL:
        e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP1, RET1, 100);
        ok(&e);
        break;
    case X_OUT_INT:
        e = ev_int(0, IRIP, RSP2, 32);
        ok(&e);
        break;
    case X_DEAD:
        e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
        ok(&e);
        e = ev_write(GM, BASE + 0x10);
        refused(&e, GUARD_SUSP_TEXT_WRITE, "gm");
        break;
    default:
        break;
    }
}

static const enum guard_state reached[X_SETUPS] = {
    GUARD_ST_UNREGISTERED, GUARD_ST_OUTSIDE, GUARD_ST_INSIDE, GUARD_ST_OUT_CALL, GUARD_ST_OUT_INT, GUARD_ST_DEAD,
};

/* The event of each column, with parameters that match the state they are meant for (the
 * border-in ret matches the border-out call of X_OUT_CALL, the IRET the interrupt of X_OUT_INT). */
static struct guard_event column(enum guard_event_kind k)
{
    switch (k) {
    case GUARD_EV_INIT:
        return ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    case GUARD_EV_DEINIT:
        return hc(k, 0, BASE + S_DEINIT, RSP0);
    case GUARD_EV_IN_CALL:
        return hc(k, 0, BASE + S_IN, RSP0);
    case GUARD_EV_OUT_RET:
        return hc(k, 0, BASE + S_OUT, RSP0);
    case GUARD_EV_OUT_CALL:
        return ev_call(k, 0, BASE + S_XOUT, RSP1, RET1, 100);
    case GUARD_EV_IN_RET:
        return ev_call(k, 0, BASE + S_XIN, RSP1, RET1, 100);
    case GUARD_EV_INTERRUPT:
        return ev_int(0, IRIP, RSP2, 32);
    case GUARD_EV_IRET:
        return hc(k, 0, IRIP, RSP2);
    case GUARD_EV_TEXT_WRITE:
        return ev_write(GM, BASE + 0x10);
    case GUARD_EV_FETCH:
        return hc(k, 0, IRIP, RSP2);
    default:
        break;
    }
    return hc(k, 0, 0, 0);
}

struct row {
    enum setup_state from;
    enum guard_event_kind ev;
    enum guard_verdict verdict;
    enum guard_susp susp;
    enum guard_state to;
};

#define OK_(f, e, t)                                                                                                   \
    {                                                                                                                  \
        f, e, GUARD_OK, GUARD_SUSP_NONE, t                                                                             \
    }
#define IGN(f, e, t)                                                                                                   \
    {                                                                                                                  \
        f, e, GUARD_IGNORED, GUARD_SUSP_NONE, t                                                                        \
    }
#define BAD(f, e, s, t)                                                                                                \
    {                                                                                                                  \
        f, e, GUARD_SUSPICIOUS, s, t                                                                                   \
    }

static const struct row table[] = {
    /* UNREGISTERED: only registration does anything; its text is unknown, so its sites are too. */
    OK_(X_UNREG, GUARD_EV_INIT, GUARD_ST_INSIDE),
    BAD(X_UNREG, GUARD_EV_DEINIT, GUARD_SUSP_UNKNOWN_SITE, GUARD_ST_UNREGISTERED),
    BAD(X_UNREG, GUARD_EV_IN_CALL, GUARD_SUSP_UNKNOWN_SITE, GUARD_ST_UNREGISTERED),
    BAD(X_UNREG, GUARD_EV_OUT_RET, GUARD_SUSP_UNKNOWN_SITE, GUARD_ST_UNREGISTERED),
    BAD(X_UNREG, GUARD_EV_OUT_CALL, GUARD_SUSP_UNKNOWN_SITE, GUARD_ST_UNREGISTERED),
    BAD(X_UNREG, GUARD_EV_IN_RET, GUARD_SUSP_UNKNOWN_SITE, GUARD_ST_UNREGISTERED),
    IGN(X_UNREG, GUARD_EV_INTERRUPT, GUARD_ST_UNREGISTERED),
    IGN(X_UNREG, GUARD_EV_IRET, GUARD_ST_UNREGISTERED),
    IGN(X_UNREG, GUARD_EV_TEXT_WRITE, GUARD_ST_UNREGISTERED),
    IGN(X_UNREG, GUARD_EV_FETCH, GUARD_ST_UNREGISTERED), /* unregistered text is not guarded */
    /* OUTSIDE */
    BAD(X_OUTSIDE, GUARD_EV_INIT, GUARD_SUSP_BAD_REGISTRATION, GUARD_ST_OUTSIDE),
    OK_(X_OUTSIDE, GUARD_EV_DEINIT, GUARD_ST_UNREGISTERED),
    OK_(X_OUTSIDE, GUARD_EV_IN_CALL, GUARD_ST_INSIDE),
    BAD(X_OUTSIDE, GUARD_EV_OUT_RET, GUARD_SUSP_UNMATCHED, GUARD_ST_OUTSIDE),
    BAD(X_OUTSIDE, GUARD_EV_OUT_CALL, GUARD_SUSP_UNMATCHED, GUARD_ST_OUTSIDE),
    BAD(X_OUTSIDE, GUARD_EV_IN_RET, GUARD_SUSP_UNMATCHED, GUARD_ST_OUTSIDE),
    IGN(X_OUTSIDE, GUARD_EV_INTERRUPT, GUARD_ST_OUTSIDE),
    IGN(X_OUTSIDE, GUARD_EV_IRET, GUARD_ST_OUTSIDE),
    BAD(X_OUTSIDE, GUARD_EV_TEXT_WRITE, GUARD_SUSP_TEXT_WRITE, GUARD_ST_DEAD),
    BAD(X_OUTSIDE, GUARD_EV_FETCH, GUARD_SUSP_BAD_SITE, GUARD_ST_OUTSIDE), /* a jump into the middle */
    /* INSIDE */
    BAD(X_INSIDE, GUARD_EV_INIT, GUARD_SUSP_BAD_REGISTRATION, GUARD_ST_OUTSIDE),
    OK_(X_INSIDE, GUARD_EV_DEINIT, GUARD_ST_UNREGISTERED),
    OK_(X_INSIDE, GUARD_EV_IN_CALL, GUARD_ST_INSIDE), /* depth 2 */
    OK_(X_INSIDE, GUARD_EV_OUT_RET, GUARD_ST_OUTSIDE),
    OK_(X_INSIDE, GUARD_EV_OUT_CALL, GUARD_ST_OUT_CALL),
    BAD(X_INSIDE, GUARD_EV_IN_RET, GUARD_SUSP_UNMATCHED, GUARD_ST_OUTSIDE),
    OK_(X_INSIDE, GUARD_EV_INTERRUPT, GUARD_ST_OUT_INT),
    IGN(X_INSIDE, GUARD_EV_IRET, GUARD_ST_INSIDE), /* IRET within the module text (sync_core) */
    BAD(X_INSIDE, GUARD_EV_TEXT_WRITE, GUARD_SUSP_TEXT_WRITE, GUARD_ST_DEAD),
    IGN(X_INSIDE, GUARD_EV_FETCH, GUARD_ST_INSIDE),
    /* OUT_CALL: this thread is in the kernel on behalf of the module */
    BAD(X_OUT_CALL, GUARD_EV_INIT, GUARD_SUSP_BAD_REGISTRATION, GUARD_ST_OUT_CALL),
    OK_(X_OUT_CALL, GUARD_EV_DEINIT, GUARD_ST_UNREGISTERED),
    OK_(X_OUT_CALL, GUARD_EV_IN_CALL, GUARD_ST_INSIDE), /* nested callback */
    BAD(X_OUT_CALL, GUARD_EV_OUT_RET, GUARD_SUSP_UNMATCHED, GUARD_ST_OUT_CALL),
    BAD(X_OUT_CALL, GUARD_EV_OUT_CALL, GUARD_SUSP_UNMATCHED, GUARD_ST_OUT_CALL),
    OK_(X_OUT_CALL, GUARD_EV_IN_RET, GUARD_ST_INSIDE),
    IGN(X_OUT_CALL, GUARD_EV_INTERRUPT, GUARD_ST_OUT_CALL),
    IGN(X_OUT_CALL, GUARD_EV_IRET, GUARD_ST_OUT_CALL),
    BAD(X_OUT_CALL, GUARD_EV_TEXT_WRITE, GUARD_SUSP_TEXT_WRITE, GUARD_ST_DEAD),
    BAD(X_OUT_CALL, GUARD_EV_FETCH, GUARD_SUSP_BAD_SITE, GUARD_ST_OUT_CALL), /* not where the call returns */
    /* OUT_INT: the kernel handles an interrupt that arrived while the module was privileged */
    BAD(X_OUT_INT, GUARD_EV_INIT, GUARD_SUSP_BAD_REGISTRATION, GUARD_ST_OUT_INT),
    OK_(X_OUT_INT, GUARD_EV_DEINIT, GUARD_ST_UNREGISTERED),
    OK_(X_OUT_INT, GUARD_EV_IN_CALL, GUARD_ST_INSIDE), /* the handler calls into the module */
    BAD(X_OUT_INT, GUARD_EV_OUT_RET, GUARD_SUSP_UNMATCHED, GUARD_ST_OUT_INT),
    BAD(X_OUT_INT, GUARD_EV_OUT_CALL, GUARD_SUSP_UNMATCHED, GUARD_ST_OUT_INT),
    BAD(X_OUT_INT, GUARD_EV_IN_RET, GUARD_SUSP_UNMATCHED, GUARD_ST_OUT_INT),
    IGN(X_OUT_INT, GUARD_EV_INTERRUPT, GUARD_ST_OUT_INT), /* nested interrupt in the handler */
    OK_(X_OUT_INT, GUARD_EV_IRET, GUARD_ST_INSIDE),
    BAD(X_OUT_INT, GUARD_EV_TEXT_WRITE, GUARD_SUSP_TEXT_WRITE, GUARD_ST_DEAD),
    OK_(X_OUT_INT, GUARD_EV_FETCH, GUARD_ST_INSIDE), /* the interrupted context resumes */
    /* DEAD (revoked, text still protected): nothing raises privilege again */
    BAD(X_DEAD, GUARD_EV_INIT, GUARD_SUSP_REVOKED, GUARD_ST_DEAD),
    OK_(X_DEAD, GUARD_EV_DEINIT, GUARD_ST_DEAD),
    BAD(X_DEAD, GUARD_EV_IN_CALL, GUARD_SUSP_REVOKED, GUARD_ST_DEAD),
    BAD(X_DEAD, GUARD_EV_OUT_RET, GUARD_SUSP_REVOKED, GUARD_ST_DEAD),
    BAD(X_DEAD, GUARD_EV_OUT_CALL, GUARD_SUSP_REVOKED, GUARD_ST_DEAD),
    BAD(X_DEAD, GUARD_EV_IN_RET, GUARD_SUSP_REVOKED, GUARD_ST_DEAD),
    IGN(X_DEAD, GUARD_EV_INTERRUPT, GUARD_ST_DEAD),
    IGN(X_DEAD, GUARD_EV_IRET, GUARD_ST_DEAD),
    BAD(X_DEAD, GUARD_EV_TEXT_WRITE, GUARD_SUSP_TEXT_WRITE, GUARD_ST_DEAD),
    IGN(X_DEAD, GUARD_EV_FETCH, GUARD_ST_DEAD),
};

static void test_state_event_table(void **state)
{
    /* every (state, event) pair appears exactly once */
    int seen[X_SETUPS][GUARD_EV_KINDS] = { { 0 } };
    for (size_t i = 0; i < ARRAY_SIZE(table); i++)
        seen[table[i].from][table[i].ev]++;
    for (int s = 0; s < X_SETUPS; s++)
        for (int e = 0; e < GUARD_EV_KINDS; e++)
            assert_int_equal(seen[s][e], 1);

    for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
        const struct row *t = &table[i];
        fixture(NULL);
        reach(t->from);
        assert_int_equal(guard_vcpu_state(&G, 0, GM), reached[t->from]);
        bool was_held = held(0);
        struct guard_event e = column(t->ev);
        struct guard_result r;
        u64 seq = G.log_seq;
        print_message("row %zu: %s + %s\n", i, guard_state_name(reached[t->from]), guard_event_name(t->ev));
        if (t->verdict == GUARD_SUSPICIOUS) {
            refused(&e, t->susp, t->susp == GUARD_SUSP_UNKNOWN_SITE ? "" : "gm");
        } else {
            assert_int_equal(post(&e, &r), t->verdict);
            assert_int_equal(G.log_seq, seq);
            assert_int_equal(r.privileged, t->to == GUARD_ST_INSIDE);
            /* privilege changes only through a valid transition, and the result says so */
            assert_int_equal(!!(r.actions & GUARD_ACT_RAISED), !was_held && held(0));
            assert_int_equal(!!(r.actions & GUARD_ACT_LOWERED), was_held && !held(0));
        }
        assert_int_equal(guard_vcpu_state(&G, 0, GM), t->to);
        assert_int_equal(held(0), t->to == GUARD_ST_INSIDE);
        /* nothing happened on the other vCPUs */
        for (u32 v = 1; v < GUARD_MAX_VCPUS; v++)
            assert_false(held(v));
    }
}

/* Crossings of one module while the vCPU is privileged in another. */
static void test_cross_module(void **state)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
    ok(&e);
    e = ev_init(0, BASE2 + 0x10, other_hash, other_hash);
    ok(&e); /* vCPU 0 INSIDE other */
    assert_int_equal(guard_vcpu_state(&G, 0, OTHER), GUARD_ST_INSIDE);
    static const enum guard_event_kind kinds[] = { GUARD_EV_IN_CALL, GUARD_EV_OUT_RET, GUARD_EV_OUT_CALL,
                                                   GUARD_EV_DEINIT };
    static const u32 sites[] = { S_IN, S_OUT, S_XOUT, S_DEINIT };
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        e = ev_call(kinds[i], 0, BASE + sites[i], RSP1, RET1, 1);
        refused(&e, GUARD_SUSP_CROSS_MODULE, "other");
        assert_int_equal(guard_vcpu_state(&G, 0, OTHER), GUARD_ST_OUTSIDE);
        assert_int_equal(guard_vcpu_state(&G, 0, GM), GUARD_ST_OUTSIDE);
        e = hc(GUARD_EV_IN_CALL, 0, BASE2 + 0x30, RSP0);
        ok(&e); /* back inside other for the next one */
    }
    /* registering a module while privileged in another */
    fixture(NULL);
    e = ev_init(0, BASE2 + 0x10, other_hash, other_hash);
    ok(&e);
    e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    struct guard_result r;
    refused(&e, GUARD_SUSP_CROSS_MODULE, "other");
    assert_int_equal(guard_vcpu_state(&G, 0, GM), GUARD_ST_UNREGISTERED);
    (void)r;
}

/* ---------------------------------------------------------------- invalid sites */

static void test_bad_sites(void **state)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    /* a hypercall of one kind at a site of another kind, at a non-site, outside every module */
    struct {
        enum guard_event_kind k;
        u64 rip;
        enum guard_susp s;
    } cases[] = {
        { GUARD_EV_IN_CALL, BASE + S_OUT, GUARD_SUSP_BAD_SITE },
        { GUARD_EV_IN_CALL, BASE + S_XIN, GUARD_SUSP_BAD_SITE },
        { GUARD_EV_IN_CALL, BASE + S_INIT, GUARD_SUSP_BAD_SITE },
        { GUARD_EV_IN_CALL, BASE + S_IN + 1, GUARD_SUSP_BAD_SITE },
        { GUARD_EV_IN_RET, BASE + S_XOUT, GUARD_SUSP_BAD_SITE },
        { GUARD_EV_OUT_CALL, BASE + S_XIN, GUARD_SUSP_BAD_SITE },
        { GUARD_EV_OUT_RET, BASE + S_IN, GUARD_SUSP_BAD_SITE },
        { GUARD_EV_DEINIT, BASE + S_INIT, GUARD_SUSP_BAD_SITE },
        { GUARD_EV_IN_CALL, BASE + TLEN - 1, GUARD_SUSP_BAD_SITE },
        { GUARD_EV_IN_CALL, BASE + TLEN, GUARD_SUSP_UNKNOWN_SITE },
        { GUARD_EV_IN_CALL, BASE - 1, GUARD_SUSP_UNKNOWN_SITE },
        { GUARD_EV_IN_CALL, 0x401000, GUARD_SUSP_UNKNOWN_SITE },              /* user space */
        { GUARD_EV_IN_CALL, 0xffffffff81000000ull, GUARD_SUSP_UNKNOWN_SITE }, /* the kernel */
        { GUARD_EV_IN_CALL, BASE2 + 0x30, GUARD_SUSP_UNKNOWN_SITE },          /* unregistered module */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, RSP0);
        if (!held(0))
            ok(&e); /* privileged before each attempt, so each must lower */
        assert_true(held(0));
        e = ev_call(cases[i].k, 0, cases[i].rip, RSP1, RET1, 1);
        refused(&e, cases[i].s, cases[i].s == GUARD_SUSP_UNKNOWN_SITE ? "" : "gm");
    }
    assert_int_equal(G.stats.suspicious[GUARD_SUSP_BAD_SITE], 9);
    assert_int_equal(G.stats.suspicious[GUARD_SUSP_UNKNOWN_SITE], 5);
}

/* ---------------------------------------------------------------- stack integrity */

static void enter_and_call_out(u64 seed)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP1, RET1, seed);
    ok(&e);
}

static void test_return_address_tampering(void **state)
{
    /* The paper's attack: the kernel rewrites the return address of a border-out call. */
    enter_and_call_out(100);
    struct guard_event e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, 0xffffffff81234567ull, 100);
    refused(&e, GUARD_SUSP_STACK_MISMATCH, "gm");
    const struct guard_log_entry *l = guard_log_get(&G, 0);
    assert_int_equal(l->expected, RET1);
    assert_int_equal(l->observed, 0xffffffff81234567ull);
    /* the frame is used up: the genuine return is now unmatched, and stays unprivileged */
    e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, RET1, 100);
    refused(&e, GUARD_SUSP_UNMATCHED, "gm");
    /* the entry wrapper's border-out ret that follows is unmatched too */
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
    refused(&e, GUARD_SUSP_UNMATCHED, "gm");
}

static void test_restored_return_address(void **state)
{
    /* Postern's wrappers park their continuation in the slot; the hypervisor resumes the module at
     * the address recorded at the border-out call, whatever the slot holds by then. */
    fixture(&(struct guard_config){ .check_callee_saved = true, .restore_return_address = true });
    enter_and_call_out(100);
    struct guard_event e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, 0xffffffff81234567ull, 100);
    struct guard_result r;
    assert_int_equal(guard_event(&G, &e, &r), GUARD_OK);
    assert_int_equal(r.ret_addr, RET1);
    assert_true(held(0));
    /* the other checks still hold: a moved stack is refused */
    fixture(&(struct guard_config){ .check_callee_saved = true, .restore_return_address = true });
    enter_and_call_out(100);
    e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1 + 16, RET1, 100);
    refused(&e, GUARD_SUSP_UNMATCHED, "gm");
    assert_false(held(0));
}

static void test_stack_mismatches(void **state)
{
    struct guard_event e;
    /* each variant on a fresh border-out call */
    for (int variant = 0; variant < 6; variant++) {
        fixture(&(struct guard_config){ .check_callee_saved = true, .check_stack_digest = true });
        enter_and_call_out(100);
        e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, RET1, 100);
        const char *mod = "gm";
        enum guard_susp kind = GUARD_SUSP_STACK_MISMATCH;
        switch (variant) {
        case 0:
            e.u.call.ret_slot += 8;
            break; /* slot moved */
        case 1:
            e.u.call.callee_saved[0] ^= 1;
            break; /* rbx changed */
        case 2:
            e.u.call.callee_saved[5] ^= 1;
            break; /* r15 changed */
        case 3:
            e.u.call.stack_digest ^= 1;
            break; /* module stack changed */
        case 4:
            e.rsp -= 16;
            kind = GUARD_SUSP_UNMATCHED;
            break; /* another RSP: no frame there */
        case 5:
            e.rip = BASE + S_XIN_B;
            break; /* the other exit wrapper: same module, fine */
        }
        if (variant == 5) {
            ok(&e);
            continue;
        }
        refused(&e, kind, mod);
    }
    /* return address outside the module's text at the border-out call */
    fixture(NULL);
    e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP1, 0xffffffff81000000ull, 1);
    refused(&e, GUARD_SUSP_STACK_MISMATCH, "gm");
    /* a border-out call of module A answered by module B's border-in ret at the same RSP */
    fixture(NULL);
    e = ev_init(0, BASE2 + 0x10, other_hash, other_hash);
    ok(&e);
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE2 + 0x50, RSP1, BASE2 + 0x100, 1);
    ok(&e);
    e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
    ok(&e);
    e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, BASE2 + 0x100, 1);
    refused(&e, GUARD_SUSP_STACK_MISMATCH, "gm");
}

static void test_checks_off(void **state)
{
    /* with both optional checks off, only RSP + slot + return address decide */
    fixture(&(struct guard_config){ 0 });
    enter_and_call_out(100);
    struct guard_event e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, RET1, 555);
    ok(&e);
    assert_true(held(0));
}

static void test_stack_ranges(void **state)
{
    u64 top = 0;
    assert_false(guard_stack_top(&G, 0, &top));
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    assert_true(guard_stack_top(&G, 0, &top));
    assert_int_equal(top, RSP0);
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, RSP0 - 0x80); /* nested: the run's top stays */
    ok(&e);
    assert_true(guard_stack_top(&G, 0, &top));
    assert_int_equal(top, RSP0);
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP1, RET1, 1);
    ok(&e);
    assert_false(guard_stack_top(&G, 0, &top));
    assert_true(guard_pending_stack_top(&G, RSP1, &top));
    assert_int_equal(top, RSP0);
    assert_false(guard_pending_stack_top(&G, RSP2, &top));
    assert_false(guard_stack_top(&G, 99, &top));
}

/* ---------------------------------------------------------------- interrupts */

static void test_interrupt_while_privileged(void **state)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    struct guard_result r;
    ok(&e);
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, RSP0 - 0x40);
    ok(&e); /* depth 2 */
    e = ev_int(0, IRIP, RSP2, 14);
    assert_int_equal(post(&e, &r), GUARD_OK);
    assert_false(r.privileged);
    assert_true(r.watch_iret);
    assert_true(r.actions & GUARD_ACT_LOWERED);
    /* the handler calls the module's IRQ entry: nested border-in and out */
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN_B, RSP2 - 0x200);
    ok(&e);
    assert_true(held(0));
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT_B, RSP2 - 0x200);
    ok(&e);
    assert_false(held(0));
    /* unrelated IRETs are not ours */
    e = hc(GUARD_EV_IRET, 0, 0x401000, 0x7ffc0000);
    assert_int_equal(post(&e, &r), GUARD_IGNORED);
    e = hc(GUARD_EV_IRET, 0, 0xffffffff81000000ull, RSP2 - 0x300);
    assert_int_equal(post(&e, &r), GUARD_IGNORED);
    /* the nested-paging border asks before treating a fetch as an entry: only the exact context */
    assert_true(guard_int_frame_at(&G, IRIP, RSP2));
    assert_false(guard_int_frame_at(&G, IRIP, RSP2 + 8));
    assert_false(guard_int_frame_at(&G, IRIP + 1, RSP2));
    /* the IRET back to the interrupted instruction: privileged again, depth restored */
    e = hc(GUARD_EV_IRET, 0, IRIP, RSP2);
    assert_int_equal(post(&e, &r), GUARD_OK);
    assert_true(r.privileged);
    assert_false(r.watch_iret);
    assert_int_equal(G.vcpu[0].depth, 2);
    assert_false(guard_int_frame_at(&G, IRIP, RSP2)); /* used once */
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0 - 0x40);
    ok(&e);
    assert_true(held(0));
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
    ok(&e);
    assert_false(held(0));
    assert_int_equal(G.mod[GM]->crossings[GUARD_EV_INTERRUPT], 1);
    assert_int_equal(G.mod[GM]->crossings[GUARD_EV_IRET], 1);
}

static void test_iret_tampering(void **state)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = ev_int(0, IRIP, RSP2, 32);
    ok(&e);
    /* the handler changed the saved RSP (stack pivot): right RIP, wrong RSP */
    e = hc(GUARD_EV_IRET, 0, IRIP, RSP2 + 0x1000);
    refused(&e, GUARD_SUSP_STACK_MISMATCH, "gm");
    /* the handler changed the saved RIP: right RSP, wrong RIP -> refused, frame used up */
    e = hc(GUARD_EV_IRET, 0, BASE + 0x1600, RSP2);
    refused(&e, GUARD_SUSP_STACK_MISMATCH, "gm");
    assert_int_equal(G.log[1].expected, IRIP);
    assert_int_equal(G.int_frames, 0);
    e = hc(GUARD_EV_IRET, 0, IRIP, RSP2);
    struct guard_result r;
    assert_int_equal(post(&e, &r), GUARD_IGNORED);
    assert_false(held(0));
    /* IRET out of the module while privileged */
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, RSP0);
    ok(&e);
    e = hc(GUARD_EV_IRET, 0, 0xffffffff81000000ull, RSP0);
    refused(&e, GUARD_SUSP_UNMATCHED, "gm");
}

/* ---------------------------------------------------------------- nesting and threads */

static void test_paper_nesting(void **state)
{
    /* §4.3: border-in call, border-out call(*), border-in call, border-out ret, border-in ret(**),
     * border-out ret. Privilege: on, off, on, off, on, off. */
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
    ok(&e);
    F.nops = 0;
    struct {
        struct guard_event e;
        bool priv;
        enum guard_state st;
    } steps[] = {
        { hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, RSP0), true, GUARD_ST_INSIDE },
        { ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP1, RET1, 9), false, GUARD_ST_OUT_CALL },
        { hc(GUARD_EV_IN_CALL, 0, BASE + S_IN_B, RSP1 - 0x100), true, GUARD_ST_INSIDE },
        { hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT_B, RSP1 - 0x100), false, GUARD_ST_OUT_CALL },
        { ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, RET1, 9), true, GUARD_ST_INSIDE },
        { hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0), false, GUARD_ST_OUTSIDE },
    };
    for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
        ok(&steps[i].e);
        assert_int_equal(held(0), steps[i].priv);
        assert_int_equal(guard_vcpu_state(&G, 0, GM), steps[i].st);
    }
    F.ops[F.nops] = 0;
    assert_string_equal(F.ops, "R0L0R0L0R0L0");
    assert_int_equal(guard_log_count(&G), 0);
}

static void test_self_reentry_depth(void **state)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    for (int i = 0; i < 5; i++) {
        e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, RSP0 - 0x100 * (u64)(i + 1));
        ok(&e);
    }
    assert_int_equal(G.vcpu[0].depth, 6);
    for (int i = 0; i < 5; i++) {
        e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
        ok(&e);
        assert_true(held(0));
    }
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
    ok(&e);
    assert_false(held(0));
    assert_int_equal(F.nops, 4); /* one raise, one lower: no churn for nested entries */
}

static void test_sleeping_threads_migrate(void **state)
{
    /* T1 and T2 both call out of the module and sleep in the kernel; T1 resumes on vCPU 1 first,
     * T2 on vCPU 0 later. A per-vCPU LIFO stack would refuse both; frames keyed by RSP do not. */
    const u64 T1 = 0xffffc90000400f00ull, T2 = 0xffffc90000800f00ull;
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
    ok(&e);
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, T1);
    ok(&e);
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, T1 - 0x80, BASE + 0x1000, 1);
    ok(&e);
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN_B, T2);
    ok(&e);
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT_B, T2 - 0x80, BASE + 0x2000, 2);
    ok(&e);
    assert_int_equal(guard_vcpu_state(&G, 0, GM), GUARD_ST_OUT_CALL);
    e = ev_call(GUARD_EV_IN_RET, 1, BASE + S_XIN, T1 - 0x80, BASE + 0x1000, 1);
    ok(&e);
    assert_true(held(1));
    assert_false(held(0));
    e = hc(GUARD_EV_OUT_RET, 1, BASE + S_OUT, T1);
    ok(&e);
    e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN_B, T2 - 0x80, BASE + 0x2000, 2);
    struct guard_result r;
    assert_int_equal(post(&e, &r), GUARD_OK);
    assert_int_equal(r.ret_addr, BASE + 0x2000);
    assert_true(held(0));
    assert_false(held(1));
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT_B, T2);
    ok(&e);
    assert_int_equal(F.mask, 0);
    assert_int_equal(guard_log_count(&G), 0);
}

static void test_two_vcpus_inside(void **state)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = hc(GUARD_EV_IN_CALL, 2, BASE + S_IN, RSP1);
    ok(&e);
    assert_true(held(0) && held(2));
    /* a suspicious event on vCPU 2 lowers vCPU 2 only */
    e = hc(GUARD_EV_IN_CALL, 2, BASE + S_OUT, RSP1);
    refused(&e, GUARD_SUSP_BAD_SITE, "gm");
    assert_true(held(0));
    assert_false(held(2));
}

static void test_module_calls_other_module(void **state)
{
    struct guard_event e = ev_init(0, BASE2 + 0x10, other_hash, other_hash);
    ok(&e);
    e = hc(GUARD_EV_OUT_RET, 0, BASE2 + 0x40, RSP0);
    ok(&e);
    e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP1, RET1, 3);
    ok(&e);
    e = hc(GUARD_EV_IN_CALL, 0, BASE2 + 0x30, RSP1 - 0x100);
    ok(&e);
    assert_int_equal(guard_vcpu_state(&G, 0, OTHER), GUARD_ST_INSIDE);
    assert_int_equal(guard_vcpu_state(&G, 0, GM), GUARD_ST_OUT_CALL);
    assert_false(privilege_test_is_raised(0)); /* "test" is bound to gm only */
    e = hc(GUARD_EV_OUT_RET, 0, BASE2 + 0x40, RSP1 - 0x100);
    ok(&e);
    e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, RET1, 3);
    ok(&e);
    assert_true(privilege_test_is_raised(0));
}

/* ---------------------------------------------------------------- many modules */

/* No fixed limit: 16 more modules (18 in all) added, registered, crossed (in, a call out to the next
 * module and back, interrupted inside), found at every text address and not past their text (the
 * texts are 6 KiB at 8 KiB spacing: the last page's tail is not text), revoked one by one, unloaded,
 * and registered again at other addresses. */
#define NMANY     16
#define MANY_BASE 0xffffffffc1000000ull
#define MANY_LEN  0x1800ull
static u64 many_base(int i, int round) { return MANY_BASE + (u64)round * 0x100000 + (u64)i * 0x2000; }

static void test_many_modules(void **state)
{
    u8 h[NMANY][GUARD_HASH_LEN];
    char name[NMANY][16];
    int idx[NMANY];
    struct guard_event e;

    for (int i = 0; i < NMANY; i++) {
        memset(h[i], 0x80 + i, GUARD_HASH_LEN);
        snprintf(name[i], sizeof(name[i]), "many%d", i);
        struct guard_module_desc d = { name[i], h[i], MANY_LEN, other_sites, ARRAY_SIZE(other_sites) };
        idx[i] = guard_module_add(&G, &d);
        assert_int_equal(idx[i], 2 + i);
        assert_int_equal(guard_bind_privilege(&G, idx[i], "fake"), GUARD_OK_RC);
    }
    assert_int_equal(guard_module_count(&G), 2 + NMANY);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < NMANY; i++) {
            u64 b = many_base(i, round);
            e = ev_init(0, b + 0x10, h[i], h[i]);
            ok(&e);
            assert_int_equal(guard_vcpu_state(&G, 0, idx[i]), GUARD_ST_INSIDE);
            e = hc(GUARD_EV_OUT_RET, 0, b + 0x40, RSP0);
            ok(&e);
        }
        for (int i = 0; i < NMANY; i++) {
            u64 b = many_base(i, round);
            assert_int_equal(guard_module_at(&G, b), idx[i]);
            assert_int_equal(guard_module_at(&G, b + MANY_LEN - 1), idx[i]);
            assert_int_equal(guard_module_at(&G, b + MANY_LEN), -1);
            assert_int_equal(guard_module_at(&G, b - 1), -1); /* the previous text's last page, past its end */
        }
        /* each: in, call out into the next module and back, interrupted inside, out */
        for (int i = 0; i < NMANY; i++) {
            u64 b = many_base(i, round), n = many_base((i + 1) % NMANY, round);
            e = hc(GUARD_EV_IN_CALL, 1, b + 0x30, RSP0);
            ok(&e);
            assert_true(held(1));
            e = ev_call(GUARD_EV_OUT_CALL, 1, b + 0x50, RSP1, b + 0x100, 5 + i);
            ok(&e);
            e = hc(GUARD_EV_IN_CALL, 1, n + 0x30, RSP1 - 0x100);
            ok(&e);
            assert_int_equal(guard_vcpu_state(&G, 1, idx[(i + 1) % NMANY]), GUARD_ST_INSIDE);
            assert_int_equal(guard_vcpu_state(&G, 1, idx[i]), GUARD_ST_OUT_CALL);
            e = hc(GUARD_EV_OUT_RET, 1, n + 0x40, RSP1 - 0x100);
            ok(&e);
            e = ev_call(GUARD_EV_IN_RET, 1, b + 0x60, RSP1, b + 0x100, 5 + i);
            ok(&e);
            e = ev_int(1, b + 0x200, RSP2, 32);
            ok(&e);
            assert_false(held(1));
            e = hc(GUARD_EV_IRET, 1, b + 0x200, RSP2);
            ok(&e);
            assert_true(held(1));
            e = hc(GUARD_EV_OUT_RET, 1, b + 0x40, RSP0);
            ok(&e);
            assert_false(held(1));
        }
        for (int i = 0; round == 0 && i < NMANY; i++) /* its own and the previous module's call */
            assert_int_equal(G.mod[idx[i]]->crossings[GUARD_EV_IN_CALL], 2);
        /* a site of module i is not one of module j: the lookup is by address, not by luck */
        e = hc(GUARD_EV_IN_CALL, 2, many_base(7, round) + 0x40, RSP0);
        refused(&e, GUARD_SUSP_BAD_SITE, "many7");
        /* revoked one by one: the others keep working */
        for (int i = 0; i < NMANY; i++) {
            assert_int_equal(guard_revoke(&G, idx[i]), GUARD_OK_RC);
            e = hc(GUARD_EV_IN_CALL, 0, many_base(i, round) + 0x30, RSP0);
            refused(&e, GUARD_SUSP_REVOKED, name[i]);
            if (i + 1 < NMANY) {
                e = hc(GUARD_EV_IN_CALL, 0, many_base(i + 1, round) + 0x30, RSP0);
                ok(&e);
                e = hc(GUARD_EV_OUT_RET, 0, many_base(i + 1, round) + 0x40, RSP0);
                ok(&e);
            }
        }
        /* unloaded (deinit of a revoked module), reinstated: the text-page hash forgets them */
        for (int i = 0; i < NMANY; i++) {
            e = hc(GUARD_EV_DEINIT, 0, many_base(i, round) + 0x20, RSP0);
            ok(&e);
            assert_int_equal(guard_module_at(&G, many_base(i, round)), -1);
            assert_int_equal(guard_reinstate(&G, idx[i]), GUARD_OK_RC);
        }
    }
}

/* ---------------------------------------------------------------- frames table */

static void test_frame_table_full(void **state)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    u64 rsp = RSP0;
    for (int i = 0; i < GUARD_MAX_FRAMES; i++) {
        rsp -= 0x40;
        e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, rsp, RET1, 1);
        ok(&e);
        e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, rsp - 0x20);
        ok(&e);
    }
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, rsp - 0x40, RET1, 1);
    refused(&e, GUARD_SUSP_NO_SPACE, "gm");
    e = ev_int(0, IRIP, rsp - 0x40, 32);
    struct guard_result r;
    assert_int_equal(post(&e, &r), GUARD_IGNORED); /* already lowered */
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, rsp - 0x20);
    ok(&e);
    e = ev_int(0, IRIP, rsp - 0x40, 32);
    refused(&e, GUARD_SUSP_NO_SPACE, "gm");
    /* the recorded frames still return */
    e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, rsp, RET1, 1);
    ok(&e);
}

static void test_stale_frame_replaced(void **state)
{
    enter_and_call_out(1); /* this thread dies in the kernel and never returns */
    struct guard_event e = hc(GUARD_EV_IN_CALL, 1, BASE + S_IN, RSP0);
    ok(&e);
    /* a new thread on the reused stack calls out at the same RSP */
    e = ev_call(GUARD_EV_OUT_CALL, 1, BASE + S_XOUT_B, RSP1, BASE + 0x2222, 2);
    ok(&e);
    assert_int_equal(G.stats.stale_frames, 1);
    e = ev_call(GUARD_EV_IN_RET, 1, BASE + S_XIN_B, RSP1, BASE + 0x2222, 2);
    ok(&e);
    assert_true(held(1));
}

/* The frame table's hash (hv/guard/guard.c frame_hash), to build colliding keys on purpose. */
static u32 frame_bucket(u64 key) { return (u32)((key * 0x9e3779b97f4a7c15ull) >> 56); }

/* n 8-byte-aligned keys below `from` (step `step`) that share one bucket. */
static void colliding(u64 from, u64 step, u64 *out, int n)
{
    u32 b = frame_bucket(from);
    int k = 0;
    out[k++] = from;
    for (u64 key = from - step; k < n; key -= step)
        if (frame_bucket(key) == b)
            out[k++] = key;
}

static int chain_length(const u8 *heads, u32 bucket, bool by_rip)
{
    int n = 0;
    for (u8 f = heads[bucket]; f != GUARD_FRAME_NIL; f = by_rip ? G.frame[f].next_rip : G.frame[f].next)
        n++;
    return n;
}

/* The return address a seed's border-out call records (inside the module's text). */
#define RET_OF(seed) (RET1 + ((seed)&0xfff))

/* Leave the module (a border-in call at `entry_rsp`) through a border-out call at `rsp`. */
static void call_out_at(u64 entry_rsp, u64 rsp, u64 seed)
{
    struct guard_event e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, entry_rsp);
    ok(&e);
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, rsp, RET_OF(seed), seed);
    ok(&e);
}

/* Come back through the border-in ret at `rsp`, then leave by the entry's border-out ret. */
static void return_at(u64 rsp, u64 seed)
{
    struct guard_result r;
    struct guard_event e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, rsp, RET_OF(seed), seed);
    assert_int_equal(post(&e, &r), GUARD_OK);
    assert_int_equal(r.ret_addr, RET_OF(seed));
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, rsp + 0x100);
    ok(&e);
    assert_false(held(0));
}

/* Register gm and leave eight border-out call frames at keys that share one chain under the fixed
 * multiplier. */
static void park_colliding_frames(u64 rsp[8])
{
    colliding(RSP1, 8, rsp, 8);
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
    ok(&e);
    for (int i = 0; i < 8; i++)
        call_out_at(rsp[i] + 0x100, rsp[i], (u64)i);
}

static void test_frame_hash_seed(void **state)
{
    /* The seed becomes an odd multiplier; no seed keeps Fibonacci hashing's constant. */
    static struct guard g2;
    struct guard_config cfg = { .frame_hash_seed = 0x10 };
    guard_destroy(&g2);
    guard_init(&g2, &R, &cfg);
    assert_int_equal(g2.frame_hash_mult, 0x11);
    guard_destroy(&g2);
    guard_init(&g2, &R, NULL);
    assert_int_equal(g2.frame_hash_mult, 0x9e3779b97f4a7c15ull);
    /* Keys chosen to share a chain under the fixed multiplier spread under a secret one. */
    G.frame_hash_mult = 0x5deece66d2b5a3c1ull;
    u64 rsp[8];
    park_colliding_frames(rsp);
    int longest = 0;
    for (u32 b = 0; b < GUARD_FRAME_BUCKETS; b++) {
        int n = chain_length(G.frame_by_rsp, b, false);
        longest = n > longest ? n : longest;
    }
    assert_true(longest <= 2);
    for (int i = 7; i >= 0; i--)
        return_at(rsp[i], (u64)i);
}

static void test_frame_collisions(void **state)
{
    /* Eight outstanding frames on one hash chain, returned from its middle, tail and head; a
     * refused return uses its frame up and leaves the others alone. */
    u64 rsp[8];
    park_colliding_frames(rsp);
    struct guard_event e;
    u32 b = frame_bucket(rsp[0]);
    assert_int_equal(chain_length(G.frame_by_rsp, b, false), 8);
    /* the callee-saved registers of frame 3 changed: refused, and the frame is gone */
    e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, rsp[3], RET1 + 3, 99);
    refused(&e, GUARD_SUSP_STACK_MISMATCH, "gm");
    assert_int_equal(chain_length(G.frame_by_rsp, b, false), 7);
    e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, rsp[3], RET1 + 3, 3);
    refused(&e, GUARD_SUSP_UNMATCHED, "gm");
    static const int order[] = { 0, 7, 5, 1, 6, 2, 4 };
    for (size_t i = 0; i < ARRAY_SIZE(order); i++)
        return_at(rsp[order[i]], (u64)order[i]);
    assert_int_equal(G.frame_by_rsp[b], GUARD_FRAME_NIL);
    /* every frame is back on the free list: the table holds GUARD_MAX_FRAMES again */
    for (int i = 0; i < GUARD_MAX_FRAMES; i++)
        call_out_at(RSP0 - 0x100 * (u64)i, RSP0 - 0x100 * (u64)i - 0x40, (u64)i);
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, RSP0 + 0x1000);
    ok(&e);
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP0 + 0x800, RET1, 1);
    refused(&e, GUARD_SUSP_NO_SPACE, "gm");
    assert_int_equal(guard_log_count(&G), 3);
}

static void test_interrupt_rip_chain(void **state)
{
    /* Three threads interrupted at RIPs that share a chain of the RIP index. */
    u64 rip[4], rsp[3] = { RSP2, RSP2 - 0x1000, RSP2 - 0x2000 };
    colliding(BASE + 0x2ff8, 1, rip, 4);
    for (int i = 0; i < 4; i++)
        assert_true(rip[i] >= BASE && rip[i] < BASE + TLEN);
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
    ok(&e);
    for (int i = 0; i < 3; i++) {
        e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, rsp[i] + 0x100);
        ok(&e);
        e = ev_int(0, rip[i], rsp[i], 32);
        ok(&e);
    }
    assert_int_equal(G.int_frames, 3);
    assert_int_equal(chain_length(G.int_by_rip, frame_bucket(rip[0]), true), 3);
    /* an interrupted RIP with another RSP: reported, and no frame is used up */
    e = hc(GUARD_EV_IRET, 0, rip[1], RSP0);
    refused(&e, GUARD_SUSP_STACK_MISMATCH, "gm");
    assert_int_equal(G.int_frames, 3);
    /* a RIP on the same chain that no frame holds: not ours */
    struct guard_result r;
    e = hc(GUARD_EV_IRET, 0, rip[3], RSP0);
    assert_int_equal(post(&e, &r), GUARD_IGNORED);
    assert_true(r.watch_iret);
    static const int order[] = { 1, 0, 2 };
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        int k = order[i];
        e = hc(GUARD_EV_IRET, 0, rip[k], rsp[k]);
        assert_int_equal(post(&e, &r), GUARD_OK);
        assert_true(held(0));
        assert_int_equal(G.int_frames, 2 - i);
        assert_int_equal(r.watch_iret, i < 2);
        e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, rsp[k] + 0x100);
        ok(&e);
        /* gone from the RIP index too */
        e = hc(GUARD_EV_IRET, 0, rip[k], RSP0);
        assert_int_equal(post(&e, &r), GUARD_IGNORED);
    }
    assert_int_equal(G.int_by_rip[frame_bucket(rip[0])], GUARD_FRAME_NIL);
}

static void test_stale_interrupt_frame_replaced(void **state)
{
    /* An interrupted thread never returns; a border-out call at its RSP replaces its frame, which
     * leaves the RIP index and the count of interrupt frames (no more IRET watch). */
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = ev_int(0, IRIP, RSP2, 32);
    ok(&e);
    assert_int_equal(G.int_frames, 1);
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, RSP2 + 0x100);
    ok(&e);
    struct guard_result r;
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP2, RET1 + 5, 5);
    assert_int_equal(post(&e, &r), GUARD_OK);
    assert_int_equal(G.stats.stale_frames, 1);
    assert_int_equal(G.int_frames, 0);
    assert_false(r.watch_iret);
    e = hc(GUARD_EV_IRET, 0, IRIP, RSP2);
    assert_int_equal(post(&e, &r), GUARD_IGNORED);
    e = hc(GUARD_EV_IRET, 0, IRIP, RSP0);
    assert_int_equal(post(&e, &r), GUARD_IGNORED);
    assert_int_equal(guard_log_count(&G), 0);
    return_at(RSP2, 5);
}

static void test_frame_churn(void **state)
{
    /* 20,000 border-outs and returns over 300 stacks against a model of what is outstanding:
     * chains, free list and counts stay consistent, a full table refuses, a stale RSP replaces. */
    enum { STACKS = 300, STEPS = 20000 };
    static u64 seed_at[STACKS]; /* 0: nothing outstanding at that stack */
    memset(seed_at, 0, sizeof(seed_at));
    u32 outstanding = 0, x = 12345;
    u64 next_seed = 1;
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    ok(&e);
    e = hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0);
    ok(&e);
    for (int step = 0; step < STEPS; step++) {
        x = x * 1103515245u + 12345u;
        u32 k = (x >> 8) % STACKS;
        u64 rsp = 0xffffc90000800000ull - (u64)k * 0x2008; /* 8-aligned, irregular */
        bool back = seed_at[k] && ((x >> 20) & 3) != 0;
        if (back) {
            return_at(rsp, seed_at[k]);
            seed_at[k] = 0;
            outstanding--;
        } else if (seed_at[k] || outstanding < GUARD_MAX_FRAMES) {
            u64 stale = G.stats.stale_frames;
            call_out_at(rsp + 0x100, rsp, next_seed);
            assert_int_equal(G.stats.stale_frames, stale + (seed_at[k] != 0));
            outstanding += seed_at[k] == 0;
            seed_at[k] = next_seed++;
        } else {
            e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, rsp + 0x100);
            ok(&e);
            e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, rsp, RET1, 1);
            refused(&e, GUARD_SUSP_NO_SPACE, "gm");
        }
        if (step % 997 == 0) {
            u32 live = 0, chained = 0, free_n = 0;
            for (int f = 0; f < GUARD_MAX_FRAMES; f++)
                live += G.frame[f].kind != GUARD_FRAME_FREE;
            for (u32 b = 0; b < GUARD_FRAME_BUCKETS; b++)
                chained += (u32)chain_length(G.frame_by_rsp, b, false);
            for (u8 f = G.frame_free; f != GUARD_FRAME_NIL; f = G.frame[f].next)
                free_n++;
            assert_int_equal(live, outstanding);
            assert_int_equal(chained, outstanding);
            assert_int_equal(free_n, GUARD_MAX_FRAMES - outstanding);
        }
    }
    for (u32 k = 0; k < STACKS; k++)
        if (seed_at[k])
            return_at(0xffffc90000800000ull - (u64)k * 0x2008, seed_at[k]);
}

static void same_result(const struct guard_result *a, const struct guard_result *b)
{
    assert_int_equal(a->verdict, b->verdict);
    assert_int_equal(a->susp, b->susp);
    assert_int_equal(a->actions, b->actions);
    assert_int_equal(a->module, b->module);
    assert_int_equal(a->site, b->site);
    assert_int_equal(a->text_base, b->text_base);
    assert_int_equal(a->text_len, b->text_len);
    assert_int_equal(a->ret_addr, b->ret_addr);
    assert_int_equal(a->privileged, b->privileged);
    assert_int_equal(a->watch_iret, b->watch_iret);
}

/* A copy of src that shares no memory with it (modules, their tables, the text-page hash): events
 * on the copy leave src as it was. What an earlier copy into dst allocated is given back first. */
static void clone_guard(struct guard *dst, const struct guard *src)
{
    guard_destroy(dst);
    memcpy(dst, src, sizeof(*src));
    dst->mod = guard_mem_alloc(src->mod_cap * sizeof(dst->mod[0]));
    for (u32 m = 0; m < src->nmod; m++) {
        const struct guard_module *sm = src->mod[m];
        struct guard_module *dm = guard_mem_alloc(sm->alloc_bytes);
        memcpy(dm, sm, sm->alloc_bytes);
        dm->sites = (struct guard_site *)((u8 *)dm + ((const u8 *)sm->sites - (const u8 *)sm));
        dm->slots = (u16 *)((u8 *)dm + ((const u8 *)sm->slots - (const u8 *)sm));
        dst->mod[m] = dm;
    }
    u64 tb = ((u64)1 << src->text_bits) * sizeof(src->text[0]);
    dst->text = guard_mem_alloc(tb);
    memcpy(dst->text, src->text, tb);
}

static void test_result_fully_written(void **state)
{
    /* border.c does not clear the result before guard_event (a byte-loop memset on every crossing):
     * every field must be written, whatever the event and verdict. Each event runs twice on equal
     * guards, once into a zeroed result and once into garbage. */
    static struct guard twin;
    const struct guard_event evs[] = {
        ev_init(0, BASE + S_INIT, gm_hash, gm_hash),
        ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP1, RET1, 4),
        hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, RSP0), /* OUTSIDE: into the module */
        ev_int(0, IRIP, RSP2, 32),
        hc(GUARD_EV_IRET, 0, 0xffffffff81000000ull, RSP0), /* not ours: ignored */
        hc(GUARD_EV_IRET, 0, IRIP, RSP2),
        hc(GUARD_EV_OUT_RET, 0, BASE + S_OUT, RSP0), /* back to depth 0 */
        ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, RET1, 4),
        hc(GUARD_EV_IN_CALL, 0, BASE + S_OUT, RSP0),          /* bad site */
        hc(GUARD_EV_IN_CALL, 0, 0xffffffff81000000ull, RSP0), /* unknown site */
        hc(GUARD_EV_DEINIT, 0, BASE + S_DEINIT, RSP0),
        hc((enum guard_event_kind)99, 0, 0, 0), /* a caller bug */
    };
    for (size_t i = 0; i < ARRAY_SIZE(evs); i++) {
        struct guard_result clean, dirty;
        memset(&clean, 0, sizeof(clean));
        memset(&dirty, 0xa5, sizeof(dirty));
        clone_guard(&twin, &G);
        enum guard_verdict v1 = guard_event(&twin, &evs[i], &clean);
        enum guard_verdict v2 = guard_event(&G, &evs[i], &dirty);
        assert_int_equal(v1, v2);
        same_result(&clean, &dirty);
    }
    assert_true(guard_log_count(&G) >= 2);
}

/* ---------------------------------------------------------------- registration */

static void test_registration_checks(void **state)
{
    int m;
    u64 base, len;
    /* guard_locate: the same checks, without a state change */
    assert_int_equal(guard_locate(&G, BASE + S_INIT, gm_hash, &m, &base, &len), GUARD_OK_RC);
    assert_int_equal(m, GM);
    assert_int_equal(base, BASE);
    assert_int_equal(len, TLEN);
    assert_int_equal(guard_locate(&G, BASE + S_INIT, bad_hash, &m, &base, &len), GUARD_EUNKNOWN);
    assert_int_equal(guard_locate(&G, 0x400000 + S_INIT, gm_hash, &m, &base, &len), GUARD_EUSER);
    assert_int_equal(guard_locate(&G, GUARD_KERNEL_BASE + 0x50, gm_hash, &m, &base, &len), GUARD_EUSER);
    assert_int_equal(guard_locate(&G, BASE + S_INIT + 0x10, gm_hash, &m, &base, &len), GUARD_EALIGN);
    assert_int_equal(guard_locate(&G, 0xfffffffffffff000ull + S_INIT, gm_hash, &m, &base, &len), GUARD_EOVERFLOW);
    /* text ending exactly at the top of the address space is fine */
    assert_int_equal(guard_locate(&G, 0xffffffffffffd000ull + S_INIT, gm_hash, &m, &base, &len), GUARD_OK_RC);
    assert_int_equal(guard_locate(&G, BASE + S_INIT, NULL, &m, &base, &len), GUARD_EINVAL);
    assert_int_equal(guard_vcpu_state(&G, 0, GM), GUARD_ST_UNREGISTERED);

    struct guard_result r;
    struct {
        u64 site;
        const u8 *claimed, *text;
        enum guard_susp s;
        const char *mod;
    } cases[] = {
        { BASE + S_INIT, bad_hash, gm_hash, GUARD_SUSP_UNKNOWN_MODULE, "" },
        { BASE + S_INIT, gm_hash, bad_hash, GUARD_SUSP_HASH_MISMATCH, "gm" },                    /* tampered text */
        { BASE + 0x1000 + S_INIT, gm_hash, bad_hash, GUARD_SUSP_HASH_MISMATCH, "gm" },           /* wrong site */
        { BASE + S_INIT + 8, gm_hash, gm_hash, GUARD_SUSP_BAD_REGISTRATION, "gm" },              /* misaligned */
        { 0x7f0000000000ull + S_INIT, gm_hash, gm_hash, GUARD_SUSP_BAD_REGISTRATION, "gm" },     /* user */
        { 0xfffffffffffff000ull + S_INIT, gm_hash, gm_hash, GUARD_SUSP_BAD_REGISTRATION, "gm" }, /* wraps */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct guard_event e = ev_init(0, cases[i].site, cases[i].claimed, cases[i].text);
        refused(&e, cases[i].s, cases[i].mod);
        assert_int_equal(guard_vcpu_state(&G, 0, GM), GUARD_ST_UNREGISTERED);
        assert_int_equal(F.inits, 0);
    }
    /* a hash mismatch tells the caller to undo the write protection it set for hashing */
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, bad_hash);
    assert_int_equal(post(&e, &r), GUARD_SUSPICIOUS);
    assert_true(r.actions & GUARD_ACT_UNPROTECT_TEXT);
    assert_int_equal(r.text_base, BASE);
    assert_int_equal(r.text_len, TLEN);
    /* success: protect, raise, first border-in */
    e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    assert_int_equal(post(&e, &r), GUARD_OK);
    assert_true(r.actions & GUARD_ACT_PROTECT_TEXT);
    assert_true(r.actions & GUARD_ACT_RAISED);
    assert_true(r.privileged);
    assert_int_equal(r.text_base, BASE);
    assert_int_equal(F.inits, 1);
    assert_true(privilege_test_is_raised(0));
    assert_int_equal(guard_module_at(&G, BASE), GM);
    assert_int_equal(guard_module_at(&G, BASE + TLEN - 1), GM);
    assert_int_equal(guard_module_at(&G, BASE + TLEN), -1);
    /* another module whose text would overlap */
    assert_int_equal(guard_locate(&G, BASE + 0x2000 + 0x10, other_hash, &m, &base, &len), GUARD_EOVERLAP);
    e = ev_init(1, BASE + 0x2000 + 0x10, other_hash, other_hash);
    refused(&e, GUARD_SUSP_BAD_REGISTRATION, "other");
    /* twice */
    assert_int_equal(guard_locate(&G, BASE + S_INIT, gm_hash, &m, &base, &len), GUARD_ESTATE);
}

static void test_privilege_init_failure(void **state)
{
    F.fail_init = 1;
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    refused(&e, GUARD_SUSP_BAD_REGISTRATION, "gm");
    assert_int_equal(guard_vcpu_state(&G, 0, GM), GUARD_ST_UNREGISTERED);
    assert_int_equal(R.e[0].active, 0);
    assert_int_equal(R.e[1].active, 0);
    F.fail_init = 0;
    ok(&e);
}

/* ---------------------------------------------------------------- deinit and revocation */

static void test_deinit(void **state)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    struct guard_result r;
    ok(&e);
    e = hc(GUARD_EV_IN_CALL, 1, BASE + S_IN, RSP1);
    ok(&e);
    e = ev_int(1, IRIP, RSP2, 32);
    ok(&e);
    assert_int_equal(G.int_frames, 1);
    e = hc(GUARD_EV_DEINIT, 0, BASE + S_DEINIT, RSP0);
    assert_int_equal(post(&e, &r), GUARD_OK);
    assert_true(r.actions & GUARD_ACT_UNPROTECT_TEXT);
    assert_int_equal(r.text_base, BASE);
    assert_false(r.watch_iret);
    assert_int_equal(F.mask, 0);
    assert_int_equal(F.deinits, 1);
    assert_int_equal(R.e[0].active, 0);
    assert_int_equal(guard_vcpu_state(&G, 1, GM), GUARD_ST_UNREGISTERED);
    /* the interrupted context can no longer return with privilege */
    e = hc(GUARD_EV_IRET, 1, IRIP, RSP2);
    assert_int_equal(post(&e, &r), GUARD_IGNORED);
    /* the module's sites are gone with it */
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_IN, RSP0);
    refused(&e, GUARD_SUSP_UNKNOWN_SITE, "");
    /* it may register again, elsewhere (insmod after rmmod) */
    e = ev_init(0, BASE + 0x100000 + S_INIT, gm_hash, gm_hash);
    ok(&e);
    assert_int_equal(G.mod[GM]->registrations, 2);
    assert_int_equal(F.inits, 2);
}

static void test_revocation(void **state)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    struct guard_result r;
    ok(&e);
    e = hc(GUARD_EV_IN_CALL, 1, BASE + S_IN, RSP1);
    ok(&e);
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP1 - 0x400, RET1, 1);
    ok(&e);
    /* vCPU 3 (unprivileged) writes the text: the module is revoked everywhere */
    e = ev_write(GM, BASE + 0x1000);
    e.vcpu = 3;
    refused(&e, GUARD_SUSP_TEXT_WRITE, "gm");
    assert_int_equal(F.mask, 0);
    assert_int_equal(F.deinits, 1);
    assert_int_equal(guard_log_get(&G, 0)->observed, BASE + 0x1000);
    for (u32 v = 0; v < GUARD_MAX_VCPUS; v++)
        assert_int_equal(guard_vcpu_state(&G, v, GM), GUARD_ST_DEAD);
    /* the outstanding border-out call cannot come back privileged */
    e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1 - 0x400, RET1, 1);
    refused(&e, GUARD_SUSP_REVOKED, "gm");
    /* further writes: logged, text stays protected */
    e = ev_write(GM, BASE + 0x1008);
    assert_int_equal(post(&e, &r), GUARD_SUSPICIOUS);
    assert_true(r.actions & GUARD_ACT_PROTECT_TEXT);
    /* the revoked module unloads: protection lifted, text forgotten, still DEAD */
    e = hc(GUARD_EV_DEINIT, 0, BASE + S_DEINIT, RSP0);
    assert_int_equal(post(&e, &r), GUARD_OK);
    assert_true(r.actions & GUARD_ACT_UNPROTECT_TEXT);
    assert_int_equal(guard_module_at(&G, BASE), -1);
    e = ev_write(GM, BASE + 0x1008);
    assert_int_equal(post(&e, &r), GUARD_IGNORED);
    /* and cannot register again until the administrator reinstates it */
    e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    refused(&e, GUARD_SUSP_REVOKED, "gm");
    assert_int_equal(guard_reinstate(&G, GM), GUARD_OK_RC);
    ok(&e);
    /* administrator revocation */
    assert_int_equal(guard_revoke(&G, GM), GUARD_OK_RC);
    assert_false(held(0));
    assert_int_equal(guard_vcpu_state(&G, 0, GM), GUARD_ST_DEAD);
    assert_int_equal(guard_reinstate(&G, GM), GUARD_EBUSY); /* its text is still protected */
    assert_int_equal(guard_revoke(&G, 7), GUARD_EINVAL);
}

/* ---------------------------------------------------------------- metadata and binding */

static void test_module_add_errors(void **state)
{
    static struct guard g2;
    guard_destroy(&g2);
    guard_init(&g2, &R, NULL);
    u8 h[GUARD_HASH_LEN];
    memset(h, 0x44, sizeof(h));
    struct guard_site_desc s[8] = { { 0x10, GMETA_SITE_INIT },
                                    { 0x20, GMETA_SITE_DEINIT },
                                    { 0x30, GMETA_SITE_BORDER_IN_CALL } };
    struct guard_module_desc d = { "m", h, 0x100, s, 3 };
    char longname[GUARD_NAME_MAX + 1];
    memset(longname, 'n', GUARD_NAME_MAX);
    longname[GUARD_NAME_MAX] = 0;

#define EXPECT(rc, ...)                                                                                                \
    do {                                                                                                               \
        struct guard_module_desc x = d;                                                                                \
        __VA_ARGS__;                                                                                                   \
        assert_int_equal(guard_module_add(&g2, &x), rc);                                                               \
    } while (0)
    EXPECT(GUARD_EINVAL, x.name = NULL);
    EXPECT(GUARD_EINVAL, x.name = "");
    EXPECT(GUARD_EINVAL, x.name = longname);
    EXPECT(GUARD_EINVAL, x.hash = NULL);
    EXPECT(GUARD_EINVAL, x.sites = NULL);
    EXPECT(GUARD_EINVAL, x.text_len = 0);
    EXPECT(GUARD_EINVAL, x.text_len = GUARD_MAX_TEXT + 1);
    EXPECT(GUARD_ESITE, x.nsites = 0);
    EXPECT(GUARD_ESITE, x.nsites = GUARD_MAX_SITES + 1);
    EXPECT(GUARD_ESITE, x.nsites = 1; x.sites = &s[1]); /* no INIT */
    s[3] = (struct guard_site_desc){ 0x40, GMETA_SITE_INIT };
    EXPECT(GUARD_ESITE, x.nsites = 4); /* two INIT */
    s[3] = (struct guard_site_desc){ 0x40, GMETA_SITE_DEINIT };
    EXPECT(GUARD_ESITE, x.nsites = 4); /* two DEINIT */
    s[3] = (struct guard_site_desc){ 0x40, (enum gmeta_site_kind)99 };
    EXPECT(GUARD_ESITE, x.nsites = 4); /* bad kind */
    s[3] = (struct guard_site_desc){ 0x100, GMETA_SITE_BORDER_IN_CALL };
    EXPECT(GUARD_ESITE, x.nsites = 4); /* beyond the text */
    s[3] = (struct guard_site_desc){ 0xfe, GMETA_SITE_BORDER_IN_CALL };
    EXPECT(GUARD_ESITE, x.nsites = 4); /* instruction overruns */
    s[3] = (struct guard_site_desc){ 0xfd, GMETA_SITE_BORDER_IN_CALL };
    EXPECT(0, x.nsites = 4); /* last 3 bytes: fine */
    guard_destroy(&g2);
    guard_init(&g2, &R, NULL);
    s[3] = (struct guard_site_desc){ 0x30, GMETA_SITE_BORDER_OUT_RET };
    EXPECT(GUARD_EDUP_SITE, x.nsites = 4); /* same offset twice */
    s[3] = (struct guard_site_desc){ 0x32, GMETA_SITE_BORDER_OUT_RET };
    EXPECT(GUARD_EDUP_SITE, x.nsites = 4); /* overlapping instructions */
    s[3] = (struct guard_site_desc){ 0x2f, GMETA_SITE_BORDER_OUT_RET };
    EXPECT(GUARD_EDUP_SITE, x.nsites = 4);
    s[3] = (struct guard_site_desc){ 0x33, GMETA_SITE_BORDER_OUT_RET };
    EXPECT(0, x.nsites = 4);
    EXPECT(GUARD_EEXIST, x.hash = gm_hash); /* same name */
    u8 h2[GUARD_HASH_LEN];
    memset(h2, 0x55, sizeof(h2));
    EXPECT(GUARD_EEXIST, x.name = "m2"); /* same hash */
    EXPECT(1, x.name = "m2"; x.hash = h2);
    /* a DEINIT-less module (cannot be unloaded) is accepted */
    memset(h2, 0x56, sizeof(h2));
    EXPECT(2, x.name = "m3"; x.hash = h2; x.nsites = 1);
    memset(h2, 0x57, sizeof(h2));
    EXPECT(3, x.name = "m4"; x.hash = h2);
    memset(h2, 0x58, sizeof(h2));
    EXPECT(4, x.name = "m5"; x.hash = h2); /* no fixed limit: a fifth */
    /* out of memory for the next module's state: refused, nothing half-added */
    memset(h2, 0x59, sizeof(h2));
    guard_mem_host_limit = guard_mem_host_live + 64;
    EXPECT(GUARD_EFULL, x.name = "m6"; x.hash = h2);
    guard_mem_host_limit = 0;
    assert_int_equal(guard_module_count(&g2), 5);
    EXPECT(5, x.name = "m6"; x.hash = h2);
#undef EXPECT
    assert_int_equal(guard_module_add(&g2, NULL), GUARD_EINVAL);
}

static void test_bind_errors(void **state)
{
    assert_int_equal(guard_bind_privilege(&G, GM, "fake"), GUARD_EEXIST);
    assert_int_equal(guard_bind_privilege(&G, GM, "disk"), GUARD_ENOPRIV);
    assert_int_equal(guard_bind_privilege(&G, GM, ""), GUARD_EINVAL);
    assert_int_equal(guard_bind_privilege(&G, GM, NULL), GUARD_EINVAL);
    assert_int_equal(guard_bind_privilege(&G, 3, "fake"), GUARD_EINVAL);
    static const struct privilege_ops ops = { NULL, NULL, fake_raise, fake_lower };
    privilege_register(&R, "p2", &ops, &F);
    privilege_register(&R, "p3", &ops, &F);
    static struct fake F4; /* its own state: p4 is raised while `fake` is held */
    memset(&F4, 0, sizeof(F4));
    privilege_register(&R, "p4", &ops, &F4);
    assert_int_equal(guard_bind_privilege(&G, GM, "p2"), GUARD_OK_RC);
    assert_int_equal(guard_bind_privilege(&G, GM, "p3"), GUARD_OK_RC);
    assert_int_equal(guard_bind_privilege(&G, GM, "p4"), GUARD_EFULL);
    struct guard_event e = ev_init(0, BASE2 + 0x10, other_hash, other_hash);
    ok(&e);
    /* Bound while registered, with vCPU 0 inside it (the INIT crossing): held at once. */
    int p4 = privilege_lookup(&R, "p4");
    assert_int_equal(guard_bind_privilege(&G, OTHER, "p4"), GUARD_OK_RC);
    assert_true(privilege_is_raised(&R, p4, 0));
    assert_int_equal(guard_bind_privilege(&G, OTHER, "p4"), GUARD_EEXIST);
    /* Unbound: lowered at once, the module keeps its other privileges. */
    assert_int_equal(guard_unbind_privilege(&G, OTHER, "p4"), GUARD_OK_RC);
    assert_false(privilege_is_raised(&R, p4, 0));
    assert_int_equal(G.mod[OTHER]->npriv, 1);
    assert_true(privilege_is_raised(&R, G.mod[OTHER]->privs[0], 0));
    assert_int_equal(guard_unbind_privilege(&G, OTHER, "p4"), GUARD_ENOTBOUND);
    assert_int_equal(guard_unbind_privilege(&G, OTHER, "disk"), GUARD_ENOPRIV);
    assert_int_equal(guard_unbind_privilege(&G, 3, "p4"), GUARD_EINVAL);
    /* Revoked: nothing can be bound to it again. */
    assert_int_equal(guard_revoke(&G, OTHER), GUARD_OK_RC);
    assert_false(privilege_is_raised(&R, G.mod[OTHER]->privs[0], 0));
    assert_int_equal(guard_bind_privilege(&G, OTHER, "p4"), GUARD_ESTATE);
}

/* ---------------------------------------------------------------- the site table */

static void test_site_lookup_every_offset(void **state)
{
    const struct guard_module *m = G.mod[GM];
    for (u32 off = 0; off < TLEN + 0x100; off++) {
        int want = -1;
        for (u32 i = 0; i < ARRAY_SIZE(gm_sites); i++)
            if (gm_sites[i].offset == off)
                want = (int)i;
        int got = guard_site_lookup(m, off);
        assert_int_equal(got, want);
        if (got >= 0)
            assert_int_equal(m->sites[got].kind, gm_sites[want].kind);
    }
    assert_int_equal(guard_site_lookup(m, 0xffffffffu), -1);
    assert_int_equal(guard_site_lookup(NULL, 0), -1);
}

static void test_site_lookup_full_table(void **state)
{
    /* the largest table: 2048 sites at irregular offsets over 1 MiB; every offset checked */
    static struct guard g2;
    static struct guard_site_desc s[GUARD_MAX_SITES];
    static u8 is_site[MiB(1)];
    memset(is_site, 0, sizeof(is_site));
    u32 off = 0x40;
    for (u32 i = 0; i < GUARD_MAX_SITES; i++) {
        s[i].offset = off;
        s[i].kind = i == 0 ? GMETA_SITE_INIT : (enum gmeta_site_kind)(GMETA_SITE_BORDER_IN_CALL + i % 4);
        is_site[off] = 1;
        off += 3 + (i * 2654435761u) % 500; /* 3 .. 502 bytes apart */
    }
    assert_true(off < MiB(1));
    u8 h[GUARD_HASH_LEN];
    memset(h, 0x66, sizeof(h));
    guard_destroy(&g2);
    guard_init(&g2, &R, NULL);
    struct guard_module_desc d = { "big", h, MiB(1), s, GUARD_MAX_SITES };
    int mi = guard_module_add(&g2, &d);
    assert_int_equal(mi, 0);
    const struct guard_module *m = g2.mod[mi];
    assert_int_equal(1u << m->slot_bits, 2 * GUARD_MAX_SITES);
    print_message("2048 sites: longest probe %u slots\n", m->max_probe + 1);
    assert_true(m->max_probe < 64);
    for (u32 o = 0; o < MiB(1); o++) {
        int got = guard_site_lookup(m, o);
        if (is_site[o]) {
            assert_true(got >= 0);
            assert_int_equal(m->sites[got].offset, o);
        } else {
            assert_int_equal(got, -1);
        }
    }
}

/* ---------------------------------------------------------------- counters and the log */

static void test_counters(void **state)
{
    struct guard_event e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    struct guard_result r;
    assert_int_equal(post(&e, &r), GUARD_OK);
    guard_account_cost(&G, &e, &r, 5000);
    for (int i = 0; i < 3; i++) {
        e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT, RSP1, RET1, 1);
        assert_int_equal(post(&e, &r), GUARD_OK);
        guard_account_cost(&G, &e, &r, 1000);
        e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, RET1, 1);
        assert_int_equal(post(&e, &r), GUARD_OK);
        guard_account_cost(&G, &e, &r, 1100);
    }
    e = ev_call(GUARD_EV_OUT_CALL, 0, BASE + S_XOUT_B, RSP1, RET1, 1);
    assert_int_equal(post(&e, &r), GUARD_OK);
    guard_account_cost(&G, &e, &r, 900);
    e = ev_call(GUARD_EV_IN_RET, 0, BASE + S_XIN, RSP1, RET1, 1); /* wrong wrapper: fine (same RSP) */
    assert_int_equal(post(&e, &r), GUARD_OK);
    e = hc(GUARD_EV_IN_CALL, 0, BASE + S_OUT, RSP0); /* suspicious: counted, not per site */
    assert_int_equal(post(&e, &r), GUARD_SUSPICIOUS);
    guard_account_cost(&G, &e, &r, 700);

    const struct guard_module *m = G.mod[GM];
    assert_int_equal(m->crossings[GUARD_EV_INIT], 1);
    assert_int_equal(m->crossings[GUARD_EV_OUT_CALL], 4);
    assert_int_equal(m->crossings[GUARD_EV_IN_RET], 4);
    assert_int_equal(m->crossings[GUARD_EV_IN_CALL], 0);
    assert_int_equal(G.stats.events[GUARD_EV_OUT_CALL], 4);
    assert_int_equal(G.stats.cycles[GUARD_EV_OUT_CALL], 3900);
    assert_int_equal(G.stats.cycles[GUARD_EV_IN_RET], 3300);
    assert_int_equal(G.stats.cycles[GUARD_EV_IN_CALL], 700);
    assert_int_equal(G.stats.suspicious[GUARD_SUSP_BAD_SITE], 1);
    int xout = guard_site_lookup(m, S_XOUT), xin = guard_site_lookup(m, S_XIN), xoutb = guard_site_lookup(m, S_XOUT_B);
    int init = guard_site_lookup(m, S_INIT), out = guard_site_lookup(m, S_OUT);
    assert_int_equal(m->sites[xout].count, 3);
    assert_int_equal(m->sites[xout].cycles, 3000);
    assert_int_equal(m->sites[xoutb].count, 1);
    assert_int_equal(m->sites[xoutb].cycles, 900);
    assert_int_equal(m->sites[xin].count, 4);
    assert_int_equal(m->sites[xin].cycles, 3300);
    assert_int_equal(m->sites[init].count, 1);
    assert_int_equal(m->sites[init].cycles, 5000);
    assert_int_equal(m->sites[out].count, 0);
    assert_int_equal(m->sites[out].cycles, 0);
    guard_account_cost(&G, NULL, &r, 1);
    guard_account_cost(NULL, &e, &r, 1);
}

static void test_log_ring(void **state)
{
    struct guard_event e;
    assert_null(guard_log_get(&G, 0));
    for (u32 i = 0; i < GUARD_LOG_SIZE + 10; i++) {
        e = hc(GUARD_EV_IN_CALL, i % GUARD_MAX_VCPUS, 0x1000 + i, RSP0);
        refused(&e, GUARD_SUSP_UNKNOWN_SITE, "");
    }
    assert_int_equal(guard_log_count(&G), GUARD_LOG_SIZE);
    const struct guard_log_entry *first = guard_log_get(&G, 0), *last = guard_log_get(&G, GUARD_LOG_SIZE - 1);
    assert_int_equal(first->seq, 11);
    assert_int_equal(first->rip, 0x1000 + 10);
    assert_int_equal(last->seq, GUARD_LOG_SIZE + 10);
    assert_int_equal(last->rip, 0x1000 + GUARD_LOG_SIZE + 9);
    assert_null(guard_log_get(&G, GUARD_LOG_SIZE));
    for (u32 i = 1; i < GUARD_LOG_SIZE; i++)
        assert_int_equal(guard_log_get(&G, i)->seq, guard_log_get(&G, i - 1)->seq + 1);
    assert_string_equal(guard_susp_name(GUARD_SUSP_STACK_MISMATCH), "stack-mismatch");
    assert_string_equal(guard_event_name(GUARD_EV_IRET), "border-in-rti");
    assert_string_equal(guard_state_name(GUARD_ST_OUT_INT), "OUT_INT");
    assert_string_equal(guard_site_kind_name(GMETA_SITE_BORDER_IN_RET), "in-ret");
    assert_string_equal(guard_susp_name((enum guard_susp)99), "?");
}

static void test_caller_bugs_ignored(void **state)
{
    struct guard_event e = hc(GUARD_EV_IN_CALL, GUARD_MAX_VCPUS, BASE + S_IN, RSP0);
    struct guard_result r;
    assert_int_equal(guard_event(&G, &e, &r), GUARD_IGNORED);
    e = hc((enum guard_event_kind)77, 0, 0, 0);
    assert_int_equal(guard_event(&G, &e, &r), GUARD_IGNORED);
    assert_int_equal(guard_event(&G, NULL, &r), GUARD_IGNORED);
    e = ev_init(0, BASE + S_INIT, gm_hash, gm_hash);
    assert_int_equal(guard_event(&G, &e, NULL), GUARD_OK); /* result optional */
    assert_int_equal(guard_log_count(&G), 0);
    assert_int_equal(guard_vcpu_state(&G, 0, 9), GUARD_ST_UNREGISTERED);
    assert_false(guard_privileged(&G, 99));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_state_event_table, setup),
        cmocka_unit_test_setup(test_cross_module, setup),
        cmocka_unit_test_setup(test_bad_sites, setup),
        cmocka_unit_test_setup(test_return_address_tampering, setup),
        cmocka_unit_test_setup(test_restored_return_address, setup),
        cmocka_unit_test_setup(test_stack_mismatches, setup),
        cmocka_unit_test_setup(test_checks_off, setup),
        cmocka_unit_test_setup(test_stack_ranges, setup),
        cmocka_unit_test_setup(test_interrupt_while_privileged, setup),
        cmocka_unit_test_setup(test_iret_tampering, setup),
        cmocka_unit_test_setup(test_paper_nesting, setup),
        cmocka_unit_test_setup(test_self_reentry_depth, setup),
        cmocka_unit_test_setup(test_sleeping_threads_migrate, setup),
        cmocka_unit_test_setup(test_two_vcpus_inside, setup),
        cmocka_unit_test_setup(test_module_calls_other_module, setup),
        cmocka_unit_test_setup(test_frame_table_full, setup),
        cmocka_unit_test_setup(test_stale_frame_replaced, setup),
        cmocka_unit_test_setup(test_frame_collisions, setup),
        cmocka_unit_test_setup(test_frame_hash_seed, setup),
        cmocka_unit_test_setup(test_interrupt_rip_chain, setup),
        cmocka_unit_test_setup(test_stale_interrupt_frame_replaced, setup),
        cmocka_unit_test_setup(test_frame_churn, setup),
        cmocka_unit_test_setup(test_result_fully_written, setup),
        cmocka_unit_test_setup(test_registration_checks, setup),
        cmocka_unit_test_setup(test_privilege_init_failure, setup),
        cmocka_unit_test_setup(test_deinit, setup),
        cmocka_unit_test_setup(test_revocation, setup),
        cmocka_unit_test_setup(test_module_add_errors, setup),
        cmocka_unit_test_setup(test_bind_errors, setup),
        cmocka_unit_test_setup(test_site_lookup_every_offset, setup),
        cmocka_unit_test_setup(test_site_lookup_full_table, setup),
        cmocka_unit_test_setup(test_counters, setup),
        cmocka_unit_test_setup(test_many_modules, setup),
        cmocka_unit_test_setup(test_log_ring, setup),
        cmocka_unit_test_setup(test_caller_bugs_ignored, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
