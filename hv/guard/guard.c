/*
 * Border control state machine for guarded modules (docs/border-control.md). Pure logic: the exit
 * handler passes decoded facts in a struct guard_event; nothing here touches guest memory, the
 * VMCB or the nested page tables.
 *
 * Reading guide: guard_event() is the transition function. It resolves the event's site, then
 * dispatches on the event kind to one small function per kind; each of those is a switch on the
 * vCPU's state (OUTSIDE / INSIDE this module / INSIDE another module) written so that every
 * (state, event) pair ends in exactly one of: a valid transition, "ignored", or suspicious().
 * suspicious() is the single place that reacts to an invalid event: lower this vCPU, log once.
 */
#include "guard/guard.h"
#include "lib/lib.h"

/* ---------------------------------------------------------------- site table (O(1) lookup)
 *
 * Choice: an open-addressing hash set of site offsets per module, built once when the metadata is
 * added, Fibonacci hashing, linear probing, load factor <= 1/2. Why not the alternatives:
 *   - a sorted array with binary search is O(log n) per crossing;
 *   - a bitmap with one bit per text byte is O(1) worst case but costs text_len/8 bytes per module
 *     (512 KiB for a 4 MiB text) and still needs a rank structure to reach per-site counters.
 * The hash set costs 2 bytes per slot (8 KiB per module at the maximum of 2048 sites) and its worst
 * case is bounded and known: the longest probe sequence of the stored offsets is measured while
 * building (max_probe), so a lookup never inspects more than max_probe + 1 slots. Offsets are fixed
 * by the trusted metadata, so the guest cannot make the probe sequences longer at run time.
 */

static u32 site_hash(u32 offset, u32 bits) { return (u32)(offset * 0x9e3779b1u) >> (32 - bits); }

/* The lookup proper, inlined on the crossing path (m valid, nsites >= 1 once added). */
static inline int site_lookup(const struct guard_module *m, u32 offset)
{
    u32 mask = (1u << m->slot_bits) - 1;
    u32 i = site_hash(offset, m->slot_bits);
    for (u32 p = 0; p <= m->max_probe; p++, i = (i + 1) & mask) {
        u16 s = m->slots[i];
        if (s == 0)
            return -1;
        if (m->sites[s - 1].offset == offset)
            return s - 1;
    }
    return -1;
}

int guard_site_lookup(const struct guard_module *m, u32 offset)
{
    if (!m || m->nsites == 0)
        return -1;
    return site_lookup(m, offset);
}

/* Insert site index idx; GUARD_EDUP_SITE if its offset is already present. */
static int site_insert(struct guard_module *m, u32 idx)
{
    u32 mask = (1u << m->slot_bits) - 1;
    u32 off = m->sites[idx].offset;
    u32 i = site_hash(off, m->slot_bits);
    for (u32 p = 0; p <= mask; p++, i = (i + 1) & mask) {
        u16 s = m->slots[i];
        if (s == 0) {
            m->slots[i] = (u16)(idx + 1);
            if (p > m->max_probe)
                m->max_probe = p;
            return GUARD_OK_RC;
        }
        if (m->sites[s - 1].offset == off)
            return GUARD_EDUP_SITE;
    }
    return GUARD_EFULL; /* unreachable: load factor <= 1/2 */
}

/* ---------------------------------------------------------------- names */

const char *guard_susp_name(enum guard_susp k)
{
    static const char *const names[GUARD_SUSP_KINDS] = {
        [GUARD_SUSP_NONE] = "none",
        [GUARD_SUSP_UNKNOWN_SITE] = "unknown-site",
        [GUARD_SUSP_BAD_SITE] = "bad-site",
        [GUARD_SUSP_UNKNOWN_MODULE] = "unknown-module",
        [GUARD_SUSP_BAD_REGISTRATION] = "bad-registration",
        [GUARD_SUSP_HASH_MISMATCH] = "hash-mismatch",
        [GUARD_SUSP_TEXT_WRITE] = "text-write",
        [GUARD_SUSP_STACK_MISMATCH] = "stack-mismatch",
        [GUARD_SUSP_UNMATCHED] = "unmatched",
        [GUARD_SUSP_CROSS_MODULE] = "cross-module",
        [GUARD_SUSP_REVOKED] = "revoked",
        [GUARD_SUSP_NO_SPACE] = "no-space",
    };
    return (unsigned)k < GUARD_SUSP_KINDS ? names[k] : "?";
}

const char *guard_event_name(enum guard_event_kind k)
{
    static const char *const names[GUARD_EV_KINDS] = {
        [GUARD_EV_INIT] = "init",
        [GUARD_EV_DEINIT] = "deinit",
        [GUARD_EV_IN_CALL] = "border-in-call",
        [GUARD_EV_OUT_RET] = "border-out-ret",
        [GUARD_EV_OUT_CALL] = "border-out-call",
        [GUARD_EV_IN_RET] = "border-in-ret",
        [GUARD_EV_INTERRUPT] = "border-out-int",
        [GUARD_EV_IRET] = "border-in-rti",
        [GUARD_EV_TEXT_WRITE] = "text-write",
        [GUARD_EV_FETCH] = "border-in-fetch",
    };
    return (unsigned)k < GUARD_EV_KINDS ? names[k] : "?";
}

const char *guard_state_name(enum guard_state s)
{
    switch (s) {
    case GUARD_ST_UNREGISTERED:
        return "UNREGISTERED";
    case GUARD_ST_OUTSIDE:
        return "OUTSIDE";
    case GUARD_ST_INSIDE:
        return "INSIDE";
    case GUARD_ST_OUT_CALL:
        return "OUT_CALL";
    case GUARD_ST_OUT_INT:
        return "OUT_INT";
    case GUARD_ST_DEAD:
        return "DEAD";
    }
    return "?";
}

const char *guard_site_kind_name(enum gmeta_site_kind k)
{
    static const char *const names[GUARD_SITE_KINDS] = {
        [GMETA_SITE_INIT] = "init",
        [GMETA_SITE_DEINIT] = "deinit",
        [GMETA_SITE_BORDER_IN_CALL] = "in-call",
        [GMETA_SITE_BORDER_OUT_RET] = "out-ret",
        [GMETA_SITE_BORDER_OUT_CALL] = "out-call",
        [GMETA_SITE_BORDER_IN_RET] = "in-ret",
    };
    return guard_site_kind_valid(k) ? names[k] : "?";
}

/* ---------------------------------------------------------------- administrator side */

