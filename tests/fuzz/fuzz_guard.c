/* FUZZ-SOURCES: hv/guard/guard.c tests/unit/guard_mem_host.c hv/guard/privilege.c */
/*
 * libFuzzer harness for the border-control state machine (hv/guard/guard.c) and the privilege registry
 * (hv/guard/privilege.c): arbitrary sequences of events against a fixed fixture.
 *
 * Fixture (as tests/unit/test_guard.c): modules "gm" (text 0x3000, ten sites) and "other" (text
 * 0x1000, six sites); privilege "fake" bound to both, "test" bound to gm; 2 vCPUs in use (events
 * on vCPUs 2..7 are decoded rarely, to exercise the range checks).
 *
 * Input: byte 0 selects the guard_config (bits 0-2) and a failing fake init (bit 3); then 8 bytes
 * per step:
 *   b0 step kind   (b0 % 13) 0..8 guard_event kinds, 9 guard_revoke, 10 guard_reinstate, 11 guard_locate,
 *                  12 a burst of b4+1 border-in call / border-out call (or int, b5 bit 0) pairs
 *   b1 vCPU        b1 & 1, or b1 & 7 when the top nibble is 0xf
 *   b2 address     bit 7 clear: module (bit 6) + one of its sites (b2 % nsites) at its fixed base;
 *                  bit 7 set: a raw address (off-site in the text, misaligned, user half, other)
 *   b3 RSP         one of 8 stack pointers, or (bit 7) one of 8192 derived from b3 and b7
 *   b4 return addr / vector
 *   b5 callee-saved seed (low 2 bits; value 3 picks a raw seed) and stack-digest choice
 *   b6 hashes (claimed/text good, bad, other module's, unknown), text-write module
 *   b7 return-slot choice, text-write address
 *
 * INVARIANTS, checked after every step (abort() on violation):
 *   - the fake component holds privilege for vCPU v exactly when guard_privileged(v); the test
 *     component exactly when v is INSIDE gm;
 *   - a vCPU goes from unprivileged to privileged (or changes module while privileged) only through
 *     a guard_event on that vCPU whose verdict is GUARD_OK with GUARD_ACT_RAISED; never after
 *     GUARD_SUSPICIOUS, IGNORED, an administrator call or guard_locate;
 *   - GUARD_SUSPICIOUS leaves ev->vcpu unprivileged and appends exactly one log entry;
 *     res.privileged agrees with guard_privileged(ev->vcpu);
 *   - the registry never raises a held privilege nor lowers one not held (checked in the fake's
 *     callbacks), and its raised_mask agrees with the fake's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "fuzz_guard: invariant violated: %s (line %d, step %u)\n", #c, __LINE__, step_no);         \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

static unsigned step_no;

#define BASE  0xffffffffc0a00000ull /* module "gm" text */
#define BASE2 0xffffffffc0b00000ull /* module "other" text */
#define TLEN  0x3000ull
#define TLEN2 0x1000ull

static const struct guard_site_desc gm_sites[] = {
    { 0x100, GMETA_SITE_INIT },
    { 0x200, GMETA_SITE_DEINIT },
    { 0x300, GMETA_SITE_BORDER_IN_CALL },
    { 0x310, GMETA_SITE_BORDER_OUT_RET },
    { 0x320, GMETA_SITE_BORDER_IN_CALL },
    { 0x330, GMETA_SITE_BORDER_OUT_RET },
    { 0x400, GMETA_SITE_BORDER_OUT_CALL },
    { 0x410, GMETA_SITE_BORDER_IN_RET },
    { 0x420, GMETA_SITE_BORDER_OUT_CALL },
    { 0x430, GMETA_SITE_BORDER_IN_RET },
};
static const struct guard_site_desc other_sites[] = {
    { 0x10, GMETA_SITE_INIT },           { 0x20, GMETA_SITE_DEINIT },          { 0x30, GMETA_SITE_BORDER_IN_CALL },
    { 0x40, GMETA_SITE_BORDER_OUT_RET }, { 0x50, GMETA_SITE_BORDER_OUT_CALL }, { 0x60, GMETA_SITE_BORDER_IN_RET },
};
static const struct {
    u64 base, len;
    const struct guard_site_desc *sites;
    u32 n;
} MODS[2] = {
    { BASE, TLEN, gm_sites, ARRAY_SIZE(gm_sites) },
    { BASE2, TLEN2, other_sites, ARRAY_SIZE(other_sites) },
};
static const u64 RSPS[8] = {
    0xffffc90000123f00ull, 0xffffc90000123e00ull, 0xffffc90000123d00ull, 0xffffc90000123c00ull,
    0xffffc90000456f00ull, 0xffffc90000456e00ull, 0xffffc90000123f08ull, 0x00007ffffffde000ull,
};

