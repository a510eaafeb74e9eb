/* The exit report both backends print when the guest stops (exit_counts.h). */
#include "arch/x86_64/exit_counts.h"
#include "lib/log.h"

void exit_counts_report(const struct exit_counts *c, const char *(*name)(u32 code))
{
    for (u32 code = 0; code < c->size; code++) {
        const char *n;
        if (!c->count[code])
            continue;
        n = name(code);
        if (n)
            LOG("exits %s %llu", n, (unsigned long long)c->count[code]);
        else
            LOG("exits code-0x%x %llu", code, (unsigned long long)c->count[code]);
    }
    if (c->other)
        LOG("exits other %llu", (unsigned long long)c->other);
}
