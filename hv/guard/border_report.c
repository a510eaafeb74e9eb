/* Border control's reports: the guard statistics at the end of a run, make bench's marks, the
 * crossed sites with the functions they belong to. */
#include "guard/border_state.h"
#include "lib/log.h"
#include "core/vm.h"

static void report_site(void *ctx, const struct guard_module *mod, const struct guard_site *site, const char *function)
{
    LOG("guard:   site +0x%x %s %s: %llu crossings, %llu cycles each", site->offset,
        guard_site_kind_name((enum guard_site_kind)site->kind), function, (unsigned long long)site->count,
        (unsigned long long)(site->cycles / site->count));
}

void border_report(const struct border *b)
{
    const struct guard *g = &b->guard;

    for (int m = 0; m < GUARD_MAX_MODULES; m++) {
        const struct guard_module *mod = &g->mod[m];
        if (!mod->used)
            continue;
        LOG("guard: module %s: %llu registrations", mod->name, (unsigned long long)mod->registrations);
        for (int k = 0; k < GUARD_EV_KINDS; k++)
            if (mod->crossings[k])
                LOG("guard:   %s %llu", guard_event_name((enum guard_event_kind)k),
                    (unsigned long long)mod->crossings[k]);
        border_for_each_crossed_site(b, m, report_site, NULL);
    }
    for (int k = 0; k < GUARD_EV_KINDS; k++)
        if (g->stats.events[k])
            LOG("guard: crossings %s %llu, %llu cycles each", guard_event_name((enum guard_event_kind)k),
                (unsigned long long)g->stats.events[k], (unsigned long long)(g->stats.cycles[k] / g->stats.events[k]));
    if (b->intra_calls)
        LOG("guard: calls of a module to its own entries, straight to the function (no crossing): %llu",
            (unsigned long long)b->intra_calls);
    for (int k = 1; k < GUARD_SUSP_KINDS; k++)
        if (g->stats.suspicious[k])
            LOG("guard: suspicious %s %llu", guard_susp_name((enum guard_susp)k),
                (unsigned long long)g->stats.suspicious[k]);
}

static void mark_site(void *ctx, const struct guard_module *mod, const struct guard_site *site, const char *function)
{
    LOG("guard: mark %u %s %s %s %llu", *(const u32 *)ctx, mod->name, guard_site_kind_name((enum guard_site_kind)site->kind),
        function, (unsigned long long)site->count);
}

void border_mark(const struct vm *vm, u32 label)
{
    const struct border *b = vm->border;
    const struct guard *g = &b->guard;

    LOG("guard: mark %u begin", label);
    for (int m = 0; m < GUARD_MAX_MODULES; m++)
        border_for_each_crossed_site(b, m, mark_site, &label);
    for (int k = 0; k < GUARD_EV_KINDS; k++)
        LOG("guard: mark %u event %s %llu", label, guard_event_name((enum guard_event_kind)k),
            (unsigned long long)g->stats.events[k]);
    LOG("guard: mark %u exits %llu npf %llu intra %llu", label, (unsigned long long)vm->exits,
        (unsigned long long)b->fetch_faults, (unsigned long long)b->intra_calls);
    LOG("guard: mark %u end", label);
}

void border_for_each_crossed_site(const struct border *b, int module, border_site_fn fn, void *ctx)
{
    const struct guard_module *mod;
    if (module < 0 || module >= GUARD_MAX_MODULES || !b->guard.mod[module].used)
        return;
    mod = &b->guard.mod[module];
    for (u32 s = 0; s < mod->nsites && s < b->meta[module].site_count; s++) {
        struct gmeta_site gs;
        if (!mod->sites[s].count)
            continue;
        gmeta_site_at(&b->meta[module], s, &gs);
        fn(ctx, mod, &mod->sites[s], gmeta_func_name(&b->meta[module], gs.func));
    }
}
