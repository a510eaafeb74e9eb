/* christoize/stubs.h — generates christo_stubs.S: the exit wrappers (__wrap_K), entry wrappers
 * (__christo_entry_F), the init wrapper (__christo_init) and the cleanup wrapper (__christo_exit),
 * with a named local label on every hypercall instruction so its offset in the final text is known.
 * Layouts and stack pictures: docs/christoize.md "Wrapper layouts". */
#ifndef CHRISTOIZE_STUBS_H
#define CHRISTOIZE_STUBS_H

#include <stddef.h>
#include <stdio.h>

/* Hypercall numbers. The authoritative copy is hv/core/hypercall.h (added there with exactly these
 * values by the hypervisor side); christoize keeps its own so it builds without the hv headers. */
#define CZ_HC_GUARD_INIT      0x50530100u /* RBX = GVA of the claimed 32-byte SHA-256 */
#define CZ_HC_GUARD_DEINIT    0x50530101u
#define CZ_HC_BORDER_IN_CALL  0x50530102u
#define CZ_HC_BORDER_OUT_RET  0x50530103u
#define CZ_HC_BORDER_OUT_CALL 0x50530104u
#define CZ_HC_BORDER_IN_RET   0x50530105u

enum cs_kind {
    CS_EXIT,    /* __wrap_K: lower, call the kernel's K, raise */
    CS_ENTRY,   /* __christo_entry_F: raise, call the module's F, lower */
    CS_INIT,    /* __christo_init: register (+raise), call init_module, lower */
    CS_CLEANUP, /* __christo_exit: raise, call cleanup_module, deinit (lower + unregister) */
};

struct cs_wrap {
    enum cs_kind kind;
    const char *name;   /* the wrapped function's name (for .gmeta): K, F, or the init/exit function */
    const char *sym;    /* the wrapper's symbol */
    const char *target; /* what it calls: __real_K, __christo_orig_F, init_module, cleanup_module */
    int weak;           /* CS_EXIT: the module's own reference to K is weak (K may be absent at load) */
};

struct cs_site {
    unsigned kind; /* enum gmeta_site_kind */
    unsigned wrap; /* index into the wrapper array (= the .gmeta function index) */
};

#define CS_SITE_PREFIX "__christo_site_" /* site i is the local symbol __christo_site_<i> */
#define CS_HASH_SYM    "__christo_claimed_hash"

/* Writes the assembly for w[0..n) to f. Returns the sites (malloc'd, numbered in order) and their
 * count, or -1 on out of memory. */
int cs_write(FILE *f, const char *modname, const struct cs_wrap *w, size_t n, struct cs_site **sites, size_t *nsites);

#endif
