/* christoize/build.h — `christoize build`: an unmodified kernel module (source + Kbuild/Makefile)
 * in, a guarded NAME.ko and NAME.gmeta out. The pipeline (docs/christoize.md, "The build"):
 *   1. copy the module to OUT/work, build it with kbuild plus the guarded-build flags;
 *   2. analyse NAME.o (entries, exits, hazards) and refuse what cannot be wrapped safely;
 *   3. generate and assemble christo_stubs.S (entry/exit/init/cleanup wrappers);
 *   4. retarget address-taken references to the entry wrappers (libelf, in copies of the objects);
 *   5. link NAME.ko ourselves (one merged .text, ld --wrap for every exit);
 *   6. hash the text as loaded (deterministic relocations applied, holes zeroed), patch the
 *      claimed hash into the .ko;
 *   7. write NAME.gmeta. */
#ifndef CHRISTOIZE_BUILD_H
#define CHRISTOIZE_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Without --kdir: the guest kernel this build tree chose. guest-images/kernel.sh writes its release
 * to build/guest/kernel-release, beside build/christoize/ where the tool lives; the default is
 * /lib/modules/RELEASE/build. No kernel version is named in the tool itself. */
#define CB_GUEST_RELEASE_FILE "../guest/kernel-release" /* relative to the christoize binary */
#ifndef CB_DEFAULT_ABSORB_DIR
#define CB_DEFAULT_ABSORB_DIR "christoize/absorb"
#endif

struct cb_opts {
    const char *module_dir;   /* the developer's module tree (never modified) */
    const char *name;         /* the module's name (obj-m := NAME.o) */
    const char *kdir;         /* kernel build tree; NULL = cb_default_kdir() */
    const char *out;          /* output directory */
    const char *const *privs; /* privilege names for .gmeta */
    size_t nprivs;
    const char *const *adds; /* --entries-add lists (comma separated), in order */
    size_t nadds;
    const char *const *rems; /* --entries-remove lists */
    size_t nrems;
    const char *entries_file; /* --entries-file, or NULL */
    const char *absorb_list;  /* --absorb: kernel functions to absorb, or NULL */
    const char *absorb_dir;   /* --absorb-dir; NULL = CB_DEFAULT_ABSORB_DIR */
    FILE *progress;           /* one line per step, or NULL */
};

/* The default kernel build tree into buf: 0, or -1 with the reason (naming --kdir) in buf. */
int cb_default_kdir(char *buf, size_t n);

struct cb_result {
    char ko[4096];
    char gmeta[4096];
    size_t nentries; /* entry wrappers, init and cleanup included */
    size_t nexits;   /* exit wrappers */
    size_t nsites, nholes, nretargeted;
    size_t nabsorbed;       /* kernel functions absorbed (--absorb) */
    size_t nabsorbed_calls; /* the module's call sites redirected to them */
    uint32_t text_len;
    uint8_t sha256[32];
};

/* Runs the pipeline. 0 on success; -1 with one message naming the step, the file and the
 * function/symbol/site in err. Command output goes to OUT/christoize.log. */
int cb_build(const struct cb_opts *o, struct cb_result *res, char *err, size_t errlen);

#endif
