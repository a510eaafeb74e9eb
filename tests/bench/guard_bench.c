/*
 * Host instructions per border crossing in the state machine (issue 8, "cheaper crossings";
 * docs/lab/performance.md). Replays the crossings a guarded e1000 makes while receiving, through the
 * real hv/guard/guard.c and hv/guard/privilege.c built with the hypervisor's flags and GNU-EFI's byte-loop
 * memset/memcpy (efi_mem.c), and lets callgrind count the instructions of guard_event() per event
 * kind: tests/bench/guard.sh runs it under `valgrind --tool=callgrind --separate-callers=1`, so
 * each cross_<kind>() caller below gets its own inclusive cost of guard_event().
 *
 *   guard_bench [MODULE.gmeta]     sites from the module's metadata (make bench: the guest's e1000)
 *   guard_bench                    a synthetic module with the e1000's site profile (380 sites)
 *
 * The replay, per NAPI poll (the paper's Figure 10 receive path; docs/lab/performance.md): a border-in
 * call into the poll function; per packet, eight exit-wrapper calls (border-out call, border-in
 * ret), with the callee-saved registers checked; one interrupt taken while privileged (border-out
 * int), one IRET of the kernel's own that is not a return to the module (ignored) and the IRET
 * back into it (border-in rti); the border-out ret. Three other threads sleep in the kernel
 * through exit wrappers meanwhile (outstanding frames), as the e1000's watchdog and ethtool paths
 * do. Every verdict is checked: a replay the state machine refuses fails the run.
 *
 * The privilege is a component whose raise/lower do nothing: what the NIC's own switch costs (one
 * VMCB field and an ASID) belongs to the component, not to the state machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/gmeta.h"
#include "guard/guard.h"

#define BASE             0xffffffffc0a00000ull
#define KERNEL_RIP       0xffffffff81a00000ull
#define STACK            0xffffc90000a43f00ull /* the NAPI softirq's stack */
#define SLEEPERS         3
#define POLLS            250
#define PACKETS_PER_POLL 8
#define EXITS_PER_PACKET 8

enum bench_kind {
    B_IN_CALL,
    B_OUT_RET,
    B_OUT_CALL,
    B_IN_RET,
    B_INT,
    B_RTI,
    B_IRET_OTHER,
    B_OUT_CALL_WORST,
    B_IN_RET_WORST,
    B_KINDS
};
static const char *const bench_name[B_KINDS] = {
    "border-in-call", "border-out-ret", "border-out-call", "border-in-ret", "border-out-int",
    "border-in-rti",  "iret-not-ours",  "out-call-worst",  "in-ret-worst", /* 125 frames on one RSP chain: a guest choosing its stacks */
};
static const char *const cross_name[B_KINDS] = {
    "in_call", "out_ret", "out_call", "in_ret", "int", "rti", "iret_other", "out_call_worst", "in_ret_worst",
};
static unsigned long counts[B_KINDS];

static struct guard G;
static struct privilege_registry R;

static void nop_raise(u32 v, void *s) { (void)v, (void)s; }
static void nop_lower(u32 v, void *s) { (void)v, (void)s; }
static const struct privilege_ops nic_ops = { .raise = nop_raise, .lower = nop_lower };
static u64 clock_zero(void) { return 0; }

/* One caller per kind, so callgrind (--separate-callers=1) reports guard_event'cross_<kind>. */
#define CROSS(name)                                                                                                    \
    static                                                                                                             \
        __attribute__((noinline)) enum guard_verdict cross_##name(const struct guard_event *e, struct guard_result *r) \
    {                                                                                                                  \
        return guard_event(&G, e, r);                                                                                  \
    }
CROSS(in_call)
CROSS(out_ret)
CROSS(out_call)
CROSS(in_ret)
CROSS(int)
CROSS(rti)
CROSS(iret_other)
CROSS(out_call_worst)
CROSS(in_ret_worst)

static enum guard_verdict (*const cross[B_KINDS])(const struct guard_event *, struct guard_result *) = {
    cross_in_call, cross_out_ret,    cross_out_call,       cross_in_ret,       cross_int,
    cross_rti,     cross_iret_other, cross_out_call_worst, cross_in_ret_worst,
};