void guard_init(struct guard *g, struct privilege_registry *privs, const struct guard_config *cfg)
{
    memset(g, 0, sizeof(*g));
    g->privs = privs;
    if (cfg)
        g->cfg = *cfg;
    for (u32 v = 0; v < GUARD_MAX_VCPUS; v++)
        g->vcpu[v].module = -1;
    memset(g->frame_by_rsp, GUARD_FRAME_NIL, sizeof(g->frame_by_rsp));
    memset(g->int_by_rip, GUARD_FRAME_NIL, sizeof(g->int_by_rip));
    for (u32 f = 0; f < GUARD_MAX_FRAMES; f++)
        g->frame[f].next = f + 1 < GUARD_MAX_FRAMES ? (u8)(f + 1) : GUARD_FRAME_NIL;
    g->frame_free = 0;
    g->text_last = -1;
    g->frame_hash_mult = (g->cfg.frame_hash_seed ? g->cfg.frame_hash_seed : 0x9e3779b97f4a7c15ull) | 1;
}

void guard_destroy(struct guard *g)
{
    for (u32 i = 0; i < g->nmod; i++)
        guard_mem_free(g->mod[i], g->mod[i]->alloc_bytes);
    if (g->mod)
        guard_mem_free(g->mod, g->mod_cap * sizeof(g->mod[0]));
    if (g->text)
        guard_mem_free(g->text, ((u64)1 << g->text_bits) * sizeof(g->text[0]));
    g->mod = NULL;
    g->text = NULL;
    g->nmod = g->mod_cap = 0;
    g->text_bits = g->text_max_probe = 0;
    g->text_last = -1;
    g->text_pages = g->mem_bytes = 0;
}

static bool module_ok(const struct guard *g, int m) { return m >= 0 && (u32)m < g->nmod; }

/* ---------------------------------------------------------------- text pages (O(1) module_at)
 *
 * Choice: which module's text holds an address is asked on every crossing hypercall and every
 * fetch fault. A scan over the modules costs O(modules), which was fine for a fixed 4 but not for
 * "any number"; a sorted array of text ranges costs O(log modules). A hash of text pages answers in
 * one probe sequence whatever the number of modules: an entry per text page (16 bytes; a 64 KiB
 * text takes 16 entries), sized when metadata is added from each module's text length so that
 * registration (an event) never allocates, and bounded like the site hash by the longest probe
 * sequence measured while inserting. Texts are page-aligned and never overlap, so a page belongs
 * to at most one registered module.
 */

static u32 text_hash(const struct guard *g, u64 page)
{
    return (u32)((page * g->frame_hash_mult) >> (64 - g->text_bits));
}

static u64 text_pages_of(u64 text_len) { return (text_len + PAGE_SIZE - 1) / PAGE_SIZE; }

static void text_insert(struct guard *g, u64 page, int m)
{
    u32 mask = (1u << g->text_bits) - 1;
    u32 i = text_hash(g, page);
    for (u32 p = 0; p <= mask; p++, i = (i + 1) & mask) {
        if (g->text[i].page == 0) {
            g->text[i].page = page;
            g->text[i].module = m;
            if (p > g->text_max_probe)
                g->text_max_probe = p;
            return;
        }
    }
    /* unreachable: at least twice as many slots as the pages of every module added */
}

/* Every known text's pages into the (cleared) table. */
static void text_fill(struct guard *g)
{
    memset(g->text, 0, ((u64)1 << g->text_bits) * sizeof(g->text[0]));
    g->text_max_probe = 0;
    for (u32 m = 0; m < g->nmod; m++) {
        const struct guard_module *mod = g->mod[m];
        if (!mod->text_known)
            continue;
        for (u64 pg = 0; pg < text_pages_of(mod->text_len); pg++)
            text_insert(g, (mod->text_base >> PAGE_SHIFT) + pg, (int)m);
    }
}

/* Room for `more` text pages on top of those of every module added: the table grows (and is
 * refilled) when it would be more than half full. False when out of memory (nothing changed). */
static bool text_reserve(struct guard *g, u64 more)
{
    u64 need = 2 * (g->text_pages + more);
    u32 bits = g->text ? g->text_bits : 4;
    while (((u64)1 << bits) < need)
        bits++;
    if (bits > 31)
        return false;
    if (g->text && bits == g->text_bits)
        return true;
    struct guard_text_slot *t = guard_mem_alloc(((u64)1 << bits) * sizeof(*t));
    if (!t)
        return false;
    if (g->text) {
        guard_mem_free(g->text, ((u64)1 << g->text_bits) * sizeof(g->text[0]));
        g->mem_bytes -= ((u64)1 << g->text_bits) * sizeof(g->text[0]);
    }
    g->text = t;
    g->text_bits = bits;
    g->mem_bytes += ((u64)1 << bits) * sizeof(*t);
    text_fill(g);
    return true;
}

/* Room for one more module in the table of modules (doubling). */
static bool mod_reserve(struct guard *g)
{
    if (g->nmod < g->mod_cap)
        return true;
    u32 cap = g->mod_cap ? 2 * g->mod_cap : 8;
    struct guard_module **t = guard_mem_alloc((u64)cap * sizeof(*t));
    if (!t)
        return false;
    if (g->mod) {
        memcpy(t, g->mod, g->nmod * sizeof(*t));
        guard_mem_free(g->mod, g->mod_cap * sizeof(*t));
        g->mem_bytes -= g->mod_cap * sizeof(*t);
    }
    g->mod = t;
    g->mod_cap = cap;
    g->mem_bytes += (u64)cap * sizeof(*t);
    return true;
}

