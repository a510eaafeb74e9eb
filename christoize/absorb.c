/* christoize/absorb.c — checks an absorbed-function implementation and prints the candidate
 * table; see absorb.h and docs/christoize.md ("Absorbing leaf functions"). Relocations come from
 * libelf (elfobj.c); instruction-level checks from `objdump -d` (binutils, which the build's own
 * link needs anyway), so no x86 decoder is written twice. */
#include "absorb.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfobj.h"

static int push(char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i], s))
            return 0; /* a set: each name or reason once */
    char **nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -1;
    *v = nv;
    if (!(nv[*n] = strdup(s)))
        return -1;
    (*n)++;
    return 0;
}

static int has(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return 1;
    return 0;
}

static int reason(struct ab_impl *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reason(struct ab_impl *im, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return push(&im->reasons, &im->nreasons, buf);
}

/* Space-separated words of s into a set. */
static int words(const char *s, char ***v, size_t *n)
{
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -1;
    int rc = 0;
    for (char *t = strtok_r(copy, " \t", &save); t && !rc; t = strtok_r(NULL, " \t", &save))
        rc = push(v, n, t);
    free(copy);
    return rc;
}

int ab_is_lock_function(const char *n)
{
    static const char *const prefixes[] = { "_raw_spin_",   "_raw_read_",    "_raw_write_", "mutex_",    "down",
                                            "up_",          "rt_mutex_",     "__rcu_read_", "rcu_read_", "queued_spin_",
                                            "queued_read_", "queued_write_", "__mutex_",    "ww_mutex_", "percpu_down",
                                            "percpu_up",    "local_bh_",     "__local_bh_" };
    if (!strcmp(n, "up"))
        return 1;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (!strncmp(n, prefixes[i], strlen(prefixes[i])))
            return 1;
    return 0;
}

/* The record: "F\0exits\0reads" in AB_RECORD_SECTION. */
static int read_record(const struct co_object *o, struct ab_impl *im, char *err, size_t errlen)
{
    size_t s = co_find_section(o, AB_RECORD_SECTION);
    const struct co_section *sec = s ? &o->sec[s] : NULL;
    if (!sec || !sec->data || !sec->size || sec->data[sec->size - 1]) {
        snprintf(err, errlen, "%s: no CHRISTO_ABSORB record (section %s): not an absorbed-function implementation",
                 o->path, AB_RECORD_SECTION);
        return -1;
    }
    const char *p = (const char *)sec->data, *end = p + sec->size;
    const char *f[3] = { "", "", "" };
    for (int i = 0; i < 3 && p < end; i++) {
        f[i] = p;
        p += strlen(p) + 1;
    }
    if (!f[0][0] || p != end) {
        snprintf(err, errlen, "%s: malformed CHRISTO_ABSORB record (expected one: function, exits, reads)", o->path);
        return -1;
    }
    if (!(im->func = strdup(f[0])) || words(f[1], &im->exits, &im->nexits) || words(f[2], &im->reads, &im->nreads)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Relocations: calls and data references to the kernel; the object's own writable data. */
static int check_relocs(const struct co_object *o, struct ab_impl *im)
{
    char want[600];
    snprintf(want, sizeof(want), AB_PREFIX "%s", im->func);
    int defined = 0;
    for (size_t i = 1; i < o->nsym; i++) {
        const struct co_symbol *y = &o->sym[i];
        if (y->type != STT_FUNC || y->shndx == SHN_UNDEF || y->shndx >= o->nsec || !ca_is_text(&o->sec[y->shndx]))
            continue;
        if (!strcmp(y->name, want) && y->bind == STB_GLOBAL)
            defined = 1;
        else if (reason(im,
                        "defines another function, %s (the implementation must be one function: make helpers "
                        "__always_inline)",
                        y->name))
            return -1;
    }
    if (!defined && reason(im, "does not define %s", want))
        return -1;
    for (size_t i = 1; i < o->nsec; i++) {
        const struct co_section *s = &o->sec[i];
        if ((s->flags & SHF_ALLOC) && (s->flags & SHF_WRITE) && s->size &&
            (!strncmp(s->name, ".data", 5) || !strncmp(s->name, ".bss", 4)) &&
            reason(im, "keeps writable data of its own (%s, %llu bytes): state outside the kernel's view", s->name,
                   (unsigned long long)s->size))
            return -1;
    }
    size_t locks = co_find_section(o, ".smp_locks");
    if (locks && o->sec[locks].size &&
        reason(im, "executes %llu LOCK-prefixed (atomic) instruction%s (.smp_locks)",
               (unsigned long long)(o->sec[locks].size / 4), o->sec[locks].size == 4 ? "" : "s"))
        return -1;
    for (size_t k = 0; k < o->nrelsec; k++) {
        const struct co_relsec *rs = &o->relsec[k];
        const struct co_section *from = &o->sec[rs->target];
        if (!ca_is_text(from) || ca_ignored_source(from))
            continue;
        for (size_t i = 0; i < rs->n; i++) {
            const struct co_reloc *r = &rs->r[i];
            const struct co_symbol *y = &o->sym[r->sym];
            if (r->type == R_X86_64_NONE || y->shndx != SHN_UNDEF || !y->name[0] || ca_is_runtime_symbol(y->name))
                continue;
            int call = ca_branch_at(from, r->offset, r->type);
            if (push(call ? &im->calls : &im->data, call ? &im->ncalls : &im->ndata, y->name))
                return -1;
        }
    }
    for (size_t i = 0; i < im->ncalls; i++) {
        const char *n = im->calls[i];
        int rc = 0;
        if (ab_is_lock_function(n))
            rc = reason(im, "takes a lock (calls %s)", n);
        else if (!has(im->exits, im->nexits, n))
            rc = reason(im, "calls %s, which its record does not declare as a slow-path exit", n);
        if (rc)
            return -1;
    }
    for (size_t i = 0; i < im->ndata; i++)
        if (!has(im->reads, im->nreads, im->data[i]) &&
            reason(im, "touches kernel data %s, which its record does not declare as a read", im->data[i]))
            return -1;
    for (size_t i = 0; i < im->nexits; i++)
        if (ab_is_lock_function(im->exits[i]) && reason(im, "declares a lock-taking exit, %s", im->exits[i]))
            return -1;
    return 0;
}

/* One disassembled instruction: mnemonic and operands (objdump -d -w --no-show-raw-insn). */
static int check_insn(struct ab_impl *im, const char *func, unsigned long off, const char *insn)
{
    char m[32] = "", ops[256] = "";
    sscanf(insn, "%31s %255[^\n]", m, ops);
    static const char *const privileged[] = { "cli",   "sti",     "popf",    "popfq",  "hlt",    "in",
                                              "out",   "insb",    "insw",    "insl",   "outsb",  "outsw",
                                              "outsl", "rdmsr",   "wrmsr",   "wbinvd", "invlpg", "lgdt",
                                              "lidt",  "lldt",    "ltr",     "swapgs", "sysret", "iretq",
                                              "mwait", "monitor", "vmmcall", "vmcall", "clac",   "stac" };
    if (!strcmp(m, "lock") || (!strcmp(m, "xchg") && strchr(ops, '(')))
        return reason(im, "executes an atomic instruction at %s+0x%lx (%s)", func, off, insn);
    if (strstr(insn, "%gs:"))
        return reason(im, "touches per-CPU data at %s+0x%lx (%s)", func, off, insn);
    if ((!strcmp(m, "call") || !strcmp(m, "jmp") || !strcmp(m, "notrack")) && strchr(ops, '*'))
        return reason(im, "calls or jumps indirectly at %s+0x%lx (%s): it could leave the border without a wrapper",
                      func, off, insn);
    for (size_t i = 0; i < sizeof(privileged) / sizeof(privileged[0]); i++)
        if (!strcmp(m, privileged[i]))
            return reason(im, "executes %s at %s+0x%lx: interrupt or privileged state", m, func, off);
    if (!strncmp(m, "mov", 3) && (strstr(ops, "%cr") || strstr(ops, "%db") || strstr(ops, "%dr")))
        return reason(im, "touches a control or debug register at %s+0x%lx (%s)", func, off, insn);
    return 0;
}

static int check_code(const char *path, struct ab_impl *im, char *err, size_t errlen)
{
    int fd[2];
    if (pipe(fd)) {
        snprintf(err, errlen, "%s: pipe: %s", path, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        snprintf(err, errlen, "%s: fork: %s", path, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execlp("objdump", "objdump", "-d", "-w", "--no-show-raw-insn", path, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[1024], func[256] = "?";
    int rc = 0;
    size_t ninsn = 0;
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long long a;
        char name[256], insn[900];
        if (sscanf(line, "%llx <%255[^>]>:", &a, name) == 2) {
            snprintf(func, sizeof(func), "%s", name);
            continue;
        }
        unsigned long off;
        if (sscanf(line, " %lx:\t%899[^\n]", &off, insn) == 2) {
            ninsn++;
            if (!rc && check_insn(im, func, off, insn))
                rc = -1;
        }
    }
    if (f)
        fclose(f);
    else
        close(fd[0]);
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !ninsn) {
        snprintf(err, errlen, "%s: objdump -d failed or found no code (is binutils installed?)", path);
        return -1;
    }
    if (rc)
        snprintf(err, errlen, "out of memory");
    return rc;
}

int ab_check(const char *path, struct ab_impl *im, char *err, size_t errlen)
{
    memset(im, 0, sizeof(*im));
    struct co_object o;
    if (co_open_object(path, &o, err, errlen) != CO_OK)
        return -1;
    int rc = -1;
    if (!(im->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (read_record(&o, im, err, errlen))
        goto out;
    if (check_relocs(&o, im)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = check_code(path, im, err, errlen);
out:
    co_close(&o);
    if (rc)
        ab_free(im);
    return rc;
}

static void free_set(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void ab_free(struct ab_impl *im)
{
    free(im->path);
    free(im->func);
    free_set(im->exits, im->nexits);
    free_set(im->reads, im->nreads);
    free_set(im->calls, im->ncalls);
    free_set(im->data, im->ndata);
    free_set(im->reasons, im->nreasons);
    memset(im, 0, sizeof(*im));
}

void ab_free_list(char **names, size_t n) { free_set(names, n); }

int ab_read_list(const char *path, char ***names, size_t *n, char *err, size_t errlen)
{
    *names = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[512];
    unsigned ln = 0;
    while (fgets(line, sizeof(line), f)) {
        ln++;
        line[strcspn(line, "#\n")] = 0;
        char w[256], extra[8];
        int k = sscanf(line, "%255s %7s", w, extra);
        if (k <= 0)
            continue;
        int ok = k == 1;
        for (const char *p = w; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok) {
            snprintf(err, errlen, "%s:%u: expected one kernel function name per line, got '%s'", path, ln, line);
            goto bad;
        }
        if (has(*names, *n, w)) {
            snprintf(err, errlen, "%s:%u: %s listed twice", path, ln, w);
            goto bad;
        }
        if (push(names, n, w)) {
            snprintf(err, errlen, "out of memory");
            goto bad;
        }
    }
    fclose(f);
    return 0;
bad:
    fclose(f);
    ab_free_list(*names, *n);
    *names = NULL;
    *n = 0;
    return -1;
}

static void print_set(FILE *f, const char *label, char *const *v, size_t n)
{
    if (!n)
        return;
    fprintf(f, "; %s", label);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? ", " : " ", v[i]);
}

void ab_report(FILE *f, const struct ca_result *m, const struct ab_impl *impls, size_t nimpls, char *const *listed,
               size_t nlisted)
{
    fprintf(f, "%-32s %5s  %s\n", "exit", "sites", "absorption");
    for (size_t i = 0; i < m->nexits; i++) {
        const struct ca_undef *x = &m->exits[i];
        const struct ab_impl *im = NULL;
        for (size_t k = 0; k < nimpls && !im; k++)
            if (!strcmp(impls[k].func, x->name))
                im = &impls[k];
        fprintf(f, "%-32s %5u  ", x->name, x->calls + x->jumps);
        int in_list = listed && has(listed, nlisted, x->name);
        if (!im) {
            fprintf(f, "no implementation%s\n", in_list ? " (listed: the build refuses)" : "");
            continue;
        }
        if (im->nreasons) {
            fprintf(f, "rejected%s:", in_list ? " (listed: the build refuses)" : "");
            for (size_t r = 0; r < im->nreasons; r++)
                fprintf(f, "%s %s", r ? ";" : "", im->reasons[r]);
        } else {
            fprintf(f, "%s", in_list ? "absorbed" : "absorbable (not in the list)");
            print_set(f, "slow path calls", im->exits, im->nexits);
            print_set(f, "reads", im->reads, im->nreads);
        }
        fputc('\n', f);
    }
}