static u8 gm_hash[GUARD_HASH_LEN], other_hash[GUARD_HASH_LEN], bad_hash[GUARD_HASH_LEN];
static struct guard G;
static struct privilege_registry R;
static int FAKE_H, TEST_H;

/* The fake selective-privilege component. */
static struct {
    u32 mask;
    u32 active;
    u32 inits;
    bool fail_odd; /* config bit 3: every other init fails (registration refused) */
} F;
static int fake_init(void *s)
{
    (void)s;
    if (F.fail_odd && (F.inits++ & 1) == 0)
        return -1;
    F.active++;
    return 0;
}
static void fake_deinit(void *s)
{
    (void)s;
    CHECK(F.mask == 0); /* every vCPU lowered before deinit */
    F.active--;
}
static void fake_raise(u32 v, void *s)
{
    (void)s;
    CHECK(v < PRIV_MAX_VCPUS);
    CHECK(!(F.mask & (1u << v))); /* never raised twice */
    F.mask |= 1u << v;
}
static void fake_lower(u32 v, void *s)
{
    (void)s;
    CHECK(v < PRIV_MAX_VCPUS);
    CHECK(F.mask & (1u << v)); /* never lowered when not held */
    F.mask &= ~(1u << v);
}
static const struct privilege_ops fake_ops = { fake_init, fake_deinit, fake_raise, fake_lower };

static void fixture(u8 cfgbits)
{
    memset(&F, 0, sizeof(F));
    F.fail_odd = (cfgbits >> 3) & 1;
    memset(gm_hash, 0x11, sizeof(gm_hash));
    memset(other_hash, 0x22, sizeof(other_hash));
    memset(bad_hash, 0x33, sizeof(bad_hash));
    privilege_registry_init(&R);
    privilege_test_reset();
    FAKE_H = privilege_register(&R, "fake", &fake_ops, NULL);
    TEST_H = privilege_test_register(&R);
    CHECK(FAKE_H == 0 && TEST_H == 1);
    struct guard_config cfg = {
        .check_callee_saved = cfgbits & 1,
        .check_stack_digest = (cfgbits >> 1) & 1,
        .restore_return_address = (cfgbits >> 2) & 1,
    };
    guard_destroy(&G); /* the previous input's modules */
    guard_init(&G, &R, &cfg);
    struct guard_module_desc d = { "gm", gm_hash, TLEN, gm_sites, ARRAY_SIZE(gm_sites) };
    CHECK(guard_module_add(&G, &d) == 0);
    struct guard_module_desc d2 = { "other", other_hash, TLEN2, other_sites, ARRAY_SIZE(other_sites) };
    CHECK(guard_module_add(&G, &d2) == 1);
    CHECK(guard_bind_privilege(&G, 0, "fake") == GUARD_OK_RC);
    CHECK(guard_bind_privilege(&G, 0, "test") == GUARD_OK_RC);
    CHECK(guard_bind_privilege(&G, 1, "fake") == GUARD_OK_RC);
    /* The top four bits: 0 .. 15 more modules loaded (never registered: nothing claims their
     * hashes), so that gm and other sit among others in the grown module table and text-page hash. */
    static u8 extra_hash[16][GUARD_HASH_LEN];
    static const char *const extra_name[16] = { "x0", "x1", "x2",  "x3",  "x4",  "x5",  "x6",  "x7",
                                                "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15" };
    for (int i = 0; i < (cfgbits >> 4); i++) {
        memset(extra_hash[i], 0x80 + i, GUARD_HASH_LEN);
        struct guard_module_desc dx = { extra_name[i], extra_hash[i], TLEN2 * (1 + i % 3), other_sites,
                                        ARRAY_SIZE(other_sites) };
        CHECK(guard_module_add(&G, &dx) == 2 + i);
    }
}