int guard_module_add(struct guard *g, const struct guard_module_desc *d)
{
    if (!g || !d || !d->name || !d->hash || !d->sites)
        return GUARD_EINVAL;
    size_t nl = strnlen(d->name, GUARD_NAME_MAX);
    if (nl == 0 || nl >= GUARD_NAME_MAX || d->text_len == 0 || d->text_len > GUARD_MAX_TEXT)
        return GUARD_EINVAL;
    if (d->nsites == 0 || d->nsites > GUARD_MAX_SITES)
        return GUARD_ESITE;
    for (u32 i = 0; i < g->nmod; i++)
        if (strcmp(g->mod[i]->name, d->name) == 0 || memcmp(g->mod[i]->hash, d->hash, GUARD_HASH_LEN) == 0)
            return GUARD_EEXIST;

    /* One allocation: the header, the site table, the site hash (a power of two >= 2 * nsites). */
    u32 slot_bits = 4;
    while ((1u << slot_bits) < 2 * d->nsites)
        slot_bits++;
    u64 sites_at = ALIGN_UP(sizeof(struct guard_module), 8);
    u64 slots_at = sites_at + (u64)d->nsites * sizeof(struct guard_site);
    u64 bytes = slots_at + ((u64)1 << slot_bits) * sizeof(u16);
    if (!mod_reserve(g) || !text_reserve(g, text_pages_of(d->text_len)))
        return GUARD_EFULL;
    struct guard_module *m = guard_mem_alloc(bytes);
    if (!m)
        return GUARD_EFULL;
    m->alloc_bytes = bytes;
    m->sites = (struct guard_site *)((u8 *)m + sites_at);
    m->slots = (u16 *)((u8 *)m + slots_at);
    memcpy(m->name, d->name, nl + 1);
    memcpy(m->hash, d->hash, GUARD_HASH_LEN);
    m->text_len = d->text_len;
    m->slot_bits = slot_bits;

    u32 inits = 0, deinits = 0;
    int rc = GUARD_OK_RC;
    for (u32 i = 0; i < d->nsites && rc == GUARD_OK_RC; i++) {
        const struct guard_site_desc *s = &d->sites[i];
        if (!guard_site_kind_valid(s->kind) || (u64)s->offset + GUARD_HYPERCALL_LEN > d->text_len) {
            rc = GUARD_ESITE;
            break;
        }
        inits += s->kind == GMETA_SITE_INIT;
        deinits += s->kind == GMETA_SITE_DEINIT;
        if (s->kind == GMETA_SITE_INIT)
            m->init_offset = s->offset;
        m->sites[i].offset = s->offset;
        m->sites[i].kind = (u8)s->kind;
        m->nsites = i + 1;
        rc = site_insert(m, i);
    }
    if (rc == GUARD_OK_RC && (inits != 1 || deinits > 1))
        rc = GUARD_ESITE;
    /* Two hypercall instructions cannot overlap: a site 1 or 2 bytes after another is malformed. */
    for (u32 i = 0; i < m->nsites && rc == GUARD_OK_RC; i++)
        if (guard_site_lookup(m, m->sites[i].offset + 1) >= 0 || guard_site_lookup(m, m->sites[i].offset + 2) >= 0)
            rc = GUARD_EDUP_SITE;
    if (rc != GUARD_OK_RC) {
        guard_mem_free(m, bytes);
        return rc;
    }
    m->used = true;
    m->state = GUARD_MOD_UNREGISTERED;
    g->mod[g->nmod] = m;
    g->text_pages += text_pages_of(d->text_len);
    g->mem_bytes += bytes;
    return (int)g->nmod++;
}

int guard_bind_privilege(struct guard *g, int module, const char *priv_name)
{
    if (!g || !module_ok(g, module) || !priv_name)
        return GUARD_EINVAL;
    struct guard_module *m = g->mod[module];
    if (m->state == GUARD_MOD_DEAD)
        return GUARD_ESTATE;
    int h = privilege_lookup(g->privs, priv_name);
    if (h < 0)
        return h == PRIV_EINVAL ? GUARD_EINVAL : GUARD_ENOPRIV;
    for (u32 i = 0; i < m->npriv; i++)
        if (m->privs[i] == h)
            return GUARD_EEXIST;
    if (m->npriv == GUARD_MAX_PRIVS)
        return GUARD_EFULL;
    /* A registered module's privileges are active (registration activated them): a new one is
     * activated now, and a vCPU inside the module holds it from now on, as if it had been bound
     * at its border-in. */
    if (m->state == GUARD_MOD_ACTIVE) {
        if (privilege_activate(g->privs, h) != PRIV_OK)
            return GUARD_EINVAL;
        for (u32 v = 0; v < GUARD_MAX_VCPUS; v++)
            if (g->vcpu[v].module == module)
                privilege_raise(g->privs, h, v);
    }
    m->privs[m->npriv++] = h;
    return GUARD_OK_RC;
}

int guard_unbind_privilege(struct guard *g, int module, const char *priv_name)
{
    if (!g || !module_ok(g, module) || !priv_name)
        return GUARD_EINVAL;
    struct guard_module *m = g->mod[module];
    int h = privilege_lookup(g->privs, priv_name);
    if (h < 0)
        return h == PRIV_EINVAL ? GUARD_EINVAL : GUARD_ENOPRIV;
    for (u32 i = 0; i < m->npriv; i++) {
        if (m->privs[i] != h)
            continue;
        /* Lowered at once on every vCPU inside the module; the module keeps its other privileges. */
        for (u32 v = 0; v < GUARD_MAX_VCPUS; v++)
            if (g->vcpu[v].module == module)
                privilege_lower(g->privs, h, v);
        if (m->state == GUARD_MOD_ACTIVE)
            privilege_deactivate(g->privs, h);
        memmove(&m->privs[i], &m->privs[i + 1], (m->npriv - i - 1) * sizeof(m->privs[0]));
        m->npriv--;
        return GUARD_OK_RC;
    }
    return GUARD_ENOTBOUND;
}

/* ---------------------------------------------------------------- privilege and vCPU helpers */

/* enter/leave/valid and what they call run on every crossing: inlined (a call costs a dozen
 * register saves and restores; tests/bench/guard.sh). */
#define CROSSING_INLINE static inline __attribute__((always_inline))

/* Handles were checked when bound (privilege_lookup), vCPUs when the event entered guard_event. */
CROSSING_INLINE void raise_module(struct guard *g, int m, u32 v)
{
    const struct guard_module *mod = g->mod[m];
    for (u32 i = 0; i < mod->npriv; i++)
        privilege_raise_checked(g->privs, mod->privs[i], v);
}

CROSSING_INLINE void lower_module(struct guard *g, int m, u32 v)
{
    const struct guard_module *mod = g->mod[m];
    for (u32 i = 0; i < mod->npriv; i++)
        privilege_lower_checked(g->privs, mod->privs[i], v);
}

/* OUTSIDE -> INSIDE(m): the only place privilege is raised. */
CROSSING_INLINE void enter(struct guard *g, u32 v, int m, u32 depth, u64 stack_top, struct guard_result *res)
{
    g->vcpu[v].module = m;
    g->vcpu[v].depth = depth;
    g->vcpu[v].stack_top = stack_top;
    raise_module(g, m, v);
    res->actions |= GUARD_ACT_RAISED;
}

/* INSIDE(any) -> OUTSIDE: the only place privilege is lowered on one vCPU. */
CROSSING_INLINE void leave(struct guard *g, u32 v, struct guard_result *res)
{
    int m = g->vcpu[v].module;
    if (m < 0)
        return;
    lower_module(g, m, v);
    g->vcpu[v].module = -1;
    g->vcpu[v].depth = 0;
    g->vcpu[v].stack_top = 0;
    res->actions |= GUARD_ACT_LOWERED;
}

static void frame_free(struct guard *g, int f);

/* Module m stops being registered (deinit or revocation): no vCPU keeps its privilege, no frame
 * of it can be returned to, its privileges are deactivated. */
static void module_teardown(struct guard *g, int m, struct guard_result *res)
{
    for (u32 v = 0; v < GUARD_MAX_VCPUS; v++)
        if (g->vcpu[v].module == m)
            leave(g, v, res);
    for (int f = 0; f < GUARD_MAX_FRAMES; f++)
        if (g->frame[f].kind != GUARD_FRAME_FREE && g->frame[f].module == m)
            frame_free(g, f);
    for (u32 i = 0; i < g->mod[m]->npriv; i++)
        privilege_deactivate(g->privs, g->mod[m]->privs[i]);
}

