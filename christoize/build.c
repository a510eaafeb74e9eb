/* christoize/build.c — `christoize build`; see build.h and docs/christoize.md ("The build"). */
#include "build.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absorb.h"
#include "analysis.h"
#include "elfedit.h"
#include "elfobj.h"
#include "stubs.h"
#include "texthash.h"
#include "../hv/guard/gmeta.h"

#define PATHSZ 4096

struct ctx {
    const struct cb_opts *o;
    struct cb_result *res;
    char *err;
    size_t errlen;
    const char *kdir;
    char out[PATHSZ], work[PATHSZ], log[PATHSZ], moddir[PATHSZ];
    char obj[PATHSZ], modobj[PATHSZ], cobj[PATHSZ], cmodobj[PATHSZ];
    char stubs_s[PATHSZ], stubs_o[PATHSZ], lds[PATHSZ], ko[PATHSZ], gmeta[PATHSZ];
    char modname[GMETA_NAME_MAX + 1];
    struct co_object objf; /* NAME.o as kbuild built it */
    struct ca_result an;
    int have_obj, have_an;
    /* wrappers */
    struct cs_wrap *w;
    size_t nw;
    char **names; /* strings owned by the wrapper table */
    size_t nnames;
    struct cs_site *sites;
    size_t nsites;
    /* absorption (--absorb) */
    char absorb_dir[PATHSZ];
    char **absorb; /* the developer's list */
    size_t nabsorb;
    struct ab_impl *impls; /* every implementation compiled, checked */
    size_t nimpls;
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void progress(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(struct ctx *c, const char *fmt, ...)
{
    if (!c->o->progress)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(c->o->progress, "christoize build: ");
    vfprintf(c->o->progress, fmt, ap);
    fputc('\n', c->o->progress);
    fflush(c->o->progress);
    va_end(ap);
}

static int pathf(struct ctx *c, char *dst, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(struct ctx *c, char *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, PATHSZ, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATHSZ)
        return fail(c, "path too long: %s", dst);
    return 0;
}

static char *own(struct ctx *c, const char *s)
{
    char **n = realloc(c->names, (c->nnames + 1) * sizeof(*n));
    if (!n)
        return NULL;
    c->names = n;
    char *d = strdup(s);
    if (d)
        c->names[c->nnames++] = d;
    return d;
}

int cb_default_kdir(char *buf, size_t n)
{
    char exe[PATHSZ], file[PATHSZ + 32], rel[128] = "";
    ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash = l > 0 ? (exe[l] = 0, strrchr(exe, '/')) : NULL;
    if (!slash) {
        snprintf(buf, n, "no --kdir given and the tool's own path is unknown: pass --kdir /lib/modules/RELEASE/build");
        return -1;
    }
    *slash = 0;
    snprintf(file, sizeof(file), "%s/" CB_GUEST_RELEASE_FILE, exe);
    FILE *f = fopen(file, "r");
    int ok = f && fgets(rel, sizeof(rel), f);
    if (f)
        fclose(f);
    rel[strcspn(rel, "\r\n")] = 0;
    for (const char *p = rel; ok && *p; p++)
        ok = *p != '/' && *p != ' ';
    if (!ok || !*rel) {
        snprintf(buf, n,
                 "no --kdir given and no guest kernel chosen by this build tree (%s: %s): "
                 "run `make guest`, or pass --kdir /lib/modules/RELEASE/build",
                 file, f ? "unreadable or empty" : strerror(errno));
        return -1;
    }
    snprintf(buf, n, "/lib/modules/%s/build", rel);
    return 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Runs argv with stdout/stderr appended to the log; returns the exit status (or -1). */
static int run(struct ctx *c, char *const argv[])
{
    FILE *lf = fopen(c->log, "a");
    if (lf) {
        fputs("$", lf);
        for (size_t i = 0; argv[i]; i++)
            fprintf(lf, " %s", argv[i]);
        fputc('\n', lf);
        fclose(lf);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(c->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The last lines of the log, for an error message. */
static const char *log_tail(struct ctx *c)
{
    static char buf[1200];
    buf[0] = 0;
    FILE *f = fopen(c->log, "r");
    if (!f)
        return buf;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    long from = sz > (long)sizeof(buf) - 1 ? sz - (long)sizeof(buf) + 1 : 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    char *nl = from ? strchr(buf, '\n') : NULL;
    return nl ? nl + 1 : buf;
}

/* Appends sep (unless dst is empty) and s to dst when both fit. */
static void append(char *dst, size_t cap, const char *sep, const char *s)
{
    size_t l = strlen(dst), ls = dst[0] ? strlen(sep) : 0, n = strlen(s);
    if (l + ls + n + 1 > cap)
        return;
    memcpy(dst + l, sep, ls);
    memcpy(dst + l + ls, s, n + 1);
}

static int copy_file(struct ctx *c, const char *from, const char *to);

/* ------------------------------------------------------------------ 1. inputs, copy, kbuild */

static int valid_name(const char *n)
{
    size_t l = strlen(n);
    if (!l || l > GMETA_NAME_MAX)
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return 0;
    return 1;
}

/* --absorb: the list, and an implementation in the absorb directory for each function it names. */
static int absorb_inputs(struct ctx *c)
{
    const char *dir = c->o->absorb_dir ? c->o->absorb_dir : CB_DEFAULT_ABSORB_DIR;
    if (!realpath(dir, c->absorb_dir) || !is_dir(c->absorb_dir))
        return fail(c, "build: absorb directory %s: %s", dir, strerror(errno ? errno : ENOTDIR));
    if (ab_read_list(c->o->absorb_list, &c->absorb, &c->nabsorb, c->err, c->errlen))
        return -1;
    for (size_t i = 0; i < c->nabsorb; i++) {
        char p[PATHSZ];
        if (pathf(c, p, "%s/%s.c", c->absorb_dir, c->absorb[i]))
            return -1;
        if (!is_file(p))
            return fail(c,
                        "build: %s lists %s, but %s has no implementation of it (%s.c); christoize absorbs only "
                        "functions it has an implementation for",
                        c->o->absorb_list, c->absorb[i], c->absorb_dir, c->absorb[i]);
    }
    return 0;
}

static int check_inputs(struct ctx *c)
{
    const struct cb_opts *o = c->o;
    if (!o->module_dir || !o->name || !o->out)
        return fail(c, "build: --module-dir, --name and --out are required");
    if (!valid_name(o->name))
        return fail(c, "build: module name '%s': 1-%d characters of [A-Za-z0-9_-]", o->name, GMETA_NAME_MAX);
    snprintf(c->modname, sizeof(c->modname), "%s", o->name);
    for (char *p = c->modname; *p; p++)
        if (*p == '-')
            *p = '_'; /* KBUILD_MODNAME */
    if (o->nprivs > GMETA_MAX_PRIVS)
        return fail(c, "build: %zu privileges, at most %d", o->nprivs, GMETA_MAX_PRIVS);
    for (size_t i = 0; i < o->nprivs; i++) {
        const char *p = o->privs[i];
        size_t l = strlen(p);
        int ok = l && l <= GMETA_PRIV_NAME_MAX;
        for (size_t k = 0; ok && k < l; k++)
            ok = (p[k] >= 'a' && p[k] <= 'z') || (p[k] >= '0' && p[k] <= '9') || p[k] == '_' || p[k] == '-';
        if (!ok)
            return fail(c, "build: privilege '%s': 1-%d characters of [a-z0-9_-]", p, GMETA_PRIV_NAME_MAX);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(o->privs[k], p))
                return fail(c, "build: privilege '%s' given twice", p);
    }
    if (o->kdir) {
        c->kdir = o->kdir;
    } else {
        char kd[PATHSZ];
        if (cb_default_kdir(kd, sizeof(kd)))
            return fail(c, "build: %s", kd);
        if (!(c->kdir = own(c, kd)))
            return fail(c, "build: out of memory");
    }
    char p[PATHSZ], q[PATHSZ];
    snprintf(p, sizeof(p), "%s/Makefile", c->kdir);
    snprintf(q, sizeof(q), "%s/include/config/auto.conf", c->kdir);
    if (!is_dir(c->kdir) || !is_file(p) || !is_file(q))
        return fail(c,
                    "build: kernel header tree %s is missing or incomplete (need its Makefile and "
                    "include/config/auto.conf): install the guest's headers (apt-get install linux-headers-amd64) "
                    "or pass --kdir",
                    c->kdir);
    if (!is_dir(o->module_dir))
        return fail(c, "build: module directory %s: %s", o->module_dir, strerror(errno ? errno : ENOTDIR));
    char kb[PATHSZ], mk[PATHSZ];
    snprintf(kb, sizeof(kb), "%s/Kbuild", o->module_dir);
    snprintf(mk, sizeof(mk), "%s/Makefile", o->module_dir);
    if (!is_file(kb) && !is_file(mk))
        return fail(c, "build: %s has neither a Kbuild nor a Makefile: not a kernel module source tree", o->module_dir);
    if (mkdir(o->out, 0755) && errno != EEXIST)
        return fail(c, "build: cannot create %s: %s", o->out, strerror(errno));
    char rm[PATHSZ], ro[PATHSZ];
    if (!realpath(o->module_dir, rm) || !realpath(o->out, ro))
        return fail(c, "build: cannot resolve %s or %s: %s", o->module_dir, o->out, strerror(errno));
    size_t lm = strlen(rm);
    if (!strcmp(rm, ro) || (!strncmp(ro, rm, lm) && ro[lm] == '/'))
        return fail(c, "build: --out %s is inside the module directory %s; choose a directory outside it", o->out,
                    o->module_dir);
    snprintf(c->out, sizeof(c->out), "%s", ro);
    if (o->absorb_list && absorb_inputs(c))
        return -1;
    if (pathf(c, c->work, "%s/work", c->out) || pathf(c, c->log, "%s/christoize.log", c->out) ||
        pathf(c, c->ko, "%s/%s.ko", c->out, o->name) || pathf(c, c->gmeta, "%s/%s.gmeta", c->out, o->name))
        return -1;
    unlink(c->log);
    return 0;
}

/* The guarded-build flags, pulled into the copied Kbuild/Makefile by one appended include line. */
static const char guard_mk[] =
    "# Generated by `christoize build` (docs/christoize.md, \"Guarded-build flags\").\n"
    "# No ftrace: no __fentry__ calls, no __mcount_loc table for ftrace to patch.\n"
    "ccflags-remove-y += $(CC_FLAGS_FTRACE)\n"
    "# No retpoline or return thunks: indirect branches and returns stay as compiled, nothing for\n"
    "# apply_retpolines/apply_returns to rewrite.\n"
    "ccflags-y += -mindirect-branch=keep -mfunction-return=keep\n"
    "# No objtool: no .static_call_sites, .retpoline_sites, .return_sites, ORC.\n"
    "OBJECT_FILES_NON_STANDARD := y\n"
    "# Static branches compiled as the kernel expects without objtool: see christo-guard.h.\n";

/* Force-included after the kernel's kconfig.h (ccflags-y follows LINUXINCLUDE on the command line).
 * With CONFIG_HAVE_JUMP_LABEL_HACK (Debian's 6.1 config has it), arch_static_branch() compiles a
 * 'jmp' that objtool --hacks=jump_label must turn into a NOP: the kernel takes the site for a NOP.
 * objtool does not run here, so the jmp would stay: the branch always taken, and the first flip of
 * the key a BUG() in __jump_label_patch. Without the option arch_static_branch() emits the 5-byte
 * NOP itself, as the kernel expects. */
static const char guard_h[] = "/* Generated by `christoize build` (docs/christoize.md, \"Guarded-build flags\"). */\n"
                              "#undef CONFIG_HAVE_JUMP_LABEL_HACK\n";

/* Absorption, part 1: every implementation goes into the work tree as christo_absorb_F.c (with
 * christo_absorb.h); the listed ones join NAME.o as extra objects (NAME-y), so modpost records the
 * kernel symbols they use. A module built from one source file has no object list to join. */
static int absorb_copy(struct ctx *c, const char *mkf, const char *inc)
{
    char cmd[PATHSZ * 3];
    snprintf(cmd, sizeof(cmd), "%s/christo_absorb.h", c->absorb_dir);
    char *cpv[] = { "cp", cmd, c->work, NULL };
    if (run(c, cpv) != 0)
        return fail(c, "build: cannot copy %s into %s", cmd, c->work);
    DIR *d = opendir(c->absorb_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 3 || strcmp(de->d_name + l - 2, ".c"))
            continue;
        char from[PATHSZ], to[PATHSZ];
        if (pathf(c, from, "%s/%s", c->absorb_dir, de->d_name) ||
            pathf(c, to, "%s/christo_absorb_%s", c->work, de->d_name) || copy_file(c, from, to)) {
            closedir(d);
            return -1;
        }
    }
    if (d)
        closedir(d);
    if (!c->nabsorb)
        return 0;
    /* does the Kbuild/Makefile give NAME an object list? */
    FILE *f = fopen(mkf, "r");
    char line[1024], want1[300], want2[300];
    snprintf(want1, sizeof(want1), "%s-objs", c->modname);
    snprintf(want2, sizeof(want2), "%s-y", c->modname);
    int multi = 0;
    while (f && fgets(line, sizeof(line), f)) {
        char *p = line + strspn(line, " \t");
        multi |= (!strncmp(p, want1, strlen(want1)) || !strncmp(p, want2, strlen(want2)));
    }
    if (f)
        fclose(f);
    if (!multi)
        return fail(c,
                    "build: --absorb: %s is built from one source file (no %s or %s line in %s); absorption "
                    "links the implementations into the module as extra objects, which needs the module's object "
                    "list: rename %s.c and list it in %s-y",
                    c->o->name, want1, want2, mkf, c->o->name, c->modname);
    f = fopen(inc, "a");
    if (!f)
        return fail(c, "build: cannot append to %s", inc);
    fprintf(f, "# absorbed kernel functions (--absorb %s)\n", c->o->absorb_list);
    for (size_t i = 0; i < c->nabsorb; i++)
        fprintf(f, "%s-y += christo_absorb_%s.o\n", c->modname, c->absorb[i]);
    if (fclose(f))
        return fail(c, "build: cannot append to %s", inc);
    return 0;
}

static int copy_and_build(struct ctx *c)
{
    char src[PATHSZ];
    if (pathf(c, src, "%s/.", c->o->module_dir))
        return -1;
    char *rmv[] = { "rm", "-rf", c->work, NULL };
    char *cpv[] = { "cp", "-a", src, c->work, NULL };
    if (run(c, rmv) != 0 || mkdir(c->work, 0755) || run(c, cpv) != 0)
        return fail(c, "build: copying %s to %s failed (see %s)", c->o->module_dir, c->work, c->log);

    char mkf[PATHSZ], inc[PATHSZ];
    if (pathf(c, inc, "%s/christo-guard.mk", c->work) || pathf(c, mkf, "%s/Kbuild", c->work))
        return -1;
    if (!is_file(mkf) && pathf(c, mkf, "%s/Makefile", c->work))
        return -1;
    char hdr[PATHSZ];
    if (pathf(c, hdr, "%s/christo-guard.h", c->work))
        return -1;
    FILE *f = fopen(hdr, "w");
    if (!f || fputs(guard_h, f) < 0 || fclose(f))
        return fail(c, "build: cannot write %s", hdr);
    f = fopen(inc, "w");
    if (!f || fputs(guard_mk, f) < 0 || fprintf(f, "ccflags-y += -include %s\n", hdr) < 0 || fclose(f))
        return fail(c, "build: cannot write %s", inc);
    f = fopen(mkf, "a");
    if (!f || fprintf(f, "\n# added by christoize build\ninclude %s\n", inc) < 0 || fclose(f))
        return fail(c, "build: cannot append to %s", mkf);
    if (c->o->absorb_list && absorb_copy(c, mkf, inc))
        return -1;

    progress(c, "kbuild %s against %s (log: %s)", c->work, c->kdir, c->log);
    char mv[PATHSZ + 3], jv[32];
    snprintf(mv, sizeof(mv), "M=%s", c->work);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(jv, sizeof(jv), "-j%ld", ncpu > 0 ? ncpu : 1);
    char *makev[] = { "make", jv, "-C", (char *)c->kdir, mv, "modules", NULL };
    if (run(c, makev) != 0)
        return fail(c, "build: kbuild failed for %s against %s; the end of %s:\n%s", c->o->module_dir, c->kdir, c->log,
                    log_tail(c));

    /* modules.order names each module built: find NAME.ko */
    char order[PATHSZ], line[PATHSZ], seen[512] = "";
    if (pathf(c, order, "%s/modules.order", c->work))
        return -1;
    f = fopen(order, "r");
    int found = 0;
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *base = strrchr(line, '/');
        base = base ? base + 1 : line;
        char *dot = strrchr(base, '.');
        if (dot)
            *dot = 0;
        append(seen, sizeof(seen), ", ", base);
        if (!strcmp(base, c->o->name) && !found) {
            found = 1;
            int rc;
            if (base == line)
                rc = pathf(c, c->moddir, "%s", c->work);
            else {
                base[-1] = 0;
                rc = line[0] == '/' ? pathf(c, c->moddir, "%s", line) : pathf(c, c->moddir, "%s/%s", c->work, line);
            }
            if (rc) {
                fclose(f);
                return -1;
            }
        }
    }
    if (f)
        fclose(f);
    if (!found)
        return fail(c, "build: kbuild of %s built no module named %s (modules.order lists: %s)", c->o->module_dir,
                    c->o->name, seen[0] ? seen : "nothing");
    if (pathf(c, c->obj, "%s/%s.o", c->moddir, c->o->name) ||
        pathf(c, c->modobj, "%s/%s.mod.o", c->moddir, c->o->name) ||
        pathf(c, c->cobj, "%s/%s.christo.o", c->moddir, c->o->name) ||
        pathf(c, c->cmodobj, "%s/%s.christo.mod.o", c->moddir, c->o->name) ||
        pathf(c, c->stubs_s, "%s/christo_stubs.S", c->out) || pathf(c, c->stubs_o, "%s/christo_stubs.o", c->out) ||
        pathf(c, c->lds, "%s/christo-module.lds", c->out))
        return -1;
    if (!is_file(c->obj) || !is_file(c->modobj))
        return fail(c, "build: kbuild left no %s or %s", c->obj, c->modobj);

    /* NAME.mod lists the objects kbuild linked (ld -r) into NAME.o: report them */
    char modl[PATHSZ];
    if (pathf(c, modl, "%s/%s.mod", c->moddir, c->o->name))
        return -1;
    f = fopen(modl, "r");
    char objs[1024] = "";
    size_t nobj = 0;
    while (f && fscanf(f, "%1023s", line) == 1) {
        nobj++;
        append(objs, sizeof(objs), " ", line);
    }
    if (f)
        fclose(f);
    progress(c, "kbuild built %s from %zu object%s (%s)", c->obj, nobj, nobj == 1 ? "" : "s", objs);
    return 0;
}

/* Absorption, part 2 (after kbuild): compile the implementations not in the list too (each on its
 * own: one that does not compile against these headers is only rejected), check every one, and
 * refuse a listed one that fails. OUTDIR/absorb-candidates.txt gets the table after the analysis. */
static int absorb_check(struct ctx *c)
{
    char mv[PATHSZ + 3];
    snprintf(mv, sizeof(mv), "M=%s", c->work);
    DIR *d = opendir(c->work);
    struct dirent *de;
    size_t cap = 0;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (strncmp(de->d_name, "christo_absorb_", 15) || l < 3 || strcmp(de->d_name + l - 2, ".c"))
            continue;
        char obj[PATHSZ], fn[256];
        snprintf(fn, sizeof(fn), "%.*s", (int)(l - 17), de->d_name + 15);
        if (pathf(c, obj, "%s/%.*s.o", c->work, (int)(l - 2), de->d_name))
            break;
        if (!is_file(obj)) {
            char *makev[] = { "make", "-C", (char *)c->kdir, mv, obj + strlen(c->work) + 1, NULL };
            run(c, makev);
        }
        if (c->nimpls == cap) {
            struct ab_impl *n = realloc(c->impls, (cap = cap ? 2 * cap : 8) * sizeof(*n));
            if (!n)
                break;
            c->impls = n;
        }
        struct ab_impl *im = &c->impls[c->nimpls];
        char err[1024];
        if (!is_file(obj)) {
            memset(im, 0, sizeof(*im));
            im->func = strdup(fn);
            im->path = strdup(obj);
            char r[2 * PATHSZ + 64];
            snprintf(r, sizeof(r), "does not compile against %s (see %s)", c->kdir, c->log);
            im->reasons = malloc(sizeof(char *));
            if (!im->func || !im->path || !im->reasons || !(im->reasons[0] = strdup(r))) {
                ab_free(im);
                break;
            }
            im->nreasons = 1;
        } else if (ab_check(obj, im, err, sizeof(err))) {
            closedir(d);
            return fail(c, "build: --absorb: %s", err);
        }
        c->nimpls++;
    }
    if (d)
        closedir(d);
    for (size_t i = 0; i < c->nabsorb; i++) {
        const struct ab_impl *im = NULL;
        for (size_t k = 0; k < c->nimpls && !im; k++)
            if (!strcmp(c->impls[k].func, c->absorb[i]))
                im = &c->impls[k];
        if (!im)
            return fail(c, "build: --absorb: no checked implementation of %s", c->absorb[i]);
        if (im->nreasons) {
            char why[2048] = "";
            for (size_t r = 0; r < im->nreasons; r++)
                append(why, sizeof(why), "; ", im->reasons[r]);
            return fail(c, "build: %s lists %s, but its implementation %s is rejected: %s", c->o->absorb_list,
                        c->absorb[i], im->path, why);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ 2. analysis and refusals */

static int apply_list(struct ctx *c, const char *list, int remove)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return fail(c, "out of memory");
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (*t && (remove ? ca_entries_remove : ca_entries_add)(&c->an, t, c->err, c->errlen)) {
            free(copy);
            return -1;
        }
    }
    free(copy);
    return 0;
}

static int is_kind(const struct ca_entry *e, enum ca_ref_kind k)
{
    for (size_t i = 0; i < e->nrefs; i++)
        if (e->refs[i].kind == k)
            return 1;
    return 0;
}

/* The candidate table (every exit, its verdict) into OUTDIR/absorb-candidates.txt; a listed function
 * the module does not call is refused. */
static int absorb_table(struct ctx *c)
{
    for (size_t i = 0; i < c->nabsorb; i++)
        if (!ca_find_exit(&c->an, c->absorb[i]))
            return fail(c, "build: %s lists %s, which %s never calls", c->o->absorb_list, c->absorb[i], c->obj);
    char p[PATHSZ];
    if (pathf(c, p, "%s/absorb-candidates.txt", c->out))
        return -1;
    FILE *f = fopen(p, "w");
    if (!f)
        return fail(c, "build: cannot write %s: %s", p, strerror(errno));
    fprintf(f,
            "# christoize build --absorb %s: every exit of %s and whether it can be absorbed\n"
            "# (sites counts the implementation's own slow-path call too). Edit the list to choose.\n",
            c->o->absorb_list, c->o->name);
    ab_report(f, &c->an, c->impls, c->nimpls, c->absorb, c->nabsorb);
    if (fclose(f))
        return fail(c, "build: cannot write %s", p);
    size_t ok = 0;
    for (size_t i = 0; i < c->nimpls; i++)
        ok += !c->impls[i].nreasons;
    progress(c,
             "absorption: %zu of %zu implementations pass the checks, %zu listed and absorbed; every exit's "
             "verdict in %s",
             ok, c->nimpls, c->nabsorb, p);
    return 0;
}

static int analyse(struct ctx *c)
{
    if (co_open(c->obj, &c->objf, c->err, c->errlen) != CO_OK)
        return -1;
    c->have_obj = 1;
    if (ca_analyze(&c->objf, &c->an, c->err, c->errlen))
        return -1;
    c->have_an = 1;
    if (c->o->entries_file && ca_entries_file(&c->an, c->o->entries_file, c->err, c->errlen))
        return -1;
    for (size_t i = 0; i < c->o->nadds; i++)
        if (apply_list(c, c->o->adds[i], 0))
            return -1;
    for (size_t i = 0; i < c->o->nrems; i++)
        if (apply_list(c, c->o->rems[i], 1))
            return -1;

    /* Refusals: what cannot be wrapped or hashed safely */
    if (th_refused_tables(&c->objf, c->err, c->errlen))
        return -1;
    size_t jt = co_find_section(&c->objf, "__jump_table");
    size_t njl = jt ? c->objf.sec[jt].size / 16 : 0;
    if (njl)
        progress(c,
                 "note: %zu jump-label %s: the kernel may patch them at load; the hypervisor "
                 "accepts only a NOP or a jump into the module's own text there, and any later patch (a static "
                 "key flipped at run time, e.g. dynamic debug enabled for this module) revokes the module",
                 njl, njl == 1 ? "site becomes a hole" : "sites become holes");
    for (size_t i = 0; i < c->an.nruntime; i++)
        return fail(c,
                    "%s: still calls the compiler runtime symbol %s (%u call/jump sites): the guarded-build "
                    "flags did not take effect (does the module's Makefile override ccflags?)",
                    c->obj, c->an.runtime[i].name, c->an.runtime[i].calls + c->an.runtime[i].jumps);
    int has_init = 0;
    for (size_t i = 0; i < c->an.nentries; i++) {
        const struct ca_entry *e = &c->an.entries[i];
        has_init |= is_kind(e, CA_REF_MODULE_INIT);
        for (size_t k = 0; k < e->nrefs; k++)
            if (e->refs[k].kind == CA_REF_TEXT_ADDR && !strncmp(e->refs[k].rtype, "none", 4))
                return fail(c,
                            "%s: the address of %s is taken at %s+0x%llx by an instruction the assembler "
                            "resolved without a relocation; christoize cannot point it at an entry wrapper, so it "
                            "refuses the module (build without -fpie, or make %s non-static)",
                            c->obj, e->name, e->refs[k].from_func ? e->refs[k].from_func : e->refs[k].from_sec,
                            (unsigned long long)e->refs[k].from_func_off, e->name);
        if (!strcmp(e->section, ".altinstr_replacement"))
            return fail(c, "%s: entry point %s lives in .altinstr_replacement", c->obj, e->name);
    }
    if (!has_init)
        return fail(c,
                    "%s: the module has no module_init (no init_module): registration is the init "
                    "function's first act, so christoize needs one",
                    c->obj);
    for (size_t i = 0; i < c->an.nexits; i++)
        if (strlen(c->an.exits[i].name) > GMETA_FUNC_NAME_MAX)
            return fail(c, "%s: exit %s: name longer than %d characters", c->obj, c->an.exits[i].name,
                        GMETA_FUNC_NAME_MAX);
    for (size_t i = 0; i < c->an.ndata; i++)
        if (!strcmp(c->an.data[i].name, "pv_ops") && c->an.data[i].refs_text)
            progress(c,
                     "note: %u paravirt call sites through pv_ops: apply_paravirt patches them at load (holes); "
                     "if left as indirect calls they reach kernel code without an exit wrapper",
                     c->an.data[i].refs_text);
    progress(c, "analysis: %zu entry points, %zu exits, %zu undefined data symbols", c->an.nentries, c->an.nexits,
             c->an.ndata);
    return c->o->absorb_list ? absorb_table(c) : 0;
}

/* ------------------------------------------------------------------ 3+4. wrappers and relocation rewriting */

static int used_name(struct ctx *c, const char *n)
{
    for (size_t i = 0; i < c->objf.nsym; i++)
        if (!strcmp(c->objf.sym[i].name, n))
            return 1;
    for (size_t i = 0; i < c->nnames; i++)
        if (!strcmp(c->names[i], n))
            return 1;
    return 0;
}

static char *unique(struct ctx *c, const char *prefix, const char *name)
{
    char buf[600];
    snprintf(buf, sizeof(buf), "%s%s", prefix, name);
    for (unsigned k = 2; used_name(c, buf); k++)
        snprintf(buf, sizeof(buf), "%s%s__%u", prefix, name, k);
    return own(c, buf);
}

struct entmap {
    const struct ca_entry *e;
    const char *wrap, *orig;
    int special;     /* init or cleanup */
    uint32_t wsym;   /* symbol index of the UNDEF wrapper reference in the rewritten object */
    size_t expected; /* references the analysis counted */
    size_t done;     /* references retargeted */
};

static int plan_wrappers(struct ctx *c, struct entmap **emp)
{
    size_t n = c->an.nentries + c->an.nexits;
    c->w = calloc(n ? n : 1, sizeof(*c->w));
    struct entmap *em = calloc(c->an.nentries ? c->an.nentries : 1, sizeof(*em));
    *emp = em;
    if (!c->w || !em)
        return fail(c, "out of memory");
    /* init and cleanup first, then the entries, then the exits */
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < c->an.nentries; i++) {
            const struct ca_entry *e = &c->an.entries[i];
            int init = is_kind(e, CA_REF_MODULE_INIT), fini = is_kind(e, CA_REF_MODULE_EXIT);
            if ((pass == 0 && !init) || (pass == 1 && !fini) || (pass == 2 && (init || fini)))
                continue;
            struct entmap *m = &em[i];
            m->e = e;
            m->special = init || fini;
            for (size_t k = 0; k < e->nrefs; k++)
                m->expected += e->refs[k].kind == CA_REF_DATA || e->refs[k].kind == CA_REF_TEXT_ADDR;
            struct cs_wrap *x = &c->w[c->nw++];
            x->name = e->name;
            if (init) {
                x->kind = CS_INIT;
                x->sym = m->wrap = "__christo_init";
                x->target = m->orig = "init_module";
            } else if (fini) {
                x->kind = CS_CLEANUP;
                x->sym = m->wrap = "__christo_exit";
                x->target = m->orig = "cleanup_module";
            } else {
                x->kind = CS_ENTRY;
                if (!(m->wrap = unique(c, "__christo_entry_", e->name)) ||
                    !(m->orig = unique(c, "__christo_orig_", e->name)))
                    return fail(c, "out of memory");
                x->sym = m->wrap;
                x->target = m->orig;
                if (!m->expected)
                    progress(c,
                             "note: entry %s has no address-taken reference to redirect (added by hand?): its "
                             "wrapper %s exists but nothing points at it",
                             e->name, m->wrap);
            }
            if (strlen(e->name) > GMETA_FUNC_NAME_MAX)
                return fail(c, "%s: function %s: name longer than %d characters", c->obj, e->name, GMETA_FUNC_NAME_MAX);
        }
    for (size_t i = 0; i < c->an.nexits; i++) {
        char buf[600];
        struct cs_wrap *x = &c->w[c->nw++];
        x->kind = CS_EXIT;
        x->name = c->an.exits[i].name;
        snprintf(buf, sizeof(buf), "__wrap_%s", x->name);
        if (!(x->sym = own(c, buf)))
            return fail(c, "out of memory");
        snprintf(buf, sizeof(buf), "__real_%s", x->name);
        if (!(x->target = own(c, buf)))
            return fail(c, "out of memory");
        x->weak = 0;
        for (size_t k = 0; k < c->objf.nsym; k++)
            if (c->objf.sym[k].shndx == SHN_UNDEF && c->objf.sym[k].bind == STB_WEAK &&
                strcmp(c->objf.sym[k].name, x->name) == 0)
                x->weak = 1;
    }
    return 0;
}

static int copy_file(struct ctx *c, const char *from, const char *to)
{
    char *v[] = { "cp", "-f", (char *)from, (char *)to, NULL };
    if (run(c, v) != 0)
        return fail(c, "build: cannot copy %s to %s", from, to);
    return 0;
}

/* The symbol index of christo_absorbed_F in NAME.o when F is absorbed, else 0. */
static uint32_t absorbed_sym(struct ctx *c, const char *f)
{
    int listed = 0;
    for (size_t i = 0; i < c->nabsorb && !listed; i++)
        listed = !strcmp(c->absorb[i], f);
    if (!listed)
        return 0;
    char n[600];
    snprintf(n, sizeof(n), AB_PREFIX "%s", f);
    for (size_t i = 1; i < c->objf.nsym; i++)
        if (c->objf.sym[i].shndx != SHN_UNDEF && !strcmp(c->objf.sym[i].name, n))
            return (uint32_t)i;
    return 0;
}

/* Is section offset 'off' inside one of the absorbed implementations? (Each is one function.) */
static int inside_absorbed(struct ctx *c, size_t shndx, uint64_t off)
{
    for (size_t i = 1; i < c->objf.nsym; i++) {
        const struct co_symbol *y = &c->objf.sym[i];
        if (y->shndx == shndx && !strncmp(y->name, AB_PREFIX, strlen(AB_PREFIX)) && off >= y->value &&
            off < y->value + y->size)
            return 1;
    }
    return 0;
}

/* In a copy of NAME.o: every address-taken reference to an entry F (data relocation, or a text
 * relocation that is not a call/jmp operand) is retargeted to F's wrapper; every non-call reference
 * to an exit K goes to __real_K (which ld --wrap=K turns back into K), so only calls are wrapped. */
static int rewrite_object(struct ctx *c, struct entmap *em)
{
    if (copy_file(c, c->obj, c->cobj))
        return -1;
    struct ee_file *f = ee_open(c->cobj, c->err, c->errlen);
    if (!f)
        return -1;
    const struct co_object *o = &c->objf;
    for (size_t i = 0; i < c->an.nentries; i++) {
        struct entmap *m = &em[i];
        if (!m->e)
            continue;
        if (!m->special) {
            uint16_t sh = (uint16_t)m->e->shndx;
            if (!ee_add_global(f, m->orig, STT_FUNC, sh, m->e->offset, m->e->size))
                goto oom;
        }
        if (!(m->wsym = ee_add_global(f, m->wrap, STT_NOTYPE, SHN_UNDEF, 0, 0)))
            goto oom;
    }
    size_t nexit_refs = 0;
    for (size_t k = 0; k < o->nrelsec; k++) {
        const struct co_relsec *rs = &o->relsec[k];
        const struct co_section *from = &o->sec[rs->target];
        if (ca_ignored_source(from))
            continue;
        int text = ca_is_text(from);
        for (size_t i = 0; i < rs->n; i++) {
            const struct co_reloc *rl = &rs->r[i];
            const struct co_symbol *sym = &o->sym[rl->sym];
            if (rl->type == R_X86_64_NONE)
                continue;
            int branch = text && ca_branch_at(from, rl->offset, rl->type);
            if (branch && sym->shndx == SHN_UNDEF && absorbed_sym(c, sym->name)) {
                /* the module's call to an absorbed F goes to christo_absorbed_F; the implementation's
                 * own slow-path call to F stays a call to F (ld --wrap: its exit wrapper) */
                if (inside_absorbed(c, rs->target, rl->offset))
                    continue;
                if (ee_set_reloc(f, rs->self, i, absorbed_sym(c, sym->name), rl->addend, c->err, c->errlen))
                    goto bad;
                c->res->nabsorbed_calls++;
                continue;
            }
            if (branch)
                continue; /* direct calls/jumps: inside the module they stay, to the kernel ld --wrap does it */
            if (sym->shndx == SHN_UNDEF) {
                if (!sym->name[0] || !ca_find_exit(&c->an, sym->name))
                    continue;
                char real[600];
                snprintf(real, sizeof(real), "__real_%s", sym->name);
                uint32_t rsym = ee_add_global(f, real, STT_NOTYPE, SHN_UNDEF, 0, 0);
                if (rsym && sym->bind == STB_WEAK)
                    ee_make_weak(f, rsym);
                if (!rsym || ee_set_reloc(f, rs->self, i, rsym, rl->addend, c->err, c->errlen))
                    goto bad;
                nexit_refs++;
                continue;
            }
            uint64_t toff;
            size_t tsec = ca_reloc_target(o, from, rl, &toff);
            if (!tsec || !ca_is_text(&o->sec[tsec]))
                continue;
            for (size_t q = 0; q < c->an.nentries; q++) {
                struct entmap *m = &em[q];
                if (!m->e || m->e->shndx != tsec || m->e->offset != toff)
                    continue;
                /* new S is the wrapper's start: A' = A + S_old - F */
                int64_t a = rl->addend + (int64_t)sym->value - (int64_t)m->e->offset;
                if (ee_set_reloc(f, rs->self, i, m->wsym, a, c->err, c->errlen))
                    goto bad;
                m->done++;
                c->res->nretargeted++;
                break;
            }
        }
    }
    if (ee_close(f, c->err, c->errlen))
        return -1;
    for (size_t i = 0; i < c->an.nentries; i++)
        if (em[i].e && em[i].done != em[i].expected)
            return fail(c,
                        "%s: entry %s: the analysis counted %zu address-taken references but %zu were "
                        "redirected to its wrapper (internal inconsistency; refusing)",
                        c->obj, em[i].e->name, em[i].expected, em[i].done);
    progress(c,
             "redirected %zu address-taken references to entry wrappers, %zu non-call references to "
             "exits kept on the kernel symbol",
             c->res->nretargeted, nexit_refs);
    if (c->nabsorb)
        progress(c,
                 "absorbed %zu kernel function%s: %zu call sites of the module now call the implementation "
                 "inside the border",
                 c->nabsorb, c->nabsorb == 1 ? "" : "s", c->res->nabsorbed_calls);
    c->res->nabsorbed = c->nabsorb;
    return 0;
oom:
    fail(c, "out of memory");
bad : {
    char dummy[8];
    ee_close(f, dummy, sizeof(dummy));
}
    return -1;
}

/* In a copy of NAME.mod.o: __this_module.init -> __christo_init, .exit -> __christo_exit. */
static int rewrite_modobj(struct ctx *c, int has_cleanup)
{
    if (copy_file(c, c->modobj, c->cmodobj))
        return -1;
    struct co_object mo;
    if (co_open(c->modobj, &mo, c->err, c->errlen) != CO_OK)
        return -1;
    struct ee_file *f = ee_open(c->cmodobj, c->err, c->errlen);
    if (!f) {
        co_close(&mo);
        return -1;
    }
    size_t tm = co_find_section(&mo, ".gnu.linkonce.this_module");
    const struct co_relsec *rs = tm ? co_relocs_for(&mo, tm) : NULL;
    int got_init = 0, got_exit = 0, rc = -1;
    for (size_t i = 0; rs && i < rs->n; i++) {
        const char *n = mo.sym[rs->r[i].sym].name;
        const char *to = !strcmp(n, "init_module")      ? "__christo_init"
                         : !strcmp(n, "cleanup_module") ? "__christo_exit"
                                                        : NULL;
        if (!to || rs->r[i].type != R_X86_64_64)
            continue;
        uint32_t s = ee_add_global(f, to, STT_NOTYPE, SHN_UNDEF, 0, 0);
        if (!s || ee_set_reloc(f, rs->self, i, s, rs->r[i].addend, c->err, c->errlen))
            goto out;
        if (!strcmp(to, "__christo_init"))
            got_init = 1;
        else
            got_exit = 1;
    }
    if (!got_init) {
        fail(c, "%s: __this_module.init does not point at init_module: cannot install the init wrapper", c->modobj);
        goto out;
    }
    if (has_cleanup && !got_exit) {
        fail(c, "%s: __this_module.exit does not point at cleanup_module (CONFIG_MODULE_UNLOAD off?)", c->modobj);
        goto out;
    }
    rc = 0;
out:;
    char dummy[64];
    /* dummy is ee_close's error output (written, never read): not an uninitialized use */
    // cppcheck-suppress legacyUninitvar
    if (ee_close(f, rc ? dummy : c->err, rc ? sizeof(dummy) : c->errlen))
        rc = -1;
    co_close(&mo);
    return rc;
}

static int make_stubs(struct ctx *c)
{
    FILE *f = fopen(c->stubs_s, "w");
    if (!f)
        return fail(c, "build: cannot write %s: %s", c->stubs_s, strerror(errno));
    int rc = cs_write(f, c->modname, c->w, c->nw, &c->sites, &c->nsites);
    if (fclose(f) || rc)
        return fail(c, "build: writing %s failed", c->stubs_s);
    char *v[] = { "gcc", "-c", "-o", c->stubs_o, c->stubs_s, NULL };
    if (run(c, v) != 0)
        return fail(c, "build: assembling %s failed; the end of %s:\n%s", c->stubs_s, c->log, log_tail(c));
    if (c->nsites > GMETA_MAX_SITES)
        return fail(c, "build: %zu hypercall sites, over the .gmeta limit of %d", c->nsites, GMETA_MAX_SITES);
    return 0;
}

/* ------------------------------------------------------------------ 5. the final link */

/* Every executable input section goes into one output .text, listed before the kernel's own
 * module.lds so it is the first executable section of the module. .altinstr_replacement stays out:
 * its bytes are only copied into .text by apply_alternatives, never executed where they are. */
static const char merge_lds[] =
    "/* christoize: one hashed .text (docs/christoize.md, \"The final link\") */\n"
    "SECTIONS {\n"
    " /DISCARD/ : { *(.discard) *(.discard.*) }\n"
    " .text 0 : {\n"
    "  *(.text .text.*)\n"
    "  *(.init.text .init.text.*)\n"
    "  *(.exit.text .exit.text.*)\n"
    "  *(.ref.text .meminit.text .memexit.text)\n"
    "  *(.noinstr.text .entry.text .sched.text .cpuidle.text .spinlock.text .kprobes.text .head.text)\n"
    "  *(.altinstr_aux .fixup)\n"
    " }\n"
    "}\n";

static int write_lds(struct ctx *c)
{
    char kl[PATHSZ];
    const char *cands[] = { "scripts/module.lds", "arch/x86/module.lds" };
    kl[0] = 0;
    for (size_t i = 0; i < 2 && !kl[0]; i++) {
        char p[PATHSZ];
        snprintf(p, sizeof(p), "%s/%s", c->kdir, cands[i]);
        if (is_file(p))
            snprintf(kl, sizeof(kl), "%s", p);
    }
    if (!kl[0])
        return fail(c, "build: %s has no scripts/module.lds or arch/x86/module.lds (incomplete header tree)", c->kdir);
    FILE *in = fopen(kl, "r"), *out = fopen(c->lds, "w");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return fail(c, "build: cannot read %s or write %s", kl, c->lds);
    }
    fputs(merge_lds, out);
    fprintf(out, "\n/* %s, verbatim */\n", kl);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    if (fclose(out))
        return fail(c, "build: writing %s failed", c->lds);
    return 0;
}

static int link_ko(struct ctx *c)
{
    size_t max = 20 + c->nw;
    char **v = calloc(max, sizeof(*v));
    char **wraps = calloc(c->nw + 1, sizeof(*wraps));
    if (!v || !wraps) {
        free(v);
        free(wraps);
        return fail(c, "out of memory");
    }
    size_t n = 0, nwr = 0;
    v[n++] = "ld";
    v[n++] = "-r";
    v[n++] = "-m";
    v[n++] = "elf_x86_64";
    v[n++] = "-z";
    v[n++] = "noexecstack";
    v[n++] = "--no-warn-rwx-segments";
    v[n++] = "--build-id=sha1";
    v[n++] = "-T";
    v[n++] = c->lds;
    for (size_t i = 0; i < c->nw; i++)
        if (c->w[i].kind == CS_EXIT) {
            size_t l = strlen(c->w[i].name) + 8;
            wraps[nwr] = malloc(l);
            if (wraps[nwr])
                snprintf(wraps[nwr], l, "--wrap=%s", c->w[i].name);
            v[n++] = wraps[nwr++];
        }
    v[n++] = "-o";
    v[n++] = c->ko;
    v[n++] = c->cobj;
    v[n++] = c->cmodobj;
    v[n++] = c->stubs_o;
    v[n] = NULL;
    int ok = 1;
    for (size_t i = 0; i < nwr; i++)
        ok &= wraps[i] != NULL;
    unlink(c->ko);
    int rc = ok ? run(c, v) : -1;
    for (size_t i = 0; i < nwr; i++)
        free(wraps[i]);
    free(wraps);
    free(v);
    if (rc != 0)
        return fail(c, "build: linking %s failed; the end of %s:\n%s", c->ko, c->log, log_tail(c));
    return 0;
}

/* ------------------------------------------------------------------ 6+7. checks, hash, .gmeta */

static int undefined_in(const struct co_object *o, const char *name)
{
    for (size_t i = 1; i < o->nsym; i++)
        if (o->sym[i].shndx == SHN_UNDEF && !strcmp(o->sym[i].name, name))
            return 1;
    return 0;
}

static int site_cmp(const void *a, const void *b)
{
    const struct gmeta_site *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int patch_hash(struct ctx *c, const struct co_object *ko, const uint8_t sha[32])
{
    size_t si = 0;
    uint64_t val = 0;
    for (size_t i = 1; i < ko->nsym; i++)
        if (!strcmp(ko->sym[i].name, CS_HASH_SYM) && ko->sym[i].shndx != SHN_UNDEF) {
            si = ko->sym[i].shndx;
            val = ko->sym[i].value;
        }
    if (!si || si >= ko->nsec || ko->sec[si].type != SHT_PROGBITS || val + 32 > ko->sec[si].size)
        return fail(c, "%s: no 32-byte %s in a PROGBITS section", c->ko, CS_HASH_SYM);
    if (ko->sec[si].flags & SHF_EXECINSTR)
        return fail(c, "%s: %s landed in executable %s", c->ko, CS_HASH_SYM, ko->sec[si].name);
    int fd = open(c->ko, O_RDWR);
    Elf *e = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
    GElf_Shdr sh;
    Elf_Scn *scn = e ? elf_getscn(e, si) : NULL;
    int ok = scn && gelf_getshdr(scn, &sh);
    if (e)
        elf_end(e);
    if (!ok || pwrite(fd, sha, 32, (off_t)(sh.sh_offset + val)) != 32) {
        if (fd >= 0)
            close(fd);
        return fail(c, "%s: cannot patch the claimed hash", c->ko);
    }
    close(fd);
    return 0;
}

static int finish(struct ctx *c)
{
    struct co_object ko;
    if (co_open(c->ko, &ko, c->err, c->errlen) != CO_OK)
        return -1;
    int rc = -1;
    struct th_result th = { 0 };
    struct gmeta_site *gs = NULL;
    const char **funcs = NULL;
    u8 *buf = NULL;

    /* exactly one executable section (besides the alternative replacements) */
    size_t text = co_find_section(&ko, ".text");
    for (size_t i = 1; i < ko.nsec; i++)
        if (ca_is_text(&ko.sec[i]) && i != text && strcmp(ko.sec[i].name, ".altinstr_replacement")) {
            fail(c,
                 "%s: executable section %s was not merged into .text (christo-module.lds does not know "
                 "it): refusing, its code would be outside the hashed region",
                 c->ko, ko.sec[i].name);
            goto out;
        }
    /* nothing new is undefined: ld --wrap resolved every __wrap_K/__real_K, and the kernel symbols are
     * exactly those modpost versioned in NAME.mod.o */
    for (size_t i = 1; i < ko.nsym; i++)
        if (ko.sym[i].shndx == SHN_UNDEF && ko.sym[i].name[0] && !undefined_in(&c->objf, ko.sym[i].name)) {
            fail(c, "%s: undefined symbol %s was not undefined in %s (a wrapper reference left unresolved)", c->ko,
                 ko.sym[i].name, c->obj);
            goto out;
        }
    /* every direct call/jmp from .text to an undefined (kernel) symbol went through ld --wrap */
    const struct co_relsec *trs = text ? co_relocs_for(&ko, text) : NULL;
    for (size_t i = 0; trs && i < trs->n; i++) {
        const struct co_symbol *s = &ko.sym[trs->r[i].sym];
        if (s->shndx == SHN_UNDEF && ca_branch_at(&ko.sec[text], trs->r[i].offset, trs->r[i].type)) {
            fail(c, "%s: .text+0x%llx still calls the kernel's %s directly (not wrapped)", c->ko,
                 (unsigned long long)trs->r[i].offset - 1, s->name);
            goto out;
        }
    }
    if (th_compute(&ko, ".text", &th, c->err, c->errlen))
        goto out;

    /* the sites, by their labels */
    gs = calloc(c->nsites ? c->nsites : 1, sizeof(*gs));
    funcs = calloc(c->nw ? c->nw : 1, sizeof(*funcs));
    if (!gs || !funcs) {
        fail(c, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c->nw; i++)
        funcs[i] = c->w[i].name;
    size_t found = 0;
    for (size_t i = 1; i < ko.nsym; i++) {
        const struct co_symbol *s = &ko.sym[i];
        if (strncmp(s->name, CS_SITE_PREFIX, strlen(CS_SITE_PREFIX)))
            continue;
        char *end;
        unsigned long k = strtoul(s->name + strlen(CS_SITE_PREFIX), &end, 10);
        if (*end || k >= c->nsites || s->shndx != text) {
            fail(c, "%s: stray site label %s", c->ko, s->name);
            goto out;
        }
        const uint8_t *b = ko.sec[text].data + s->value;
        if (s->value + 3 > ko.sec[text].size || b[0] != 0x0f || b[1] != 0x01 || b[2] != 0xd9) {
            fail(c, "%s: site %s at .text+0x%llx is not a vmmcall", c->ko, s->name, (unsigned long long)s->value);
            goto out;
        }
        gs[k] = (struct gmeta_site){ (u32)s->value, (u16)c->sites[k].wrap, (u8)c->sites[k].kind };
        found++;
    }
    if (found != c->nsites) {
        fail(c, "%s: %zu of %zu hypercall site labels found (were local symbols discarded?)", c->ko, found, c->nsites);
        goto out;
    }
    qsort(gs, c->nsites, sizeof(*gs), site_cmp);

    /* module name as the kernel will see it */
    size_t mi = co_find_section(&ko, ".modinfo");
    if (!ko.modname || strcmp(ko.modname, c->modname) || !mi) {
        fail(c, "%s: .modinfo name is '%s', expected '%s'", c->ko, ko.modname ? ko.modname : "?", c->modname);
        goto out;
    }
    if (patch_hash(c, &ko, th.sha256))
        goto out;

    struct gmeta_builder b = {
        .name = c->modname,
        .privs = c->o->privs,
        .priv_count = (u32)c->o->nprivs,
        .text_len = th.text_len,
        .funcs = funcs,
        .func_count = (u32)c->nw,
        .sites = gs,
        .site_count = (u32)c->nsites,
        .holes = th.holes,
        .hole_count = (u32)th.nholes,
        .sig_alg = GMETA_SIG_NONE,
    };
    memcpy(b.text_sha256, th.sha256, 32);
    u64 sz = gmeta_size(&b), len = 0;
    char gerr[300];
    buf = malloc(sz ? sz : GMETA_MAX_SIZE);
    if (!buf || gmeta_write(&b, buf, sz ? sz : GMETA_MAX_SIZE, &len, gerr, sizeof(gerr))) {
        fail(c, "%s: writing .gmeta: %s", c->gmeta, buf ? gerr : "out of memory");
        goto out;
    }
    FILE *f = fopen(c->gmeta, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
        fail(c, "build: cannot write %s", c->gmeta);
        goto out;
    }
    c->res->nsites = c->nsites;
    c->res->nholes = th.nholes;
    c->res->text_len = th.text_len;
    memcpy(c->res->sha256, th.sha256, 32);
    progress(c, "text %u bytes, %zu relocations applied, %zu holes (%zu jump labels), %zu hypercall sites", th.text_len,
             th.applied, th.nholes, th.jump_labels, c->nsites);
    rc = 0;
out:
    free(buf);
    free(gs);
    free(funcs);
    th_free(&th);
    co_close(&ko);
    return rc;
}

int cb_build(const struct cb_opts *o, struct cb_result *res, char *err, size_t errlen)
{
    struct ctx c = { .o = o, .res = res, .err = err, .errlen = errlen };
    struct entmap *em = NULL;
    memset(res, 0, sizeof(*res));
    err[0] = 0;
    int rc = -1;
    if (elf_version(EV_CURRENT) == EV_NONE) {
        fail(&c, "libelf initialisation failed");
        goto out;
    }
    if (check_inputs(&c) || copy_and_build(&c) || (o->absorb_list && absorb_check(&c)) || analyse(&c) ||
        plan_wrappers(&c, &em))
        goto out;
    int has_cleanup = 0;
    for (size_t i = 0; i < c.nw; i++)
        has_cleanup |= c.w[i].kind == CS_CLEANUP;
    if (rewrite_object(&c, em) || rewrite_modobj(&c, has_cleanup) || make_stubs(&c) || write_lds(&c) || link_ko(&c) ||
        finish(&c))
        goto out;
    snprintf(res->ko, sizeof(res->ko), "%s", c.ko);
    snprintf(res->gmeta, sizeof(res->gmeta), "%s", c.gmeta);
    for (size_t i = 0; i < c.nw; i++) {
        if (c.w[i].kind == CS_EXIT)
            res->nexits++;
        else
            res->nentries++;
    }
    rc = 0;
out:
    free(em);
    free(c.w);
    free(c.sites);
    for (size_t i = 0; i < c.nnames; i++)
        free(c.names[i]);
    free(c.names);
    for (size_t i = 0; i < c.nimpls; i++)
        ab_free(&c.impls[i]);
    free(c.impls);
    ab_free_list(c.absorb, c.nabsorb);
    if (c.have_an)
        ca_free(&c.an);
    if (c.have_obj)
        co_close(&c.objf);
    return rc;
}
