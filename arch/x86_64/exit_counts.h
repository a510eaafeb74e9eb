/* VM-exit counts by exit code, kept by either backend for the "exits <name> <count>" report. */
#ifndef POSTERN_X86_EXIT_COUNTS_H
#define POSTERN_X86_EXIT_COUNTS_H

#include "lib/types.h"

struct exit_counts {
    u64 *count; /* [size], indexed by exit code */
    u32 size;
    u64 other; /* codes >= size */
};

static inline void exit_counts_add(struct exit_counts *c, u32 code)
{
    if (code < c->size)
        c->count[code]++;
    else
        c->other++;
}

/* One LOG line per code seen: "exits NAME N" (name(code) may be NULL: "exits code-0xN N"). */
void exit_counts_report(const struct exit_counts *c, const char *(*name)(u32 code));

#endif