static void revoke(struct guard *g, int m, struct guard_result *res)
{
    struct guard_module *mod = g->mod[m];
    if (mod->state == GUARD_MOD_ACTIVE)
        module_teardown(g, m, res);
    mod->state = GUARD_MOD_DEAD;
}

int guard_revoke(struct guard *g, int module)
{
    if (!g || !module_ok(g, module))
        return GUARD_EINVAL;
    struct guard_result res = { 0 };
    revoke(g, module, &res);
    return GUARD_OK_RC;
}

int guard_reinstate(struct guard *g, int module)
{
    if (!g || !module_ok(g, module))
        return GUARD_EINVAL;
    struct guard_module *m = g->mod[module];
    if (m->state == GUARD_MOD_ACTIVE || m->text_known)
        return GUARD_EBUSY;
    m->state = GUARD_MOD_UNREGISTERED;
    return GUARD_OK_RC;
}

/* ---------------------------------------------------------------- frames (outstanding border-outs) */

/*
 * Choice: the outstanding frames sit in a fixed array; every live frame is on one chain of a hash
 * table keyed by its RSP (an RSP identifies at most one live frame: see frame_new), every INT frame
 * also on a chain keyed by the interrupted RIP (an IRET to that RIP with another RSP is an attack to
 * report), and free frames on a free list. Links are u8 frame indices. With 256 buckets for at most
 * 128 frames a lookup touches one or two frames; a guest choosing colliding RSPs can make one chain
 * as long as the table (the old linear scan's cost, bounded), never longer. Freeing unlinks and marks
 * the frame free without clearing it: its record stays readable until the next border-out.
 */
_Static_assert(GUARD_MAX_FRAMES < GUARD_FRAME_NIL, "frame links are u8 with GUARD_FRAME_NIL as end");
_Static_assert((GUARD_FRAME_BUCKETS & (GUARD_FRAME_BUCKETS - 1)) == 0 && GUARD_FRAME_BUCKETS >= 2 * GUARD_MAX_FRAMES,
               "frame buckets: a power of two, load <= 1/2");

static u32 frame_hash(const struct guard *g, u64 key)
{
    /* Multiply-shift: stack slots are 8-byte aligned and neighbouring frames a few hundred bytes
     * apart; the top bits of the product spread them. The multiplier is odd and, when the caller
     * gives a seed (guard_config.frame_hash_seed), secret: a guest cannot choose RSPs that share a
     * chain without knowing it. Without a seed it is Fibonacci hashing's constant. */
    return (u32)((key * g->frame_hash_mult) >> (64 - __builtin_ctz(GUARD_FRAME_BUCKETS)));
}

/* The link (bucket head or a frame's `next`) that holds the outstanding frame at this RSP, CALL or
 * INT, or the chain's terminating link (holding GUARD_FRAME_NIL) when there is none. */
static u8 *frame_link(struct guard *g, u64 rsp)
{
    u8 *link = &g->frame_by_rsp[frame_hash(g, rsp)];
    while (*link != GUARD_FRAME_NIL && g->frame[*link].rsp != rsp)
        link = &g->frame[*link].next;
    return link;
}

/* The outstanding frame at this RSP, or -1 (read-only callers). */
static int frame_at(const struct guard *g, u64 rsp)
{
    for (u8 f = g->frame_by_rsp[frame_hash(g, rsp)]; f != GUARD_FRAME_NIL; f = g->frame[f].next)
        if (g->frame[f].rsp == rsp)
            return f;
    return -1;
}

/* Unlink the frame *link points to (from frame_link) and put it on the free list. */
static void frame_release(struct guard *g, u8 *link)
{
    u8 f = *link;
    struct guard_frame *fr = &g->frame[f];
    *link = fr->next;
    if (fr->kind == GUARD_FRAME_INT) {
        u8 *l = &g->int_by_rip[frame_hash(g, fr->rip)];
        while (*l != f)
            l = &g->frame[*l].next_rip;
        *l = fr->next_rip;
        g->int_frames--;
    }
    fr->kind = GUARD_FRAME_FREE;
    fr->next = g->frame_free;
    g->frame_free = f;
}

static void frame_free(struct guard *g, int f)
{
    u8 *link = &g->frame_by_rsp[frame_hash(g, g->frame[f].rsp)];
    while (*link != f)
        link = &g->frame[*link].next;
    frame_release(g, link);
}

/* A new frame keyed by this RSP, linked in (the caller fills in the rest), or NULL when the table is
 * full. A live frame's stack slot cannot be shared with a newer border-out (another thread has
 * another stack; the same thread's newer frames are deeper), so an old frame with the same RSP
 * belongs to a thread that never came back: it is replaced. */
static struct guard_frame *frame_new(struct guard *g, u8 kind, u64 rsp, u64 rip)
{
    u8 *link = frame_link(g, rsp);
    if (*link != GUARD_FRAME_NIL) {
        g->stats.stale_frames++;
        frame_release(g, link);
    }
    u8 f = g->frame_free;
    if (f == GUARD_FRAME_NIL)
        return NULL;
    struct guard_frame *fr = &g->frame[f];
    g->frame_free = fr->next;
    fr->kind = kind;
    fr->rsp = rsp;
    fr->rip = rip;
    u8 *head = &g->frame_by_rsp[frame_hash(g, rsp)];
    fr->next = *head;
    *head = f;
    if (kind == GUARD_FRAME_INT) {
        head = &g->int_by_rip[frame_hash(g, rip)];
        fr->next_rip = *head;
        *head = f;
        g->int_frames++;
    }
    fr->seq = ++g->frame_seq;
    return fr;
}

static bool int_frame_at_rip(const struct guard *g, u64 rip)
{
    for (u8 f = g->int_by_rip[frame_hash(g, rip)]; f != GUARD_FRAME_NIL; f = g->frame[f].next_rip)
        if (g->frame[f].rip == rip)
            return true;
    return false;
}

/* ---------------------------------------------------------------- lookups */

static inline int module_at(const struct guard *g, u64 gva)
{
    if (!g->text)
        return -1;
    u64 page = gva >> PAGE_SHIFT;
    u32 mask = (1u << g->text_bits) - 1;
    u32 i = text_hash(g, page);
    for (u32 p = 0; p <= g->text_max_probe; p++, i = (i + 1) & mask) {
        const struct guard_text_slot *t = &g->text[i];
        if (t->page == 0)
            return -1;
        if (t->page == page) {
            const struct guard_module *m = g->mod[t->module];
            return gva - m->text_base < m->text_len ? t->module : -1; /* the last page's tail is not text */
        }
    }
    return -1;
}

int guard_module_at(const struct guard *g, u64 gva) { return module_at(g, gva); }

/* module_at on the crossing path: the module the last crossing was in first (a driver's crossings
 * come in runs: one range check instead of the hash), then the hash. */
static inline int module_at_crossing(struct guard *g, u64 gva)
{
    int m = g->text_last;
    if (m >= 0) {
        const struct guard_module *mod = g->mod[m];
        if (gva - mod->text_base < mod->text_len && mod->text_known)
            return m;
    }
    m = module_at(g, gva);
    if (m >= 0)
        g->text_last = m;
    return m;
}

