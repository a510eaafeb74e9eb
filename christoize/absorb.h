/* christoize/absorb.h — leaf-function absorption (docs/christoize.md, "Absorbing leaf functions").
 * A kernel function the module calls may run inside the border instead of behind an exit wrapper
 * when we have an implementation of our own for it (christoize/absorb/F.c, compiled by kbuild
 * against the module's headers) and that implementation passes the checks below. The developer
 * chooses, in a list file, which of the passing ones to absorb; nothing is absorbed silently.
 *
 * An implementation defines exactly one function, christo_absorbed_F, with F's prototype, and a
 * record (CHRISTO_ABSORB in absorb/christo_absorb.h) naming F, the kernel functions it may call out
 * to (its slow paths, which stay exit-wrapped calls) and the kernel data it reads. It is rejected,
 * with every reason, when it:
 *   - calls a kernel function it does not declare, or one that takes a lock;
 *   - references kernel data it does not declare, or keeps writable data of its own;
 *   - executes a LOCK-prefixed or xchg-with-memory instruction (.smp_locks entries or the
 *     instruction itself), touches per-CPU data (%gs), calls or jumps indirectly, or changes the
 *     interrupt flag or other privileged state (cli, sti, popf, hlt, in/out, MSRs, control registers);
 *   - defines any other function (its code must be one range, so the build can tell the module's
 *     calls to F, which it redirects, from the implementation's own slow-path calls, which it keeps). */
#ifndef CHRISTOIZE_ABSORB_H
#define CHRISTOIZE_ABSORB_H

#include <stddef.h>
#include <stdio.h>

#include "analysis.h"

#define AB_RECORD_SECTION ".discard.christo_absorb"
#define AB_PREFIX         "christo_absorbed_"

struct ab_impl {
    char *path;
    char *func; /* the kernel function it absorbs */
    char **exits;
    size_t nexits; /* declared slow-path calls (stay exit-wrapped) */
    char **reads;
    size_t nreads; /* declared kernel data it reads */
    char **calls;
    size_t ncalls; /* kernel functions it calls (observed) */
    char **data;
    size_t ndata; /* kernel data it references (observed) */
    char **reasons;
    size_t nreasons; /* why it cannot be absorbed; none = absorbable */
};

/* Checks one compiled implementation. 0 with *im filled (im->nreasons says whether it passed); -1
 * with a message naming the file when it is unreadable or carries no CHRISTO_ABSORB record. */
int ab_check(const char *path, struct ab_impl *im, char *err, size_t errlen);
void ab_free(struct ab_impl *im);

/* The developer's list: one function name per line, '#' comments. 0, or -1 with file:line in err. */
int ab_read_list(const char *path, char ***names, size_t *n, char *err, size_t errlen);
void ab_free_list(char **names, size_t n);

/* A lock-taking kernel function (spin/rw/mutex/semaphore/rcu locks): never absorbed around. */
int ab_is_lock_function(const char *name);

/* The candidate table: every exit of the module with its static call sites and its verdict:
 * "absorbed" (listed and passing), "absorbable" (passing, not listed), "rejected: ..." (with the
 * reasons) or "no implementation". 'listed' may be NULL. */
void ab_report(FILE *f, const struct ca_result *module, const struct ab_impl *impls, size_t nimpls, char *const *listed,
               size_t nlisted);

#endif
