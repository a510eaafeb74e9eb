/* UNIT-SOURCES: christoize/analysis.c christoize/elfobj.c christoize/report.c */
/* UNIT-LIBS: -lelf */
/* christoize's analysis stage on fixture objects built at test time by
 * tests/fixtures/christoize/build-fixtures.sh (gcc -c corner cases always; the kbuild test module
 * when the Debian guest headers are installed, else those cases are skipped with the reason).
 * Run from the top of the tree (run-all.sh does), or set CHRISTOIZE_FIXTURES to the fixtures dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "christoize/analysis.h"
#include "christoize/elfobj.h"
#include "christoize/report.h"

static char outdir[256];
static int kbuild_ok;         /* testmod built */
static char kbuild_skip[512]; /* why not */
static char kver[128];        /* the guest kernel the fixtures were built against */

static const char *fixtures(void)
{
    const char *d = getenv("CHRISTOIZE_FIXTURES");
    return d && *d ? d : "tests/fixtures/christoize";
}

static const char *path_of(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", outdir, name);
    return buf[k];
}

static int setup_fixtures(void **state)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(outdir, sizeof(outdir), "%s/christoize-fixtures-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(outdir)) {
        fprintf(stderr, "mkdtemp %s failed\n", outdir);
        return -1;
    }
    char cmd[1024], errf[300];
    snprintf(errf, sizeof(errf), "%s/build-fixtures.err", outdir);
    snprintf(cmd, sizeof(cmd), "%s/build-fixtures.sh %s 2>%s", fixtures(), outdir, errf);
    int st = system(cmd);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    if (rc == 0) {
        kbuild_ok = 1;
        FILE *f = fopen(path_of("testmod/KVER"), "r");
        if (f) {
            if (fgets(kver, sizeof(kver), f))
                kver[strcspn(kver, "\n")] = 0;
            fclose(f);
        }
    } else if (rc == 3) {
        FILE *f = fopen(errf, "r");
        if (!f || !fgets(kbuild_skip, sizeof(kbuild_skip), f))
            snprintf(kbuild_skip, sizeof(kbuild_skip), "kernel headers missing");
        kbuild_skip[strcspn(kbuild_skip, "\n")] = 0;
        if (f)
            fclose(f);
    } else {
        fprintf(stderr, "build-fixtures.sh failed (exit %d); see %s\n", rc, errf);
        return -1;
    }
    (void)state;
    return 0;
}