bool guard_int_frame_at(struct guard *g, u64 rip, u64 rsp)
{
    u8 f = *frame_link(g, rsp);
    return f != GUARD_FRAME_NIL && g->frame[f].kind == GUARD_FRAME_INT && g->frame[f].rip == rip;
}

int guard_locate(const struct guard *g, u64 site, const u8 claimed_hash[GUARD_HASH_LEN], int *module, u64 *text_base,
                 u64 *text_len)
{
    if (!g || !claimed_hash)
        return GUARD_EINVAL;
    int m = -1;
    for (u32 i = 0; i < g->nmod && m < 0; i++)
        if (memcmp(g->mod[i]->hash, claimed_hash, GUARD_HASH_LEN) == 0)
            m = (int)i;
    if (module)
        *module = m;
    if (m < 0)
        return GUARD_EUNKNOWN;
    const struct guard_module *mod = g->mod[m];
    if (mod->state != GUARD_MOD_UNREGISTERED || mod->text_known)
        return GUARD_ESTATE;
    if (site < GUARD_KERNEL_BASE)
        return GUARD_EUSER;
    u64 base = site - mod->init_offset;
    if (base < GUARD_KERNEL_BASE)
        return GUARD_EUSER;
    if (!IS_ALIGNED(base, PAGE_SIZE))
        return GUARD_EALIGN;
    u64 last = base + mod->text_len - 1;
    if (last < base)
        return GUARD_EOVERFLOW;
    for (u32 i = 0; i < g->nmod; i++) {
        const struct guard_module *o = g->mod[i];
        if ((int)i != m && o->text_known && base <= o->text_base + o->text_len - 1 && o->text_base <= last)
            return GUARD_EOVERLAP;
    }
    if (text_base)
        *text_base = base;
    if (text_len)
        *text_len = mod->text_len;
    return GUARD_OK_RC;
}

bool guard_stack_top(const struct guard *g, u32 vcpu, u64 *top)
{
    if (vcpu >= GUARD_MAX_VCPUS || g->vcpu[vcpu].module < 0)
        return false;
    *top = g->vcpu[vcpu].stack_top;
    return true;
}

bool guard_pending_stack_top(const struct guard *g, u64 rsp, u64 *top)
{
    int f = frame_at(g, rsp);
    if (f < 0 || g->frame[f].kind != GUARD_FRAME_CALL)
        return false;
    *top = g->frame[f].stack_top;
    return true;
}

bool guard_privileged(const struct guard *g, u32 vcpu) { return vcpu < GUARD_MAX_VCPUS && g->vcpu[vcpu].module >= 0; }

enum guard_state guard_vcpu_state(const struct guard *g, u32 vcpu, int module)
{
    if (!module_ok(g, module) || g->mod[module]->state == GUARD_MOD_UNREGISTERED)
        return GUARD_ST_UNREGISTERED;
    if (g->mod[module]->state == GUARD_MOD_DEAD)
        return GUARD_ST_DEAD;
    if (vcpu < GUARD_MAX_VCPUS && g->vcpu[vcpu].module == module)
        return GUARD_ST_INSIDE;
    /* OUT_CALL / OUT_INT are states of a guest thread; the vCPU view reports the latest frame
     * it created for this module that is still outstanding (reporting only, never a decision). */
    const struct guard_frame *latest = NULL;
    for (int f = 0; f < GUARD_MAX_FRAMES; f++) {
        const struct guard_frame *fr = &g->frame[f];
        if (fr->kind != GUARD_FRAME_FREE && fr->module == module && fr->vcpu == vcpu &&
            (!latest || fr->seq > latest->seq))
            latest = fr;
    }
    if (latest)
        return latest->kind == GUARD_FRAME_CALL ? GUARD_ST_OUT_CALL : GUARD_ST_OUT_INT;
    return GUARD_ST_OUTSIDE;
}

/* ---------------------------------------------------------------- suspicious activity */

static enum guard_verdict suspicious(struct guard *g, const struct guard_event *ev, struct guard_result *res,
                                     enum guard_susp kind, int m, const char *detail, u64 expected, u64 observed)
{
    leave(g, ev->vcpu, res);
    struct guard_log_entry *e = &g->log[g->log_seq % GUARD_LOG_SIZE];
    memset(e, 0, sizeof(*e));
    e->seq = ++g->log_seq;
    e->time = g->cfg.clock ? g->cfg.clock() : 0;
    e->vcpu = ev->vcpu;
    e->kind = kind;
    e->event = ev->kind;
    e->rip = ev->rip;
    if (module_ok(g, m))
        memcpy(e->module, g->mod[m]->name, sizeof(e->module));
    e->detail = detail;
    e->expected = expected;
    e->observed = observed;
    g->stats.suspicious[kind]++;
    res->verdict = GUARD_SUSPICIOUS;
    res->susp = kind;
    if (res->module < 0)
        res->module = m;
    return GUARD_SUSPICIOUS;
}

u32 guard_log_count(const struct guard *g) { return g->log_seq < GUARD_LOG_SIZE ? (u32)g->log_seq : GUARD_LOG_SIZE; }

const struct guard_log_entry *guard_log_get(const struct guard *g, u32 i)
{
    if (i >= guard_log_count(g))
        return NULL;
    u64 first = g->log_seq > GUARD_LOG_SIZE ? g->log_seq - GUARD_LOG_SIZE : 0;
    return &g->log[(first + i) % GUARD_LOG_SIZE];
}

/* ---------------------------------------------------------------- transitions, one per event kind */

CROSSING_INLINE enum guard_verdict valid(struct guard *g, const struct guard_event *ev, struct guard_result *res, int m)
{
    g->stats.events[ev->kind]++;
    if (module_ok(g, m)) {
        g->mod[m]->crossings[ev->kind]++;
        if (res->site >= 0)
            g->mod[m]->sites[res->site].count++;
    }
    res->verdict = GUARD_OK;
    return GUARD_OK;
}

