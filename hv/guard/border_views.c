/* See border_views.h. */
#include "guard/border_views.h"
#include "guard/guard.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/page_alloc.h"
#include "core/vm.h"

#define VIEW_PAGES_MAX 8192 /* as text_protect.h's TEXT_PROTECT_MAX_PAGES */

static struct {
    bool enforced;
    const struct guard *guard;
    const struct border_text_page *pages, *private_pages;
    const u32 *npages, *nprivate;
    u64 built_generation; /* vm->npt_generation the views were built from */
    bool built;
    struct npt out;
    /* Per module, by index, allocated when it first registers (guard_mem_alloc): its in views
     * [holds the device's privilege] and their view numbers (0: none claimed). The table grows by
     * doubling, like the guard's own; a switch indexes it, O(1). */
    struct bv_module {
        struct npt in[2];
        u32 view[2];
    } * *mod;
    u32 nmod;       /* entries of mod (NULL ones never registered) */
    u32 view_limit; /* view numbers below this have their own tag; 0 = no limit */
    bool device[PRIV_MAX_VCPUS];
    bool loose[PRIV_MAX_VCPUS];
    bool dirty[PRIV_MAX_VCPUS];     /* its state changed during this exit: choose its view before the next entry */
    bool may_loose[PRIV_MAX_VCPUS]; /* ... and it continues at its RIP (not an event about to be delivered) */
    hpa_t current[PRIV_MAX_VCPUS];
    struct border_view_stats stats;
} bv;

static gpa_t scratch[VIEW_PAGES_MAX];

bool border_views_init(struct vm *vm, const struct guard *guard, bool wanted, const struct border_text_page *pages,
                       const u32 *npages, const struct border_text_page *private_pages, const u32 *nprivate)
{
    /* once per boot (and per unit test: what an earlier one allocated is given back) */
    for (u32 m = 0; m < bv.nmod; m++)
        guard_mem_free(bv.mod[m], sizeof(*bv.mod[m]));
    if (bv.mod)
        guard_mem_free(bv.mod, bv.nmod * sizeof(bv.mod[0]));
    memset(&bv, 0, sizeof(bv));
    bv.view_limit = vcpu_ops->nested_view_tags ? vcpu_ops->nested_view_tags() : 0;
    bv.guard = guard;
    bv.pages = pages;
    bv.npages = npages;
    bv.private_pages = private_pages;
    bv.nprivate = nprivate;
    /* Can the nested format forbid execution here? (x86: only with NX on, npt_x86_nx.) */
    const struct npt_format *f = vm->npt.fmt;
    bv.enforced = wanted && f && f->with_exec &&
                  f->with_exec(f->leaf_entry(0, 1, NPT_RWX), false) != f->leaf_entry(0, 1, NPT_RWX);
    if (wanted && !bv.enforced)
        LOG("guard: border = npt, but the nested page tables cannot forbid execution here: the border is the "
            "wrappers' hypercalls alone");
    return bv.enforced;
}

bool border_views_enforced(void) { return bv.enforced; }

const struct border_view_stats *border_view_stats(void) { return &bv.stats; }

static void free_table(hpa_t t) { page_free(&hv_pages, t, 1); }

static void release_in(struct vm *vm, struct bv_module *bm)
{
    npt_release_view(&bm->in[0], &vm->npt, free_table);
    npt_release_view(&bm->in[1], &vm->npt_priv, free_table);
}

static void release_all(struct vm *vm)
{
    npt_release_view(&bv.out, &vm->npt, free_table);
    for (u32 m = 0; m < bv.nmod; m++)
        if (bv.mod[m])
            release_in(vm, bv.mod[m]);
}

static bool view_taken(u32 view)
{
    for (u32 m = 0; m < bv.nmod; m++)
        if (bv.mod[m] && (bv.mod[m]->view[0] == view || bv.mod[m]->view[1] == view))
            return true;
    return false;
}

/* The lowest free view number at or after `from`, or 0 past the backend's tags. Registration only:
 * O(registered modules) per candidate. */