/* hv/guard/guard.c's frame_hash: bucket of a stack pointer in the frame table (to collide on purpose). */
static u32 frame_bucket(u64 key) { return (u32)((key * 0x9e3779b97f4a7c15ull) >> 56); }

static void post(enum bench_kind k, const struct guard_event *e, enum guard_verdict want)
{
    struct guard_result r;
    enum guard_verdict v = cross[k](e, &r);
    if (v != want) {
        fprintf(stderr, "guard_bench: %s at rip 0x%llx rsp 0x%llx: verdict %d (%s), expected %d\n", bench_name[k],
                (unsigned long long)e->rip, (unsigned long long)e->rsp, v, guard_susp_name(r.susp), want);
        exit(1);
    }
    counts[k]++;
}

/* ------------------------------------------------------------------ the module */

struct wrapper {
    u32 first, second;
    const char *func;
}; /* entry: in-call, out-ret; exit: out-call, in-ret */
static struct guard_site_desc sites[GUARD_MAX_SITES];
static struct wrapper entries[GUARD_MAX_SITES], exits[GUARD_MAX_SITES];
static u32 nsites, nentries, nexits, text_len, init_offset;
static u8 text_hash[GUARD_HASH_LEN];
static char name[GUARD_NAME_MAX] = "e1000";

/* Sites from a .gmeta, as border.c's add_module hands them over; wrappers paired by function. */
static void load_gmeta(const char *path)
{
    static u8 buf[GMETA_MAX_SIZE];
    static struct gmeta m;
    char err[160];
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (gmeta_parse(buf, n, &m, err, sizeof(err)) != 0 || m.site_count > GUARD_MAX_SITES) {
        fprintf(stderr, "guard_bench: %s: %s\n", path, err);
        exit(1);
    }
    snprintf(name, sizeof(name), "%s", m.name);
    memcpy(text_hash, m.text_sha256, sizeof(text_hash));
    text_len = m.text_len;
    init_offset = m.init_offset;
    nsites = m.site_count;
    for (u32 i = 0; i < nsites; i++) {
        struct gmeta_site s;
        gmeta_site_at(&m, i, &s);
        sites[i].offset = s.offset;
        sites[i].kind = (enum gmeta_site_kind)s.kind; /* one enum from file to state machine */
    }
    /* Sorted by (kind, offset): pair each IN_CALL with its function's OUT_RET, OUT_CALL with IN_RET. */
    for (u32 i = 0; i < nsites; i++) {
        struct gmeta_site a, b;
        gmeta_site_at(&m, i, &a);
        u8 other = a.kind == GMETA_SITE_BORDER_IN_CALL    ? GMETA_SITE_BORDER_OUT_RET
                   : a.kind == GMETA_SITE_BORDER_OUT_CALL ? GMETA_SITE_BORDER_IN_RET
                                                          : 0;
        if (!other)
            continue;
        u32 first, cnt = gmeta_sites_of_kind(&m, other, &first);
        for (u32 j = first; j < first + cnt; j++) {
            gmeta_site_at(&m, j, &b);
            if (b.func != a.func)
                continue;
            struct wrapper w = { a.offset, b.offset, gmeta_func_name(&m, a.func) };
            if (a.kind == GMETA_SITE_BORDER_IN_CALL)
                entries[nentries++] = w;
            else
                exits[nexits++] = w;
            break;
        }
    }
}

/* The e1000's profile without its metadata: 1 init, 1 deinit, 59 entry and 130 exit wrappers,
 * 86,588 bytes of text, wrappers 24 bytes apart at its end (christoize appends them). */
static void synthesize(void)
{
    u32 off = 0x10000;
    text_len = 86588;
    memset(text_hash, 0x5a, sizeof(text_hash));
    init_offset = 0x40;
    sites[nsites++] = (struct guard_site_desc){ init_offset, GMETA_SITE_INIT };
    sites[nsites++] = (struct guard_site_desc){ 0x80, GMETA_SITE_DEINIT };
    for (u32 i = 0; i < 59; i++, off += 48) {
        entries[nentries++] = (struct wrapper){ off, off + 24, "entry" };
        sites[nsites++] = (struct guard_site_desc){ off, GMETA_SITE_BORDER_IN_CALL };
        sites[nsites++] = (struct guard_site_desc){ off + 24, GMETA_SITE_BORDER_OUT_RET };
    }
    for (u32 i = 0; i < 130; i++, off += 48) {
        exits[nexits++] = (struct wrapper){ off, off + 24, "exit" };
        sites[nsites++] = (struct guard_site_desc){ off, GMETA_SITE_BORDER_OUT_CALL };
        sites[nsites++] = (struct guard_site_desc){ off + 24, GMETA_SITE_BORDER_IN_RET };
    }
}