static enum guard_verdict on_init(struct guard *g, const struct guard_event *ev, struct guard_result *res)
{
    int m;
    u64 base = 0, len = 0;
    int rc = guard_locate(g, ev->rip, ev->u.init.claimed_hash, &m, &base, &len);
    switch (rc) {
    case GUARD_OK_RC:
        break;
    case GUARD_EUNKNOWN:
        return suspicious(g, ev, res, GUARD_SUSP_UNKNOWN_MODULE, -1, "no metadata has the claimed hash", 0, 0);
    case GUARD_ESTATE:
        if (g->mod[m]->state == GUARD_MOD_DEAD)
            return suspicious(g, ev, res, GUARD_SUSP_REVOKED, m, "registration of a revoked module", 0, 0);
        return suspicious(g, ev, res, GUARD_SUSP_BAD_REGISTRATION, m, "module already registered", 0, 0);
    case GUARD_EUSER:
        return suspicious(g, ev, res, GUARD_SUSP_BAD_REGISTRATION, m, "text not in guest kernel space",
                          GUARD_KERNEL_BASE, ev->rip);
    case GUARD_EALIGN:
        return suspicious(g, ev, res, GUARD_SUSP_BAD_REGISTRATION, m, "text base not page-aligned", 0,
                          ev->rip - g->mod[m]->init_offset);
    case GUARD_EOVERFLOW:
        return suspicious(g, ev, res, GUARD_SUSP_BAD_REGISTRATION, m, "text wraps the address space", 0,
                          ev->rip - g->mod[m]->init_offset);
    case GUARD_EOVERLAP:
        return suspicious(g, ev, res, GUARD_SUSP_BAD_REGISTRATION, m, "text overlaps another module", 0,
                          ev->rip - g->mod[m]->init_offset);
    default:
        return suspicious(g, ev, res, GUARD_SUSP_BAD_REGISTRATION, m, "registration refused", 0, (u64)(s64)rc);
    }
    res->module = m;
    res->text_base = base;
    res->text_len = len;
    if (memcmp(ev->u.init.text_hash, g->mod[m]->hash, GUARD_HASH_LEN) != 0) {
        res->actions |= GUARD_ACT_UNPROTECT_TEXT;
        return suspicious(g, ev, res, GUARD_SUSP_HASH_MISMATCH, m, "text hash differs from metadata", 0, base);
    }
    int cur = g->vcpu[ev->vcpu].module;
    if (cur >= 0) {
        res->actions |= GUARD_ACT_UNPROTECT_TEXT;
        return suspicious(g, ev, res, GUARD_SUSP_CROSS_MODULE, cur, "registration while privileged in another module",
                          0, 0);
    }
    struct guard_module *mod = g->mod[m];
    for (u32 i = 0; i < mod->npriv; i++) {
        if (privilege_activate(g->privs, mod->privs[i]) != PRIV_OK) {
            while (i-- > 0)
                privilege_deactivate(g->privs, mod->privs[i]);
            res->actions |= GUARD_ACT_UNPROTECT_TEXT;
            return suspicious(g, ev, res, GUARD_SUSP_BAD_REGISTRATION, m, "privilege component init failed", 0, 0);
        }
    }
    mod->state = GUARD_MOD_ACTIVE;
    mod->text_known = true;
    mod->text_base = base;
    for (u64 pg = 0; pg < text_pages_of(mod->text_len); pg++) /* room reserved when it was added */
        text_insert(g, (base >> PAGE_SHIFT) + pg, m);
    mod->registrations++;
    res->site = guard_site_lookup(mod, mod->init_offset);
    res->actions |= GUARD_ACT_PROTECT_TEXT;
    enter(g, ev->vcpu, m, 1, ev->rsp, res); /* registration is the first border-in */
    return valid(g, ev, res, m);
}

static enum guard_verdict on_deinit(struct guard *g, const struct guard_event *ev, struct guard_result *res, int m)
{
    struct guard_module *mod = g->mod[m];
    res->text_base = mod->text_base;
    res->text_len = mod->text_len;
    int cur = g->vcpu[ev->vcpu].module;
    if (cur >= 0 && cur != m)
        return suspicious(g, ev, res, GUARD_SUSP_CROSS_MODULE, cur, "deinit while privileged in another module", 0, 0);
    if (mod->state == GUARD_MOD_DEAD) {
        /* The revoked module unloads: forget its text so the caller can lift the protection.
         * It stays DEAD: it cannot register again unless the administrator reinstates it. */
        mod->text_known = false;
        text_fill(g); /* the text-page hash without it (deinit is rare: rebuilt, no deletion) */
        res->actions |= GUARD_ACT_UNPROTECT_TEXT;
        return valid(g, ev, res, m);
    }
    module_teardown(g, m, res);
    mod->state = GUARD_MOD_UNREGISTERED;
    mod->text_known = false;
    text_fill(g);
    res->actions |= GUARD_ACT_UNPROTECT_TEXT;
    return valid(g, ev, res, m);
}

static enum guard_verdict on_in_call(struct guard *g, const struct guard_event *ev, struct guard_result *res, int m)
{
    struct guard_vcpu *vc = &g->vcpu[ev->vcpu];
    if (vc->module == -1) {
        enter(g, ev->vcpu, m, 1, ev->rsp, res);
        return valid(g, ev, res, m);
    }
    if (vc->module == m) {
        vc->depth++; /* the module calls one of its own wrapped entry points */
        return valid(g, ev, res, m);
    }
    return suspicious(g, ev, res, GUARD_SUSP_CROSS_MODULE, vc->module,
                      "border-in call while privileged in another module", 0, 0);
}

static enum guard_verdict on_out_ret(struct guard *g, const struct guard_event *ev, struct guard_result *res, int m)
{
    struct guard_vcpu *vc = &g->vcpu[ev->vcpu];
    if (vc->module == -1)
        return suspicious(g, ev, res, GUARD_SUSP_UNMATCHED, m, "border-out ret while unprivileged", 0, 0);
    if (vc->module != m)
        return suspicious(g, ev, res, GUARD_SUSP_CROSS_MODULE, vc->module, "border-out ret of another module", 0, 0);
    if (vc->depth > 1)
        vc->depth--;
    else
        leave(g, ev->vcpu, res);
    return valid(g, ev, res, m);
}

static enum guard_verdict on_out_call(struct guard *g, const struct guard_event *ev, struct guard_result *res, int m)
{
    struct guard_vcpu *vc = &g->vcpu[ev->vcpu];
    if (vc->module == -1)
        return suspicious(g, ev, res, GUARD_SUSP_UNMATCHED, m, "border-out call while unprivileged", 0, 0);
    if (vc->module != m)
        return suspicious(g, ev, res, GUARD_SUSP_CROSS_MODULE, vc->module, "border-out call of another module", 0, 0);
    const struct guard_module *mod = g->mod[m];
    if (ev->u.call.ret_addr - mod->text_base >= mod->text_len)
        return suspicious(g, ev, res, GUARD_SUSP_STACK_MISMATCH, m, "exit wrapper's return address outside module text",
                          mod->text_base, ev->u.call.ret_addr);
    struct guard_frame *fr = frame_new(g, GUARD_FRAME_CALL, ev->rsp, ev->rip);
    if (!fr)
        return suspicious(g, ev, res, GUARD_SUSP_NO_SPACE, m, "border-out call not recorded: frame table full",
                          GUARD_MAX_FRAMES, 0);
    fr->module = m;
    fr->vcpu = ev->vcpu;
    fr->depth = vc->depth;
    fr->ret_slot = ev->u.call.ret_slot;
    fr->ret_addr = ev->u.call.ret_addr;
    /* Word by word: memcpy is a byte loop in the EFI image. */
#pragma GCC unroll 6
    for (u32 i = 0; i < GUARD_NCALLEE; i++)
        fr->callee_saved[i] = ev->u.call.callee_saved[i];
    fr->stack_top = vc->stack_top;
    fr->stack_digest = ev->u.call.stack_digest;
    leave(g, ev->vcpu, res);
    return valid(g, ev, res, m);
}