static u32 free_view(u32 from)
{
    u32 v = from;
    while (view_taken(v))
        v++;
    return bv.view_limit && v >= bv.view_limit ? 0 : v;
}

bool border_views_claim(int m, bool device, char *why, size_t why_size)
{
    if (!bv.enforced)
        return true;
    if (m < 0)
        return false;
    if ((u32)m >= bv.nmod) {
        u32 n = bv.nmod ? bv.nmod : 8;
        while (n <= (u32)m)
            n *= 2;
        struct bv_module **t = guard_mem_alloc(n * sizeof(*t));
        if (!t) {
            fmt_snprintf(why, why_size, "out of hypervisor memory for its nested-paging views");
            return false;
        }
        if (bv.mod) {
            memcpy(t, bv.mod, bv.nmod * sizeof(*t));
            guard_mem_free(bv.mod, bv.nmod * sizeof(*t));
        }
        bv.mod = t;
        bv.nmod = n;
    }
    if (!bv.mod[m] && !(bv.mod[m] = guard_mem_alloc(sizeof(*bv.mod[m])))) {
        fmt_snprintf(why, why_size, "out of hypervisor memory for its nested-paging views");
        return false;
    }
    struct bv_module *bm = bv.mod[m];
    bm->view[0] = bm->view[1] = 0;
    u32 in = free_view(VIEW_IN_FIRST);
    u32 dev = in && device ? free_view(in + 1) : 0;
    if (!in || (device && !dev)) {
        fmt_snprintf(why, why_size,
                     "no ASID left for its nested-paging view%s (the CPU tags %u views: %u are the VM's and the "
                     "out view, the rest the registered modules')",
                     device ? "s" : "", bv.view_limit, VIEW_IN_FIRST);
        return false;
    }
    bm->view[0] = in;
    bm->view[1] = dev;
    return true;
}

/* The tables go at the next rebuild (the text just unprotected changed the map: every vCPU rebuilds
 * before it runs on a view again, and the rebuild flushes the nested TLB, so a number handed to
 * another module later carries no translation of this one's). */
void border_views_release(int m)
{
    if (m >= 0 && (u32)m < bv.nmod && bv.mod[m])
        bv.mod[m]->view[0] = bv.mod[m]->view[1] = 0;
}

u32 border_view_number(int m, bool dev)
{
    return m >= 0 && (u32)m < bv.nmod && bv.mod[m] ? bv.mod[m]->view[dev ? 1 : 0] : 0;
}

/* The protected pages of one module (module < 0: of every module) into scratch. */
static u32 pages_of(int module)
{
    u32 n = 0;
    for (u32 i = 0; i < *bv.npages && n < VIEW_PAGES_MAX; i++)
        if (module < 0 || bv.pages[i].module == module)
            scratch[n++] = bv.pages[i].gpa;
    return n;
}

/* Module m's private pages, readable and writable in its in view only. */
static bool map_private(struct vm *vm, int m, struct npt *in, const struct npt *src)
{
    for (u32 i = 0; bv.private_pages && i < *bv.nprivate; i++) {
        gpa_t gpa = bv.private_pages[i].gpa;
        if (bv.private_pages[i].module == m && !npt_view_map(in, src, gpa, gpa, NPT_READ | NPT_WRITE, true))
            return false;
    }
    return true;
}

/* Out of table memory: the views that could not be built stay absent, and a vCPU that would run on
 * one runs on the ordinary view instead (the wrappers-only border), never on a half-built one. */
