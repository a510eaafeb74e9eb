/*
 * Border control's reports: the guard statistics (one printer, for the log at the end of a run and
 * for the admin shell's `stats`), make bench's marks, and the crossed sites with the functions they
 * belong to.
 */
#include "guard/border_state.h"
#include "lib/log.h"
#include "lib/page_alloc.h"
#include "lib/timebase.h"
#include "core/vm.h"
#include <stdarg.h>

/* fn for every hypercall site of a loaded module that was crossed at least once, with the function
 * the site belongs to. */
typedef void (*site_fn)(void *ctx, const struct guard_module *mod, const struct guard_site *site, const char *function);

static void for_each_crossed_site(const struct border *b, int module, site_fn fn, void *ctx)
{
    const struct guard_module *mod = b->guard.mod[module];
    if (!mod->used)
        return;
    for (u32 s = 0; s < mod->nsites && s < border_mod(b, module)->meta.site_count; s++) {
        struct gmeta_site gs;
        if (!mod->sites[s].count)
            continue;
        gmeta_site_at(&border_mod(b, module)->meta, s, &gs);
        fn(ctx, mod, &mod->sites[s], gmeta_func_name(&border_mod(b, module)->meta, gs.func));
    }
}

/* ------------------------------------------------------------------ the guard statistics */

struct printer {
    enum border_stats_form form;
    border_line_fn out;
    void *ctx;
};

static void say(const struct printer *p, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void say(const struct printer *p, const char *fmt, ...)
{
    char line[512]; /* as a log line */
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    p->out(p->ctx, line);
}

static void say_site(void *ctx, const struct guard_module *mod, const struct guard_site *site, const char *function)
{
    const struct printer *p = ctx;
    const char *kind = guard_site_kind_name((enum gmeta_site_kind)site->kind);
    unsigned long long n = site->count, each = site->cycles / site->count;

    if (p->form == BORDER_STATS_LOG)
        say(p, "guard:   site +0x%x %s %s: %llu crossings, %llu cycles each", site->offset, kind, function, n, each);
    else
        say(p, "  %s +0x%x %-8s %-28s %8llu crossings, %8llu cycles each", mod->name, site->offset, kind, function, n,
            each);
}

/* Per module: the log has its registrations and crossings by kind before its sites. */
static void say_modules(const struct printer *p, const struct border *b)
{
    for (int m = 0; m < (int)guard_module_count(&b->guard); m++) {
        const struct guard_module *mod = b->guard.mod[m];
        if (!mod->used)
            continue;
        if (p->form == BORDER_STATS_LOG) {
            say(p, "guard: module %s: %llu registrations", mod->name, (unsigned long long)mod->registrations);
            for (int k = 0; k < GUARD_EV_KINDS; k++)
                if (mod->crossings[k])
                    say(p, "guard:   %s %llu", guard_event_name((enum guard_event_kind)k),
                        (unsigned long long)mod->crossings[k]);
        }
        for_each_crossed_site(b, m, say_site, (void *)p);
    }
}

/* Crossings of every module by kind, with the hypervisor cycles each cost. */
static void say_kinds(const struct printer *p, const struct border *b)
{
    const struct guard_stats *st = &b->guard.stats;
    u64 hz = p->form == BORDER_STATS_SHELL ? timebase_tsc_hz() : 0;
    bool any = false;

    for (int k = 0; k < GUARD_EV_KINDS; k++) {
        const char *kind = guard_event_name((enum guard_event_kind)k);
        unsigned long long n = st->events[k], each = n ? st->cycles[k] / n : 0;
        if (!n)
            continue;
        any = true;
        if (p->form == BORDER_STATS_LOG)
            say(p, "guard: crossings %s %llu, %llu cycles each", kind, n, each);
        else
            say(p, "%-16s %10llu crossings, %9llu cycles each (%llu ns)", kind, n, each,
                (unsigned long long)(hz ? each * 1000000000ull / hz : 0));
    }
    if (!any && p->form == BORDER_STATS_SHELL)
        say(p, "no border crossings yet");
}

void border_print_stats(const struct border *b, const struct vm *vm, enum border_stats_form form, border_line_fn out,
                        void *ctx)
{
    const struct printer p = { form, out, ctx };
    const struct guard_stats *st = &b->guard.stats;
    bool log = form == BORDER_STATS_LOG;

    if (log) {
        say_modules(&p, b);
        say_kinds(&p, b);
    } else {
        say_kinds(&p, b);
        say_modules(&p, b);
    }
    if (log && b->intra_calls)
        say(&p, "guard: calls of a module to its own entries, straight to the function (no crossing): %llu",
            (unsigned long long)b->intra_calls);
    for (int k = 1; k < GUARD_SUSP_KINDS; k++) {
        const char *kind = guard_susp_name((enum guard_susp)k);
        if (!st->suspicious[k])
            continue;
        if (log)
            say(&p, "guard: suspicious %s %llu", kind, (unsigned long long)st->suspicious[k]);
        else
            say(&p, "suspicious %s: %llu", kind, (unsigned long long)st->suspicious[k]);
    }
    if (!log)
        say(&p, "exits            %llu in all", (unsigned long long)vm->exits);
}

static void log_line(void *ctx, const char *line) { LOG("%s", line); }

void border_report(const struct vm *vm)
{
    const struct guard *g = &vm->border->guard;
    u32 registered = 0;

    border_print_stats(vm->border, vm, BORDER_STATS_LOG, log_line, NULL);
    for (u32 m = 0; m < guard_module_count(g); m++)
        registered += g->mod[m]->text_known;
    /* Module state comes from the hypervisor's pages (guard_mem_alloc, the metadata copies, the
     * views' tables): what is left, for docs/lab/platform-notes.md's memory per module. */
    LOG("guard: memory: %u modules loaded, %u with registered text; hypervisor pages free: %llu KiB",
        guard_module_count(g), registered, (unsigned long long)(page_pool_free_count(&hv_pages) * PAGE_SIZE / 1024));
}

/* ------------------------------------------------------------------ make bench's marks */

static void mark_site(void *ctx, const struct guard_module *mod, const struct guard_site *site, const char *function)
{
    LOG("guard: mark %u %s %s %s %llu", *(const u32 *)ctx, mod->name,
        guard_site_kind_name((enum gmeta_site_kind)site->kind), function, (unsigned long long)site->count);
}

void border_mark(const struct vm *vm, u32 label)
{
    const struct border *b = vm->border;
    const struct guard *g = &b->guard;

    LOG("guard: mark %u begin", label);
    for (int m = 0; m < (int)guard_module_count(g); m++)
        for_each_crossed_site(b, m, mark_site, &label);
    for (int k = 0; k < GUARD_EV_KINDS; k++)
        LOG("guard: mark %u event %s %llu", label, guard_event_name((enum guard_event_kind)k),
            (unsigned long long)g->stats.events[k]);
    LOG("guard: mark %u exits %llu npf %llu intra %llu", label, (unsigned long long)vm->exits,
        (unsigned long long)b->fetch_faults, (unsigned long long)b->intra_calls);
    LOG("guard: mark %u end", label);
}