static enum guard_verdict on_in_ret(struct guard *g, const struct guard_event *ev, struct guard_result *res, int m)
{
    struct guard_vcpu *vc = &g->vcpu[ev->vcpu];
    if (vc->module != -1)
        return suspicious(g, ev, res, GUARD_SUSP_UNMATCHED, vc->module, "border-in ret while privileged", 0, 0);
    u8 *link = frame_link(g, ev->rsp);
    if (*link == GUARD_FRAME_NIL || g->frame[*link].kind != GUARD_FRAME_CALL)
        return suspicious(g, ev, res, GUARD_SUSP_UNMATCHED, m, "border-in ret without a border-out call at this RSP", 0,
                          ev->rsp);
    /* Single use, whatever the outcome. Released first: the record stays readable (release only
     * unlinks it), and nothing allocates a frame before this event is decided. */
    const struct guard_frame *fr = &g->frame[*link];
    frame_release(g, link);
    if (fr->module != m)
        return suspicious(g, ev, res, GUARD_SUSP_STACK_MISMATCH, m, "border-out call at this RSP was another module's",
                          0, ev->rsp);
    if (ev->u.call.ret_slot != fr->ret_slot)
        return suspicious(g, ev, res, GUARD_SUSP_STACK_MISMATCH, m, "return-address slot moved", fr->ret_slot,
                          ev->u.call.ret_slot);
    if (!g->cfg.restore_return_address && ev->u.call.ret_addr != fr->ret_addr)
        return suspicious(g, ev, res, GUARD_SUSP_STACK_MISMATCH, m, "return address changed during border-out call",
                          fr->ret_addr, ev->u.call.ret_addr);
    if (g->cfg.check_callee_saved) {
        u64 diff = 0; /* one branch for the six; which one differs only matters for the log */
#pragma GCC unroll 6
        for (u32 i = 0; i < GUARD_NCALLEE; i++)
            diff |= ev->u.call.callee_saved[i] ^ fr->callee_saved[i];
        if (diff)
            for (u32 i = 0; i < GUARD_NCALLEE; i++)
                if (ev->u.call.callee_saved[i] != fr->callee_saved[i])
                    return suspicious(g, ev, res, GUARD_SUSP_STACK_MISMATCH, m,
                                      "callee-saved register changed during border-out call", fr->callee_saved[i],
                                      ev->u.call.callee_saved[i]);
    }
    if (g->cfg.check_stack_digest && ev->u.call.stack_digest != fr->stack_digest)
        return suspicious(g, ev, res, GUARD_SUSP_STACK_MISMATCH, m, "module stack changed during border-out call",
                          fr->stack_digest, ev->u.call.stack_digest);
    enter(g, ev->vcpu, m, fr->depth, fr->stack_top, res);
    res->ret_addr = fr->ret_addr;
    return valid(g, ev, res, m);
}

static enum guard_verdict on_interrupt(struct guard *g, const struct guard_event *ev, struct guard_result *res)
{
    struct guard_vcpu *vc = &g->vcpu[ev->vcpu];
    int m = vc->module;
    if (m < 0) {
        g->stats.ignored++; /* the kernel takes its interrupts as usual */
        res->verdict = GUARD_IGNORED;
        return GUARD_IGNORED;
    }
    res->module = m;
    struct guard_frame *fr = frame_new(g, GUARD_FRAME_INT, ev->rsp, ev->rip);
    if (!fr)
        return suspicious(g, ev, res, GUARD_SUSP_NO_SPACE, m, "border-out int not recorded: frame table full",
                          GUARD_MAX_FRAMES, 0);
    fr->module = m;
    fr->vcpu = ev->vcpu;
    fr->depth = vc->depth;
    fr->vector = ev->u.intr.vector;
    fr->stack_top = vc->stack_top;
    leave(g, ev->vcpu, res);
    return valid(g, ev, res, m);
}

static enum guard_verdict on_iret(struct guard *g, const struct guard_event *ev, struct guard_result *res)
{
    struct guard_vcpu *vc = &g->vcpu[ev->vcpu];
    if (vc->module >= 0) {
        const struct guard_module *mod = g->mod[vc->module];
        if (ev->rip - mod->text_base < mod->text_len) {
            g->stats.ignored++; /* an IRET to itself (sync_core): stays in the module */
            res->verdict = GUARD_IGNORED;
            return GUARD_IGNORED;
        }
        if (ev->kind == GUARD_EV_FETCH)
            return suspicious(g, ev, res, GUARD_SUSP_CROSS_MODULE, vc->module,
                              "fetch into another module while privileged", 0, ev->rip);
        return suspicious(g, ev, res, GUARD_SUSP_UNMATCHED, vc->module, "IRET out of the module while privileged", 0,
                          ev->rip);
    }
    u8 *link = frame_link(g, ev->rsp);
    if (*link != GUARD_FRAME_NIL && g->frame[*link].kind == GUARD_FRAME_INT) {
        const struct guard_frame *fr = &g->frame[*link];
        frame_release(g, link); /* used up either way; the record stays readable */
        if (fr->rip == ev->rip) {
            res->module = fr->module;
            enter(g, ev->vcpu, fr->module, fr->depth, fr->stack_top, res);
            return valid(g, ev, res, fr->module);
        }
        /* The interrupted privileged context comes back at another RIP: its IRET frame was
         * changed (or an exception fixup moved it). Never privileged. */
        return suspicious(g, ev, res, GUARD_SUSP_STACK_MISMATCH, fr->module,
                          "interrupted context resumed at another RIP", fr->rip, ev->rip);
    }
    if (int_frame_at_rip(g, ev->rip))
        return suspicious(g, ev, res, GUARD_SUSP_STACK_MISMATCH, guard_module_at(g, ev->rip),
                          "IRET to an interrupted module RIP with another RSP", 0, ev->rsp);
    if (ev->kind == GUARD_EV_FETCH) {
        /* Execution reached the module's body where no wrapper, recorded return or interrupted
         * context is: a jump into the middle of the module. Only an active module's text is
         * guarded this way (a revoked or unregistered one is executable as any memory). */
        int m = module_at(g, ev->rip);
        if (m >= 0 && g->mod[m]->state == GUARD_MOD_ACTIVE)
            return suspicious(g, ev, res, GUARD_SUSP_BAD_SITE, m, "fetch into the module body off every entry", 0,
                              ev->rip - g->mod[m]->text_base);
    }
    g->stats.ignored++; /* an IRET that is none of ours */
    res->verdict = GUARD_IGNORED;
    return GUARD_IGNORED;
}