static u64 decode_addr(u8 b2, u8 b7)
{
    int m = (b2 >> 6) & 1;
    if (!(b2 & 0x80))
        return MODS[m].base + MODS[m].sites[(b2 & 0x3f) % MODS[m].n].offset;
    switch (b2 & 7) {
    case 0:
        return MODS[m].base + (u64)(b2 & 0x38) * 0x40 + b7; /* off-site in text */
    case 1:
        return MODS[m].base + MODS[m].sites[b7 % MODS[m].n].offset + 1; /* misaligned site */
    case 2:
        return MODS[m].base + MODS[m].len + b7; /* just past text */
    case 3:
        return MODS[m].base - 0x1000 + MODS[m].sites[b7 % MODS[m].n].offset; /* shifted base */
    case 4:
        return 0x400000ull + MODS[m].sites[b7 % MODS[m].n].offset; /* user half */
    case 5:
        return 0xfffffffffffff000ull + MODS[m].sites[b7 % MODS[m].n].offset; /* wraps */
    case 6:
        return MODS[m].base + 0x200000 + MODS[m].sites[b7 % MODS[m].n].offset; /* another base */
    default:
        return ((u64)b7 << 56) | ((u64)b2 << 8);
    }
}

static const u8 *decode_hash(u8 sel, int m)
{
    switch (sel & 3) {
    case 0:
        return m ? other_hash : gm_hash;
    case 1:
        return m ? gm_hash : other_hash;
    case 2:
        return bad_hash;
    default:
        return gm_hash;
    }
}

static void check_state(const bool before[GUARD_MAX_VCPUS], const int mod_before[GUARD_MAX_VCPUS], int is_event,
                        const struct guard_event *ev, enum guard_verdict verdict, const struct guard_result *res,
                        u64 log_seq_before)
{
    u32 expect_mask = 0;
    for (u32 c = 0; c < GUARD_MAX_VCPUS; c++) {
        bool now = guard_privileged(&G, c);
        CHECK(now == (G.vcpu[c].module >= 0));
        if (now) {
            CHECK(G.vcpu[c].module < (int)guard_module_count(&G));
            CHECK(G.mod[G.vcpu[c].module]->state == GUARD_MOD_ACTIVE);
            CHECK(G.vcpu[c].depth >= 1);
            expect_mask |= 1u << c;
        }
        CHECK(((F.mask >> c) & 1) == now);
        CHECK(privilege_test_is_raised(c) == (G.vcpu[c].module == 0));
        CHECK(privilege_is_raised(&R, FAKE_H, c) == now);
        CHECK(guard_vcpu_state(&G, c, G.vcpu[c].module >= 0 ? G.vcpu[c].module : 0) != GUARD_ST_INSIDE || now);
        bool gained = now && (!before[c] || G.vcpu[c].module != mod_before[c]);
        if (gained) {
            CHECK(is_event);
            CHECK(c == ev->vcpu);
            CHECK(verdict == GUARD_OK);
            CHECK(res->actions & GUARD_ACT_RAISED);
        }
    }
    CHECK(F.mask == expect_mask);
    CHECK(R.e[FAKE_H].raised_mask == expect_mask);
    CHECK(guard_log_count(&G) <= GUARD_LOG_SIZE);
    if (!is_event) {
        CHECK(G.log_seq == log_seq_before);
        return;
    }
    CHECK(verdict == GUARD_OK || verdict == GUARD_IGNORED || verdict == GUARD_SUSPICIOUS);
    if (ev->vcpu >= GUARD_MAX_VCPUS)
        return;
    bool p = guard_privileged(&G, ev->vcpu);
    CHECK(res->privileged == p);
    if (verdict == GUARD_SUSPICIOUS) {
        CHECK(!p);
        CHECK(res->susp > GUARD_SUSP_NONE && res->susp < GUARD_SUSP_KINDS);
        CHECK(G.log_seq == log_seq_before + 1);
        const struct guard_log_entry *l = guard_log_get(&G, guard_log_count(&G) - 1);
        CHECK(l != NULL && l->seq == G.log_seq && l->kind == res->susp && l->detail != NULL);
        CHECK(memchr(l->module, 0, sizeof(l->module)) != NULL);
    } else {
        CHECK(G.log_seq == log_seq_before);
    }
    if (res->actions & GUARD_ACT_RAISED)
        CHECK(verdict == GUARD_OK && p);
    CHECK(res->module >= -1 && res->module < (int)guard_module_count(&G));
    CHECK(res->watch_iret == (G.int_frames > 0));
}