/* The receive path's exit wrappers (docs/lab/performance.md), or the first eight there are. */
static const struct wrapper *pick_exits(const struct wrapper *out[EXITS_PER_PACKET])
{
    static const char *const rx[EXITS_PER_PACKET] = {
        "dma_unmap_page_attrs",
        "is_vmalloc_addr",
        "skb_put",
        "eth_type_trans",
        "napi_gro_receive",
        "napi_build_skb",
        "__netdev_alloc_frag_align",
        "dma_map_page_attrs",
    };
    for (u32 i = 0; i < EXITS_PER_PACKET; i++) {
        out[i] = &exits[i % nexits];
        for (u32 j = 0; j < nexits; j++)
            if (strcmp(exits[j].func, rx[i]) == 0)
                out[i] = &exits[j];
    }
    return out[0];
}

static const struct wrapper *find_entry(const char *func)
{
    for (u32 j = 0; j < nentries; j++)
        if (strcmp(entries[j].func, func) == 0)
            return &entries[j];
    return &entries[0];
}

/* ------------------------------------------------------------------ events */

static struct guard_event hc(enum guard_event_kind k, u64 site, u64 rsp)
{
    struct guard_event e;
    memset(&e, 0, sizeof(e));
    e.kind = k;
    e.rip = BASE + site;
    e.rsp = rsp;
    return e;
}