static void rebuild(struct vm *vm)
{
    u32 n;

    release_all(vm);
    bv.built = true;
    bv.built_generation = vm->npt_generation;
    bv.stats.rebuilds++;
    n = pages_of(-1);
    if (!n)
        return;
    if (!npt_fork_exec(&bv.out, &vm->npt, scratch, n, false)) {
        LOG("guard: out of hypervisor memory for the border's out view: wrappers-only border");
        npt_release_view(&bv.out, &vm->npt, free_table);
    }
    for (u32 m = 0; m < bv.nmod; m++) {
        struct bv_module *bm = bv.mod[m];
        if (!bm || !bm->view[0])
            continue; /* not registered: no view claimed */
        n = pages_of((int)m);
        if (!n)
            continue;
        if (!npt_fork_exec(&bm->in[0], &vm->npt, scratch, n, true) || !map_private(vm, (int)m, &bm->in[0], &vm->npt))
            npt_release_view(&bm->in[0], &vm->npt, free_table);
        if (vm->npt_priv.root && bm->view[1] &&
            (!npt_fork_exec(&bm->in[1], &vm->npt_priv, scratch, n, true) ||
             !map_private(vm, (int)m, &bm->in[1], &vm->npt_priv)))
            npt_release_view(&bm->in[1], &vm->npt_priv, free_table);
    }
    /* The split large pages changed the ordinary tables' shape, and old views' ASIDs may cache
     * translations of tables just freed. */
    for (u32 i = 0; i < vm->vcpu_count; i++)
        if (vm->vcpu[i])
            vcpu_ops->flush_nested_tlb(vm->vcpu[i]);
}

/* Always written (a field write; make bench's measurement switches roots behind our back),
 * counted only when it changes. */
static void set_root(struct vcpu *v, hpa_t root, u32 view)
{
    if (bv.current[v->id] != root)
        bv.stats.switches++;
    bv.current[v->id] = root;
    vcpu_ops->set_nested_root(v, root, view);
}

/* The wrappers-only choice: the device's view while its privilege is held, else the ordinary one. */
static void apply_plain(struct vcpu *v)
{
    if (bv.device[v->id] && v->vm->npt_priv.root)
        set_root(v, v->vm->npt_priv.root, VIEW_PRIVILEGED);
    else
        set_root(v, v->vm->npt.root, VIEW_NORMAL);
}

void border_view_apply(struct vcpu *v)
{
    int inside;

    if (v->id >= PRIV_MAX_VCPUS)
        return;
    bool may_loose = bv.may_loose[v->id];
    bv.dirty[v->id] = false;
    bv.may_loose[v->id] = false;
    if (!bv.enforced) {
        apply_plain(v);
        return;
    }
    if (!bv.built || bv.built_generation != v->vm->npt_generation)
        rebuild(v->vm);
    inside = bv.guard->vcpu[v->id].module;
    if (inside >= 0) {
        bool dev = bv.device[v->id] && v->vm->npt_priv.root;
        struct bv_module *bm = (u32)inside < bv.nmod ? bv.mod[inside] : NULL;
        bv.loose[v->id] = false;
        if (bm && bm->in[dev].root)
            set_root(v, bm->in[dev].root, bm->view[dev]);
        else
            apply_plain(v);
        return;
    }
    /* Outside every module, about to execute module text: a refused or unprivileged crossing
     * finishing its wrapper, or a refused entry (the wrappers-only border), until it leaves. Not
     * when an interrupt or exception is about to be delivered: the RIP is then where its IRET
     * will return, which must fault. */
    bool was = bv.loose[v->id];
    bv.loose[v->id] = (was || may_loose) && guard_module_at(bv.guard, v->regs[REG_RIP]) >= 0;
    if (bv.loose[v->id]) {
        bv.stats.loose += !was;
        apply_plain(v);
    } else if (bv.out.root) {
        set_root(v, bv.out.root, VIEW_OUT);
    } else {
        apply_plain(v);
    }
}

void border_view_set_device(struct vcpu *v, bool raised)
{
    if (v->id >= PRIV_MAX_VCPUS)
        return;
    bv.device[v->id] = raised;
    bv.dirty[v->id] = true;
}

void border_view_changed(struct vcpu *v, bool continues)
{
    if (v->id >= PRIV_MAX_VCPUS)
        return;
    bv.dirty[v->id] = true;
    bv.may_loose[v->id] |= continues;
}

void border_view_after_exit(struct vcpu *v)
{
    if (v->id >= PRIV_MAX_VCPUS)
        return;
    if (bv.dirty[v->id] || (bv.enforced && bv.built && bv.built_generation != v->vm->npt_generation) ||
        (bv.loose[v->id] && guard_module_at(bv.guard, v->regs[REG_RIP]) < 0))
        border_view_apply(v);
}