static enum guard_verdict on_text_write(struct guard *g, const struct guard_event *ev, struct guard_result *res)
{
    int m = ev->u.write.module;
    if (!module_ok(g, m) || !g->mod[m]->text_known) {
        g->stats.ignored++;
        res->verdict = GUARD_IGNORED;
        return GUARD_IGNORED;
    }
    struct guard_module *mod = g->mod[m];
    res->module = m;
    res->text_base = mod->text_base;
    res->text_len = mod->text_len;
    res->actions |= GUARD_ACT_PROTECT_TEXT; /* the write is refused; the text stays protected */
    if (mod->state == GUARD_MOD_DEAD)
        return suspicious(g, ev, res, GUARD_SUSP_TEXT_WRITE, m, "write to a revoked module's text", 0,
                          ev->u.write.addr);
    revoke(g, m, res);
    return suspicious(g, ev, res, GUARD_SUSP_TEXT_WRITE, m, "write to module text: module revoked", 0,
                      ev->u.write.addr);
}

/* The hypercall kinds that name a site: which site kind each must hit. */
static const s8 site_kind_of[GUARD_EV_KINDS] = {
    [GUARD_EV_INIT] = GMETA_SITE_INIT,
    [GUARD_EV_DEINIT] = GMETA_SITE_DEINIT,
    [GUARD_EV_IN_CALL] = GMETA_SITE_BORDER_IN_CALL,
    [GUARD_EV_OUT_RET] = GMETA_SITE_BORDER_OUT_RET,
    [GUARD_EV_OUT_CALL] = GMETA_SITE_BORDER_OUT_CALL,
    [GUARD_EV_IN_RET] = GMETA_SITE_BORDER_IN_RET,
    [GUARD_EV_INTERRUPT] = -1,
    [GUARD_EV_IRET] = -1,
    [GUARD_EV_TEXT_WRITE] = -1,
    [GUARD_EV_FETCH] = -1,
};

static const char *const bad_site_detail[GUARD_SITE_KINDS] = {
    [GMETA_SITE_INIT] = "not an init site",
    [GMETA_SITE_DEINIT] = "not a deinit site",
    [GMETA_SITE_BORDER_IN_CALL] = "not a border-in call site",
    [GMETA_SITE_BORDER_OUT_RET] = "not a border-out ret site",
    [GMETA_SITE_BORDER_OUT_CALL] = "not a border-out call site",
    [GMETA_SITE_BORDER_IN_RET] = "not a border-in ret site",
};

/* A crossing hypercall: the site must be a site of exactly this kind in a registered module's text
 * (O(1): one text-page hash probe sequence, one site hash probe sequence). */
CROSSING_INLINE enum guard_verdict on_crossing(struct guard *g, const struct guard_event *ev, struct guard_result *res)
{
    int m = module_at_crossing(g, ev->rip);
    if (m < 0)
        return suspicious(g, ev, res, GUARD_SUSP_UNKNOWN_SITE, -1, "hypercall outside every guarded module", 0,
                          ev->rip);
    const struct guard_module *mod = g->mod[m];
    res->module = m;
    int s = site_lookup(mod, (u32)(ev->rip - mod->text_base)); /* registered: nsites >= 1 */
    if (s < 0 || mod->sites[s].kind != site_kind_of[ev->kind])
        return suspicious(g, ev, res, GUARD_SUSP_BAD_SITE, m, bad_site_detail[site_kind_of[ev->kind]],
                          s < 0 ? ~0ull : mod->sites[s].kind, ev->rip - mod->text_base);
    res->site = s;
    if (mod->state == GUARD_MOD_DEAD && ev->kind != GUARD_EV_DEINIT)
        return suspicious(g, ev, res, GUARD_SUSP_REVOKED, m, "crossing into a revoked module", 0, 0);
    switch (ev->kind) {
    case GUARD_EV_DEINIT:
        return on_deinit(g, ev, res, m);
    case GUARD_EV_IN_CALL:
        return on_in_call(g, ev, res, m);
    case GUARD_EV_OUT_RET:
        return on_out_ret(g, ev, res, m);
    case GUARD_EV_OUT_CALL:
        return on_out_call(g, ev, res, m);
    case GUARD_EV_IN_RET:
        return on_in_ret(g, ev, res, m);
    default:
        return GUARD_IGNORED; /* unreachable: guard_event dispatches only these */
    }
}

enum guard_verdict guard_event(struct guard *g, const struct guard_event *ev, struct guard_result *out)
{
    struct guard_result local;
    /* cppcheck reads &local as a use of it; only its address is taken, and every field is written
     * below before any is read (and a memset here would cost the crossing path). */
    // cppcheck-suppress uninitvar
    struct guard_result *res = out ? out : &local;
    /* Field by field: memset is a byte loop in the EFI image (~350 instructions for this struct). */
    res->verdict = GUARD_IGNORED;
    res->susp = GUARD_SUSP_NONE;
    res->actions = 0;
    res->module = -1;
    res->site = -1;
    res->text_base = res->text_len = 0;
    res->ret_addr = 0;
    res->privileged = res->watch_iret = false;
    enum guard_verdict v;

    if (!g || !ev || ev->vcpu >= GUARD_MAX_VCPUS || (unsigned)ev->kind >= GUARD_EV_KINDS) {
        /* A caller bug, not guest activity: nothing to lower, nothing to log. */
        if (g)
            g->stats.ignored++;
        res->verdict = GUARD_IGNORED;
        return GUARD_IGNORED;
    }

    switch (ev->kind) {
    case GUARD_EV_DEINIT:
    case GUARD_EV_IN_CALL:
    case GUARD_EV_OUT_RET:
    case GUARD_EV_OUT_CALL:
    case GUARD_EV_IN_RET:
        v = on_crossing(g, ev, res);
        break;
    case GUARD_EV_INIT:
        v = on_init(g, ev, res);
        break;
    case GUARD_EV_INTERRUPT:
        v = on_interrupt(g, ev, res);
        break;
    case GUARD_EV_IRET:
    case GUARD_EV_FETCH:
        v = on_iret(g, ev, res);
        break;
    case GUARD_EV_TEXT_WRITE:
        v = on_text_write(g, ev, res);
        break;
    default:
        v = GUARD_IGNORED; /* unreachable: checked above */
        break;
    }
    res->privileged = g->vcpu[ev->vcpu].module >= 0;
    res->watch_iret = g->int_frames > 0;
    return v;
}

void guard_account_cost(struct guard *g, const struct guard_event *ev, const struct guard_result *res, u64 cycles)
{
    if (!g || !ev || (unsigned)ev->kind >= GUARD_EV_KINDS)
        return;
    g->stats.cycles[ev->kind] += cycles;
    if (res && module_ok(g, res->module) && res->site >= 0 && (u32)res->site < g->mod[res->module]->nsites &&
        res->verdict == GUARD_OK)
        g->mod[res->module]->sites[res->site].cycles += cycles;
}