static struct guard_event call(enum guard_event_kind k, u64 site, u64 rsp, u64 seed)
{
    struct guard_event e = hc(k, site, rsp);
    e.u.call.ret_slot = rsp + 8;
    e.u.call.ret_addr = BASE + 0x1000 + (seed & 0xfff);
    for (int i = 0; i < GUARD_NCALLEE; i++)
        e.u.call.callee_saved[i] = 0xffff888000000000ull + seed * 64 + (u64)i;
    return e;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: guard_bench [MODULE.gmeta]\n");
        return 2;
    }
    if (argc == 2)
        load_gmeta(argv[1]);
    else
        synthesize();
    if (nentries == 0 || nexits == 0) {
        fprintf(stderr, "guard_bench: the module has no entry or no exit wrapper\n");
        return 1;
    }

    static const struct guard_config cfg = { .check_callee_saved = true,
                                             .restore_return_address = true,
                                             .clock = clock_zero }; /* border.c's */
    privilege_registry_init(&R);
    if (privilege_register(&R, "nic", &nic_ops, NULL) < 0)
        return 1;
    guard_init(&G, &R, &cfg);
    struct guard_module_desc d = { name, text_hash, text_len, sites, nsites };
    int m = guard_module_add(&G, &d);
    if (m < 0 || guard_bind_privilege(&G, m, "nic") != GUARD_OK_RC) {
        fprintf(stderr, "guard_bench: module refused (%d)\n", m);
        return 1;
    }
    struct guard_event e = hc(GUARD_EV_INIT, init_offset, STACK);
    memcpy(e.u.init.claimed_hash, text_hash, GUARD_HASH_LEN);
    memcpy(e.u.init.text_hash, text_hash, GUARD_HASH_LEN);
    struct guard_result r;
    if (guard_event(&G, &e, &r) != GUARD_OK) {
        fprintf(stderr, "guard_bench: registration refused: %s\n", guard_susp_name(r.susp));
        return 1;
    }
    e = hc(GUARD_EV_OUT_RET, entries[0].second, STACK); /* init returns */
    guard_event(&G, &e, &r);

    const struct wrapper *rx[EXITS_PER_PACKET];
    pick_exits(rx);
    const struct wrapper *poll = find_entry("e1000_clean");
    const struct wrapper *sleep_in = find_entry("e1000_set_link_ksettings");

    /* Threads asleep in the kernel inside exit wrappers (mutex, msleep): outstanding frames. */
    for (u64 t = 0; t < SLEEPERS; t++) {
        u64 rsp = 0xffffc90000b00f00ull + t * 0x4000;
        e = hc(GUARD_EV_IN_CALL, sleep_in->first, rsp);
        post(B_IN_CALL, &e, GUARD_OK);
        e = call(GUARD_EV_OUT_CALL, exits[nexits - 1].first, rsp - 0x60, 1000 + t);
        post(B_OUT_CALL, &e, GUARD_OK);
    }

    for (u64 p = 0; p < POLLS; p++) {
        u64 rsp = STACK - 0x100;
        e = hc(GUARD_EV_IN_CALL, poll->first, rsp);
        post(B_IN_CALL, &e, GUARD_OK);
        for (u32 pk = 0; pk < PACKETS_PER_POLL; pk++) {
            for (u32 x = 0; x < EXITS_PER_PACKET; x++) {
                u64 seed = p * 64 + pk * 8 + x;
                e = call(GUARD_EV_OUT_CALL, rx[x]->first, rsp - 0x58, seed);
                post(B_OUT_CALL, &e, GUARD_OK);
                e = call(GUARD_EV_IN_RET, rx[x]->second, rsp - 0x58, seed);
                post(B_IN_RET, &e, GUARD_OK);
            }
            if (pk == PACKETS_PER_POLL / 2) {
                /* An interrupt while privileged; the kernel's handler returns through an IRET of
                 * its own (a nested one) before the one that resumes the module. */
                u64 irip = BASE + rx[0]->first - 0x10, irsp = rsp - 0x90;
                e = hc(GUARD_EV_INTERRUPT, 0, irsp);
                e.rip = irip;
                e.u.intr.vector = 0x31;
                post(B_INT, &e, GUARD_OK);
                e = hc(GUARD_EV_IRET, 0, 0xffffc90000003f58ull);
                e.rip = KERNEL_RIP + p;
                post(B_IRET_OTHER, &e, GUARD_IGNORED);
                e = hc(GUARD_EV_IRET, 0, irsp);
                e.rip = irip;
                post(B_RTI, &e, GUARD_OK);
            }
        }
        e = hc(GUARD_EV_OUT_RET, poll->second, rsp);
        post(B_OUT_RET, &e, GUARD_OK);
    }

    /* The worst a guest can make of the frame table: every outstanding frame on one chain (it picks
     * its stack pointers). Each round returns the chain's tail and calls out again at the same RSP
     * (a full walk for the stale check, then the new frame goes to the head). */
    u64 worst[GUARD_MAX_FRAMES - SLEEPERS];
    const u32 nworst = GUARD_MAX_FRAMES - SLEEPERS;
    u32 b = frame_bucket(0xffffc90002000000ull), k = 0;
    for (u64 key = 0xffffc90002000000ull; k < nworst; key -= 8)
        if (frame_bucket(key) == b)
            worst[k++] = key;
    for (u32 i = 0; i < nworst; i++) { /* set-up, not counted */
        struct guard_event in = hc(GUARD_EV_IN_CALL, poll->first, worst[i] + 0x100);
        e = call(GUARD_EV_OUT_CALL, rx[0]->first, worst[i], i);
        if (guard_event(&G, &in, &r) != GUARD_OK || guard_event(&G, &e, &r) != GUARD_OK) {
            fprintf(stderr, "guard_bench: colliding frame %u refused: %s\n", i, guard_susp_name(r.susp));
            return 1;
        }
    }
    for (u32 r = 0; r < 2 * POLLS; r++) {
        u32 i = r % nworst;
        e = call(GUARD_EV_IN_RET, rx[0]->second, worst[i], i);
        post(B_IN_RET_WORST, &e, GUARD_OK);
        e = call(GUARD_EV_OUT_CALL, rx[0]->first, worst[i], i);
        post(B_OUT_CALL_WORST, &e, GUARD_OK);
    }

    printf("guard_bench: module %s, %u sites (%u entry, %u exit wrappers), %d sleeping frames, %d polls\n", name,
           nsites, nentries, nexits, SLEEPERS, POLLS);
    printf("guard_bench: per packet through %s:", poll->func);
    for (u32 x = 0; x < EXITS_PER_PACKET; x++)
        printf(" %s", rx[x]->func);
    printf("\n");
    for (int k = 0; k < B_KINDS; k++)
        printf("count %s cross_%s %lu\n", bench_name[k], cross_name[k], counts[k]);
    return 0;
}