static int teardown_fixtures(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", outdir);
    (void)state;
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ helpers */

struct an {
    struct co_object o;
    struct ca_result r;
};

static void analyze(struct an *a, const char *path)
{
    char err[1024];
    enum co_err e = co_open(path, &a->o, err, sizeof(err));
    if (e != CO_OK)
        fail_msg("co_open(%s): %s", path, err);
    assert_int_equal(ca_analyze(&a->o, &a->r, err, sizeof(err)), 0);
}

static void done(struct an *a)
{
    ca_free(&a->r);
    co_close(&a->o);
}

static void assert_name_set(const char *what, const char *const *got, size_t ngot, const char *const *want,
                            size_t nwant)
{
    int ok = ngot == nwant;
    for (size_t i = 0; ok && i < nwant; i++) {
        int found = 0;
        for (size_t k = 0; k < ngot; k++)
            found |= !strcmp(got[k], want[i]);
        ok = found;
    }
    if (!ok) {
        fprintf(stderr, "%s: got {", what);
        for (size_t k = 0; k < ngot; k++)
            fprintf(stderr, " %s", got[k]);
        fprintf(stderr, " } want {");
        for (size_t k = 0; k < nwant; k++)
            fprintf(stderr, " %s", want[k]);
        fprintf(stderr, " }\n");
        fail_msg("%s set differs", what);
    }
}

static void assert_entries(const struct ca_result *r, const char *const *want, size_t n)
{
    const char *got[256];
    assert_true(r->nentries <= 256);
    for (size_t i = 0; i < r->nentries; i++)
        got[i] = r->entries[i].name;
    assert_name_set("entries", got, r->nentries, want, n);
}

static void assert_undefs(const char *what, const struct ca_undef *u, size_t nu, const char *const *want, size_t n)
{
    const char *got[256];
    assert_true(nu <= 256);
    for (size_t i = 0; i < nu; i++)
        got[i] = u[i].name;
    assert_name_set(what, got, nu, want, n);
}

static int has_ref(const struct ca_entry *e, enum ca_ref_kind k, const char *from_sec, const char *via)
{
    for (size_t i = 0; e && i < e->nrefs; i++)
        if (e->refs[i].kind == k && (!from_sec || (e->refs[i].from_sec && !strcmp(e->refs[i].from_sec, from_sec))) &&
            (!via || (e->refs[i].via && !strcmp(e->refs[i].via, via))))
            return 1;
    return 0;
}

static int has_note(const struct ca_result *r, const char *needle)
{
    for (size_t i = 0; i < r->nnotes; i++)
        if (strstr(r->notes[i], needle))
            return 1;
    return 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ error paths */

static void expect_open_error(const char *path, enum co_err want, const char *needle)
{
    struct co_object o;
    char err[1024];
    enum co_err e = co_open(path, &o, err, sizeof(err));
    if (e != want)
        fail_msg("co_open(%s) = %d, want %d (%s)", path, e, want, err);
    if (!strstr(err, path) || !strstr(err, needle))
        fail_msg("message '%s' lacks the file name or '%s'", err, needle);
    co_close(&o); /* harmless on a failed open */
}

static void test_error_missing_file(void **state)
{
    (void)state;
    expect_open_error(path_of("no-such-module.ko"), CO_ERR_IO, "cannot open");
}

static void test_error_not_elf(void **state)
{
    char p[512];
    (void)state;
    snprintf(p, sizeof(p), "%s/corner.c", fixtures());
    expect_open_error(p, CO_ERR_NOT_ELF, "not an ELF");
}

static void test_error_not_relocatable(void **state)
{
    (void)state;
    expect_open_error(path_of("program"), CO_ERR_NOT_REL, "expected ET_REL");
}

static void test_error_not_x86_64(void **state)
{
    (void)state;
    /* corner.o with e_machine patched to EM_AARCH64 */
    FILE *in = fopen(path_of("corner.o"), "rb");
    assert_non_null(in);
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), in);
    fclose(in);
    assert_true(n > sizeof(Elf64_Ehdr));
    uint16_t m = EM_AARCH64;
    memcpy(buf + offsetof(Elf64_Ehdr, e_machine), &m, 2);
    FILE *out = fopen(path_of("arm64.o"), "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(out);
    expect_open_error(path_of("arm64.o"), CO_ERR_NOT_X86_64, "not an x86-64 object");
}

static void test_error_not_module(void **state)
{
    (void)state;
    expect_open_error(path_of("notmodule.o"), CO_ERR_NOT_MODULE, "not a Linux kernel module");
}

/* ------------------------------------------------------------------ corner.o */

static void test_corner_entries(void **state)
{
    struct an a;
    (void)state;
    analyze(&a, path_of("corner.o"));
    static const char *const want[] = { "cb_static", "cb_both",     "cb_lea",     "cb_far_lea",
                                        "cb_other",  "corner_init", "corner_exit" };
    assert_entries(&a.r, want, N(want));
    const struct ca_entry *e;

    /* static callback in a const table: relocation against the section symbol + addend */
    e = ca_find_entry(&a.r, "cb_static");
    assert_true(has_ref(e, CA_REF_DATA, NULL, ".text"));
    assert_int_equal(e->global, 0);
    e = ca_find_entry(&a.r, "cb_other");
    assert_true(has_ref(e, CA_REF_DATA, NULL, ".text.other"));
    assert_string_equal(e->section, ".text.other");

    /* callback passed by lea: same section (no relocation, decoded) and across sections (PC32 +4) */
    assert_true(has_ref(ca_find_entry(&a.r, "cb_lea"), CA_REF_TEXT_ADDR, ".text", NULL));
    e = ca_find_entry(&a.r, "cb_far_lea");
    assert_true(has_ref(e, CA_REF_TEXT_ADDR, ".text", ".text.other"));
    assert_string_equal(e->refs[0].rtype, "R_X86_64_PC32");
    assert_string_equal(e->refs[0].from_func, "corner_init");

    /* both called directly and address-taken: an entry, with its direct calls counted */
    e = ca_find_entry(&a.r, "cb_both");
    assert_true(has_ref(e, CA_REF_DATA, NULL, "cb_both"));
    assert_true(e->direct_calls >= 1);

    /* module_init/module_exit through the init_module/cleanup_module aliases */
    e = ca_find_entry(&a.r, "init_module");
    assert_non_null(e);
    assert_string_equal(e->name, "corner_init");
    assert_string_equal(e->alias, "init_module");
    assert_true(has_ref(e, CA_REF_MODULE_INIT, NULL, NULL));
    assert_true(has_ref(ca_find_entry(&a.r, "corner_exit"), CA_REF_MODULE_EXIT, NULL, NULL));

    /* called only: not entries; the interior pointer is reported, not promoted */
    assert_null(ca_find_entry(&a.r, "helper"));
    assert_null(ca_find_entry(&a.r, "far_helper"));
    assert_true(has_note(&a.r, "= cb_static, not at a function start"));
    done(&a);
}

static void test_corner_exits_and_data(void **state)
{
    struct an a;
    (void)state;
    analyze(&a, path_of("corner.o"));
    static const char *const exits[] = { "ext_call", "ext_register", "ext_tail" };
    static const char *const data[] = { "ext_fnptr", "ext_var" };
    assert_undefs("exits", a.r.exits, a.r.nexits, exits, N(exits));
    assert_undefs("data", a.r.data, a.r.ndata, data, N(data));
    assert_int_equal(a.r.nruntime, 0);
    const struct ca_undef *u = ca_find_exit(&a.r, "ext_call");
    assert_int_equal(u->calls, 1); /* cb_lea */
    assert_int_equal(u->jumps, 1); /* corner_exit's tail call */
    u = ca_find_exit(&a.r, "ext_register");
    assert_int_equal(u->calls, 2);
    assert_int_equal(u->jumps, 0);
    u = ca_find_exit(&a.r, "ext_tail");
    assert_int_equal(u->calls, 0);
    assert_int_equal(u->jumps, 1);
    u = ca_find_data(&a.r, "ext_fnptr"); /* a kernel function whose address is stored: not an exit */
    assert_int_equal(u->refs_data, 1);
    assert_int_equal(u->refs_text, 0);
    assert_int_equal(ca_find_data(&a.r, "ext_var")->refs_text, 1);
    done(&a);
}

static void test_corner_hazards(void **state)
{
    struct an a;
    (void)state;
    analyze(&a, path_of("corner.o"));
    /* plain gcc -c: only relocations, none of the kernel's patch tables */
    assert_int_equal(a.r.nhazards, 1);
    const struct ca_hazard *h = ca_find_hazard(&a.r, "text-relocations");
    assert_non_null(h);
    assert_int_equal(h->entries, 9);
    assert_int_equal(h->patched_bytes, 36);
    const struct ca_reloc_count *c = ca_find_treloc(&a.r, R_X86_64_PLT32);
    assert_non_null(c);
    assert_int_equal(c->external, 5);     /* ext_register x2, ext_call x2, ext_tail */
    assert_int_equal(c->same_section, 1); /* call cb_both (global symbol) */
    c = ca_find_treloc(&a.r, R_X86_64_PC32);
    assert_int_equal(c->external, 1);      /* ext_var */
    assert_int_equal(c->other_section, 2); /* lea cb_far_lea, call far_helper */
    assert_int_equal(a.r.nindirect, 0);
    done(&a);
}

/* ------------------------------------------------------------------ overrides */

static void test_overrides(void **state)
{
    struct an a;
    char err[1024];
    (void)state;
    analyze(&a, path_of("corner.o"));
    size_t n0 = a.r.nentries;

    assert_int_equal(ca_entries_add(&a.r, "helper", err, sizeof(err)), 0);
    assert_int_equal(a.r.nentries, n0 + 1);
    assert_true(has_ref(ca_find_entry(&a.r, "helper"), CA_REF_USER, NULL, NULL));
    assert_int_equal(ca_entries_add(&a.r, "helper", err, sizeof(err)), 0); /* idempotent */
    assert_int_equal(a.r.nentries, n0 + 1);

    assert_int_equal(ca_entries_add(&a.r, "no_such_fn", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no_such_fn"));
    assert_non_null(strstr(err, "corner.o"));
    assert_int_equal(ca_entries_add(&a.r, "ext_call", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "undefined here"));
    assert_int_equal(ca_entries_add(&a.r, "corner_ops", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a function"));

    assert_int_equal(ca_entries_remove(&a.r, "cb_static", err, sizeof(err)), 0);
    assert_null(ca_find_entry(&a.r, "cb_static"));
    assert_int_equal(ca_entries_remove(&a.r, "cb_static", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an entry point"));
    assert_int_equal(ca_entries_remove(&a.r, "init_module", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "module_init"));
    assert_int_equal(ca_entries_remove(&a.r, "corner_exit", err, sizeof(err)), -1);
    assert_non_null(ca_find_entry(&a.r, "corner_exit"));

    /* a file: +add, -remove, bare add, comments, blank lines */
    FILE *f = fopen(path_of("entries.txt"), "w");
    assert_non_null(f);
    fputs("# developer overrides\n\n-cb_lea   # only registered, never called back\n+cb_static\nfar_helper\n", f);
    fclose(f);
    assert_int_equal(ca_entries_file(&a.r, path_of("entries.txt"), err, sizeof(err)), 0);
    assert_null(ca_find_entry(&a.r, "cb_lea"));
    assert_non_null(ca_find_entry(&a.r, "cb_static"));
    assert_non_null(ca_find_entry(&a.r, "far_helper"));

    f = fopen(path_of("bad-entries.txt"), "w");
    assert_non_null(f);
    fputs("+helper\n+bad name!\n", f);
    fclose(f);
    assert_int_equal(ca_entries_file(&a.r, path_of("bad-entries.txt"), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad-entries.txt:2"));
    f = fopen(path_of("unknown-entries.txt"), "w");
    assert_non_null(f);
    fputs("-cb_both\n+nope\n", f);
    fclose(f);
    assert_int_equal(ca_entries_file(&a.r, path_of("unknown-entries.txt"), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown-entries.txt:2"));
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(ca_entries_file(&a.r, path_of("missing-entries.txt"), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "missing-entries.txt"));
    done(&a);
}

static void test_json_report(void **state)
{
    struct an a;
    (void)state;
    analyze(&a, path_of("corner.o"));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    report_json(f, &a.r);
    fclose(f);
    assert_non_null(strstr(buf, "\"format\":\"christoize-analysis/1\""));
    assert_non_null(strstr(buf, "{\"name\":\"cb_far_lea\",\"alias\":null,\"section\":\".text.other\""));
    assert_non_null(strstr(buf, "\"kind\":\"module_init\""));
    assert_non_null(strstr(buf, "{\"name\":\"ext_register\",\"calls\":2,\"tail_jumps\":0"));
    assert_int_equal(buf[len - 2], '}');
    free(buf);
    f = open_memstream(&buf, &len);
    report_text(f, &a.r);
    fclose(f);
    assert_non_null(strstr(buf, "entry points (7)"));
    free(buf);
    done(&a);
}

/* ------------------------------------------------------------------ the kbuild test module */

static const char *const testmod_entries[] = {
    "pstest_open",      "pstest_read",      "pstest_write", "pstest_ioctl", "pstest_release", /* proc_ops */
    "pstest_timer_fn",                                                                        /* timer_setup: mov $fn */
    "pstest_work_fn",                                                                         /* INIT_WORK: mov $fn */
    "pstest_level_set", "pstest_level_get",                                                   /* kernel_param_ops */
    "pstest_cmd_ticks", "pstest_cmd_kick",                                                    /* internal ioctl table */
    "pstest_init",      "pstest_exit",                                                        /* module_init/exit */
};
/* Exits that do not depend on the kernel headers: pstestmod.c calls each by name and each is an
 * exported function (not an inline or a macro) in every kernel the tool supports. What inline helpers
 * expand to (kmalloc, copy_from_user, timer_setup, schedule_work, cond_resched ...) changes with the
 * headers; those are checked against the object's own undefined symbols instead (check_undefs). */
static const char *const testmod_direct_exits[] = {
    "_printk",     "cancel_work_sync",        "kfree", "mod_timer", "param_get_int", "param_set_int", "proc_create",
    "proc_remove", "simple_read_from_buffer",
};
/* Data the source names directly (jiffies in pstest_timer_fn). */
static const char *const testmod_direct_data[] = { "jiffies" };

/* Undefined symbols the analysis leaves out on purpose: the compiler's tracing and return-thunk
 * calls (hazards, not exits) and retpoline thunks (an indirect call, not a call out). */
static int toolchain_symbol(const char *n)
{
    return !strcmp(n, "__fentry__") || !strcmp(n, "__x86_return_thunk") || !strncmp(n, "__x86_indirect_thunk_", 21) ||
           !strncmp(n, "__x86_indirect_call_thunk_", 26);
}

static int in_undefs(const struct ca_undef *u, size_t nu, const char *name)
{
    for (size_t i = 0; i < nu; i++)
        if (!strcmp(u[i].name, name))
            return 1;
    return 0;
}

/* The exits and data the analysis found, against what the headers produced, read from the object
 * at test time with binutils' nm: every undefined symbol is exactly one of exit, data or toolchain
 * symbol, and every exit and datum is an undefined symbol. */
static void check_undefs(const char *file, const struct ca_result *r)
{
    char cmd[700], line[300];
    snprintf(cmd, sizeof(cmd), "nm -u '%s'", file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t seen = 0;
    while (fgets(line, sizeof(line), p)) {
        char *name = strrchr(line, ' ');
        name = name ? name + 1 : line;
        name[strcspn(name, "\n")] = 0;
        if (!*name)
            continue;
        int ex = in_undefs(r->exits, r->nexits, name), da = in_undefs(r->data, r->ndata, name);
        if (toolchain_symbol(name)) {
            if (ex || da)
                fail_msg("%s: %s is a toolchain symbol, yet listed as %s", file, name, ex ? "an exit" : "data");
            continue;
        }
        if (ex + da != 1)
            fail_msg("%s: undefined symbol %s is %s", file, name,
                     ex ? "both an exit and data" : "neither an exit nor data");
        seen++;
    }
    assert_int_equal(pclose(p), 0);
    if (seen != r->nexits + r->ndata)
        fail_msg("%s: nm -u lists %zu exits and data, the analysis %zu + %zu", file, seen, r->nexits, r->ndata);
}

static void check_testmod(const char *file, int is_ko)
{
    struct an a;
    if (!kbuild_ok) /* make test builds the guest and installs its headers: missing is a failure */
        fail_msg("the kbuild fixture was not built: %s", kbuild_skip);
    analyze(&a, path_of(file));
    assert_string_equal(a.o.modname, "pstestmod");
    assert_entries(&a.r, testmod_entries, N(testmod_entries));
    assert_null(ca_find_entry(&a.r, "pstest_clamp")); /* called only */
    const struct ca_entry *e = ca_find_entry(&a.r, "pstest_open");
    assert_true(has_ref(e, CA_REF_DATA, ".rodata", NULL));
    e = ca_find_entry(&a.r, "pstest_timer_fn");
    assert_true(has_ref(e, CA_REF_TEXT_ADDR, ".init.text", NULL));
    assert_string_equal(e->refs[0].rtype, "R_X86_64_32S");
    assert_string_equal(e->refs[0].from_func, "pstest_init");
    assert_true(has_ref(ca_find_entry(&a.r, "pstest_work_fn"), CA_REF_TEXT_ADDR, ".init.text", ".text.unlikely"));
    assert_true(has_ref(ca_find_entry(&a.r, "pstest_level_set"), CA_REF_DATA, ".rodata", NULL));
    e = ca_find_entry(&a.r, "init_module");
    assert_string_equal(e->name, "pstest_init");
    assert_true(has_ref(e, CA_REF_MODULE_INIT, NULL, NULL));
    assert_true(has_ref(e, CA_REF_DATA, ".init.data", "init_module"));
    if (is_ko)
        assert_true(has_ref(e, CA_REF_DATA, ".gnu.linkonce.this_module", "init_module"));
    assert_true(has_ref(ca_find_entry(&a.r, "pstest_exit"), CA_REF_MODULE_EXIT, NULL, NULL));

    /* exits: printk and kfree always (the exact set follows the headers: check_undefs below) */
    assert_non_null(ca_find_exit(&a.r, "_printk"));
    assert_non_null(ca_find_exit(&a.r, "kfree"));
    assert_int_equal(ca_find_exit(&a.r, "kfree")->calls, 2);
    assert_null(ca_find_exit(&a.r, "__fentry__"));
    assert_null(ca_find_exit(&a.r, "__x86_return_thunk"));
    if (is_ko) /* defined by modpost's .mod.o */
        assert_null(ca_find_data(&a.r, "__this_module"));
    else /* undefined in the .o, referenced from __param */
        assert_int_equal(ca_find_data(&a.r, "__this_module")->refs_data, 1);
    /* the exact sets follow the guest kernel's headers: checked against the object's own symbols */
    check_undefs(path_of(file), &a.r);
    for (size_t i = 0; i < N(testmod_direct_exits); i++)
        if (!ca_find_exit(&a.r, testmod_direct_exits[i]))
            fail_msg("%s: no exit %s (headers of %s)", file, testmod_direct_exits[i], kver);
    for (size_t i = 0; i < N(testmod_direct_data); i++)
        if (!ca_find_data(&a.r, testmod_direct_data[i]))
            fail_msg("%s: no data reference %s (headers of %s)", file, testmod_direct_data[i], kver);

    /* hazards: every kind the guest kernel's kbuild flags produce, located (counts follow the headers) */
    struct {
        const char *key;
        size_t entries;
        const char *func;
    } hz[] = {
        { "fentry", 13, NULL }, /* one per function (pstest_exit is notrace: .exit.text) */
        { "altinstructions", 5, "pstest_timer_fn" },
        { "retpoline", 1, "pstest_ioctl" },
        { "return-thunk", 9, NULL },
        { "jump-labels", 1, "pstest_open" },
        { "static-calls", 1, "pstest_write" },
        { "smp-locks", 1, "pstest_open" },
        { "paravirt", 3, "pstest_timer_fn" },
        { "bug-table", 1, "pstest_write" },
    };
    for (size_t i = 0; i < N(hz); i++) {
        const struct ca_hazard *h = ca_find_hazard(&a.r, hz[i].key);
        if (!h)
            fail_msg("%s: no %s hazard", file, hz[i].key);
        assert_true(h->entries >= 1);
        assert_int_equal(h->nsites, h->entries); /* every table entry located in text */
        if (hz[i].func)
            for (size_t k = 0; k < h->nsites; k++)
                if (!h->sites[k].func || strcmp(h->sites[k].func, hz[i].func))
                    fail_msg("%s: %s site %zu in %s, want %s", file, hz[i].key, k,
                             h->sites[k].func ? h->sites[k].func : h->sites[k].sec, hz[i].func);
    }
    assert_int_equal(ca_find_hazard(&a.r, "fentry")->rewrites_text, 1);
    assert_int_equal(ca_find_hazard(&a.r, "bug-table")->rewrites_text, 0);
    assert_int_equal(a.r.nindirect, 1);
    assert_string_equal(a.r.indirect[0].func, "pstest_ioctl");
    const struct ca_reloc_count *c = ca_find_treloc(&a.r, R_X86_64_32S); /* mov $fn / $var: absolute */
    assert_non_null(c);
    assert_int_equal(c->external, 0);
    assert_true(c->other_section > 0);
    c = ca_find_treloc(&a.r, R_X86_64_PLT32); /* every call out */
    assert_true(c->external >= 20);
    assert_true(has_note(&a.r, "__SCT__cond_resched is a static-call trampoline"));
    done(&a);
}

static void test_testmod_o(void **state)
{
    (void)state;
    check_testmod("testmod/pstestmod.o", 0);
}

static void test_testmod_ko(void **state)
{
    (void)state;
    check_testmod("testmod/pstestmod.ko", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_missing_file),
        cmocka_unit_test(test_error_not_elf),
        cmocka_unit_test(test_error_not_relocatable),
        cmocka_unit_test(test_error_not_x86_64),
        cmocka_unit_test(test_error_not_module),
        cmocka_unit_test(test_corner_entries),
        cmocka_unit_test(test_corner_exits_and_data),
        cmocka_unit_test(test_corner_hazards),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_json_report),
        cmocka_unit_test(test_testmod_o),
        cmocka_unit_test(test_testmod_ko),
    };
    int rc = setup_fixtures(NULL);
    if (rc)
        return 1;
    size_t ntests = N(tests);
    rc = _cmocka_run_group_tests("christoize_analysis", tests, ntests, NULL, NULL);
    teardown_fixtures(NULL);
    return rc;
}