/* Post one event and check every invariant against the state just before it. */
static enum guard_verdict post(const struct guard_event *ev)
{
    bool before[GUARD_MAX_VCPUS];
    int mod_before[GUARD_MAX_VCPUS];
    for (u32 c = 0; c < GUARD_MAX_VCPUS; c++)
        before[c] = guard_privileged(&G, c), mod_before[c] = G.vcpu[c].module;
    u64 log_seq = G.log_seq;
    struct guard_result res;
    memset(&res, 0xa5, sizeof(res));
    enum guard_verdict v = guard_event(&G, ev, &res);
    check_state(before, mod_before, 1, ev, v, &res, log_seq);
    return v;
}

/* Step kind 12: a burst of b4 (1..256) border-in call / border-out call pairs of gm on one vCPU at
 * distinct stacks, without returning: fills the frame table (GUARD_MAX_FRAMES) in one step. */
static void burst(u32 vcpu, const u8 *b)
{
    unsigned n = (unsigned)b[4] + 1;
    for (unsigned i = 0; i < n; i++) {
        struct guard_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.kind = GUARD_EV_IN_CALL;
        ev.vcpu = vcpu;
        ev.rip = BASE + gm_sites[2].offset;
        ev.rsp = 0xffffc90001000000ull + ((u64)i << 12) + ((u64)b[3] << 24);
        post(&ev);
        ev.kind = (b[5] & 1) ? GUARD_EV_INTERRUPT : GUARD_EV_OUT_CALL;
        ev.rip = (b[5] & 1) ? BASE + 0x1500 : BASE + gm_sites[6].offset;
        ev.rsp -= 0x100;
        if (ev.kind == GUARD_EV_INTERRUPT) {
            ev.u.intr.vector = 0x20;
        } else {
            ev.u.call.ret_slot = ev.rsp + 8;
            ev.u.call.ret_addr = BASE + 0x1234;
            for (int k = 0; k < GUARD_NCALLEE; k++)
                ev.u.call.callee_saved[k] = (u64)k;
        }
        post(&ev);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    step_no = 0;
    fixture(data[0]);
    data++, size--;

    for (; size >= 8; data += 8, size -= 8, step_no++) {
        const u8 *b = data;
        bool before[GUARD_MAX_VCPUS];
        int mod_before[GUARD_MAX_VCPUS];
        for (u32 c = 0; c < GUARD_MAX_VCPUS; c++)
            before[c] = guard_privileged(&G, c), mod_before[c] = G.vcpu[c].module;
        u64 log_seq = G.log_seq;

        /* 0 .. GUARD_EV_KINDS-1: an event; then revoke, reinstate, locate; then a burst */
        enum { OP_REVOKE = GUARD_EV_KINDS, OP_REINSTATE, OP_LOCATE, OP_BURST, OPS };
        unsigned kind = b[0] % OPS;
        if (kind == OP_BURST) {
            burst((b[1] & 0xf0) == 0xf0 ? (u32)(b[1] & 7) : (u32)(b[1] & 1), b);
            continue;
        }
        u32 vcpu = (b[1] & 0xf0) == 0xf0 ? (u32)(b[1] & 7) : (u32)(b[1] & 1);
        u64 addr = decode_addr(b[2], b[7]);
        /* bit 7: one of 4096 distinct stacks (fills the frame table), else one of 8 fixed ones */
        u64 rsp =
            (b[3] & 0x80) ? 0xffffc90000800000ull + ((u64)(b[3] & 0x1f) << 12) + ((u64)b[7] << 4) : RSPS[b[3] & 7];
        int am = (b[2] >> 6) & 1; /* the module the address was derived from */

        if (kind >= GUARD_EV_KINDS) {
            int m = (int)(b[2] & 3) - ((b[2] & 4) ? 1 : 0); /* -1 .. 3 */
            if (kind == OP_REVOKE) {
                (void)guard_revoke(&G, m);
            } else if (kind == OP_REINSTATE) {
                (void)guard_reinstate(&G, m);
            } else {
                int lm = -7;
                u64 tb = 0, tl = 0;
                int rc = guard_locate(&G, addr, decode_hash(b[6], am), &lm, &tb, &tl);
                if (rc == GUARD_OK_RC) {
                    CHECK(lm >= 0 && lm < (int)guard_module_count(&G));
                    CHECK((tb & 0xfff) == 0 && tl == G.mod[lm]->text_len);
                    CHECK(addr >= tb && addr - tb < tl && tb + tl - 1 >= tb);
                }
            }
            check_state(before, mod_before, 0, NULL, GUARD_OK, NULL, log_seq);
            continue;
        }

        struct guard_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.kind = (enum guard_event_kind)kind;
        ev.vcpu = vcpu;
        ev.rip = addr;
        ev.rsp = rsp;
        switch (ev.kind) {
        case GUARD_EV_INIT:
            memcpy(ev.u.init.claimed_hash, decode_hash(b[6], am), GUARD_HASH_LEN);
            memcpy(ev.u.init.text_hash, (b[6] & 4) ? bad_hash : decode_hash(b[6], am), GUARD_HASH_LEN);
            if ((b[6] & 0x18) == 0x18)
                memcpy(ev.u.init.text_hash, decode_hash(0, am), GUARD_HASH_LEN);
            break;
        case GUARD_EV_OUT_CALL:
        case GUARD_EV_IN_RET: {
            static const u64 rets[4] = { BASE + 0x1234, BASE + 0x1240, BASE2 + 0x234, 0xffffffff81000000ull };
            ev.u.call.ret_slot = (b[7] & 1) ? rsp + 0x10 : rsp + 8;
            ev.u.call.ret_addr = (b[4] & 0x80) ? ((u64)b[4] << 40 | b[7]) : rets[b[4] & 3];
            u64 seed = (b[5] & 3) == 3 ? (u64)b[5] << 20 : (u64)(b[5] & 3);
            for (int i = 0; i < GUARD_NCALLEE; i++)
                ev.u.call.callee_saved[i] = seed + (u64)i;
            ev.u.call.stack_digest = (b[5] & 4) ? (u64)b[7] : seed * 7;
            break;
        }
        case GUARD_EV_INTERRUPT:
            ev.u.intr.vector = b[4];
            break;
        case GUARD_EV_TEXT_WRITE:
            ev.u.write.module = (int)(b[6] % 6) - 1; /* -1 .. 4: out-of-range included */
            ev.u.write.addr = addr;
            break;
        default:
            break;
        }
        struct guard_result res;
        memset(&res, 0xa5, sizeof(res));
        enum guard_verdict v = guard_event(&G, &ev, &res);
        check_state(before, mod_before, 1, &ev, v, &res, log_seq);
        guard_account_cost(&G, &ev, &res, b[7]);
        u64 top;
        (void)guard_stack_top(&G, vcpu, &top);
        (void)guard_pending_stack_top(&G, rsp, &top);
        (void)guard_module_at(&G, addr);
        for (u32 i = 0; i < guard_log_count(&G); i++)
            CHECK(guard_log_get(&G, i) != NULL);
    }
    return 0;
}
