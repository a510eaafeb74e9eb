/* UNIT-SOURCES: christoize/build.c christoize/absorb.c christoize/analysis.c christoize/elfobj.c christoize/elfedit.c christoize/stubs.c christoize/texthash.c hv/guard/gmeta.c hv/lib/fmt.c */
/* UNIT-LIBS: -lelf -lmbedcrypto */
/* `christoize build` end to end on the fixtures in tests/fixtures/christoize/ (kbuild against the
 * Debian guest headers; about 10 s): the psguard module is christoized and the result checked
 * independently of christoize's own code paths (the hash is recomputed here from the .ko's
 * relocations and patch tables); pstestmod (a jump label) is built with a JUMP_LABEL hole exactly at
 * its __jump_table site; staticcall (objtool forced back on: .static_call_sites), builtin (obj-y: no module) and a missing header tree are refused with
 * messages naming the site. Without the headers the kbuild cases are left out with a "# skip" line.
 * Run from the top of the tree (run-all.sh does), or set CHRISTOIZE_FIXTURES. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "christoize/analysis.h"
#include "christoize/build.h"
#include "christoize/elfobj.h"
#include "guard/gmeta.h"
#include "guest_kernel.h"
#include "skip_because.h"

/* The guest kernel's build tree (guest_kernel.h), resolved in main(); kdir_why says why not. */
static char kdir[512], kdir_why[1100];
#define KDIR kdir
#define N(a) (sizeof(a) / sizeof((a)[0]))

static char outdir[256];
static struct cb_result built; /* psguard */
static int built_rc = -1;
static char built_err[4096];

static const char *fixtures(void)
{
    const char *d = getenv("CHRISTOIZE_FIXTURES");
    return d && *d ? d : "tests/fixtures/christoize";
}

static const char *path(const char *fmt, const char *a)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), fmt, a);
    return buf[k];
}

static int build(const char *fixture, const char *outname, const char *name, const char *kdir, struct cb_result *res,
                 char *err, size_t errlen)
{
    char mod[512], out[512];
    snprintf(mod, sizeof(mod), "%s/%s", fixtures(), fixture);
    snprintf(out, sizeof(out), "%s/%s", outdir, outname);
    const char *privs[] = { "test" };
    struct cb_opts o = { .module_dir = mod, .name = name, .kdir = kdir, .out = out, .privs = privs, .nprivs = 1 };
    return cb_build(&o, res, err, errlen);
}

/* ------------------------------------------------------------------ psguard, the guardable module */

static void test_build_succeeds(void **state)
{
    (void)state;
    if (built_rc)
        fail_msg("christoize build psguard: %s", built_err);
    struct stat st;
    assert_int_equal(stat(built.ko, &st), 0);
    assert_int_equal(stat(built.gmeta, &st), 0);
    assert_true(built.nexits > 0);
    assert_true(built.nentries > 0);
}

static const char *modinfo(const struct co_object *o, const char *key)
{
    size_t mi = co_find_section(o, ".modinfo");
    if (!mi || !o->sec[mi].data)
        return NULL;
    const char *b = (const char *)o->sec[mi].data, *e = b + o->sec[mi].size;
    size_t kl = strlen(key);
    for (const char *q = b; q < e; q += strnlen(q, (size_t)(e - q)) + 1)
        if (!strncmp(q, key, kl) && q[kl] == '=')
            return q + kl + 1;
    return NULL;
}

static void test_modinfo(void **state)
{
    (void)state;
    if (built_rc)
        skip_because("the psguard build failed (test_build_succeeds says why)");
    struct co_object o;
    char err[512];
    assert_int_equal(co_open(built.ko, &o, err, sizeof(err)), CO_OK);
    assert_string_equal(o.modname, "psguard");
    const char *vm = modinfo(&o, "vermagic");
    assert_non_null(vm);
    assert_true(strstr(vm, "mod_unload") != NULL);
    assert_non_null(modinfo(&o, "license"));
    assert_non_null(co_find_section(&o, "__versions") ? "ok" : NULL); /* modpost's CRCs came along */
    /* __this_module.init/.exit point at the wrappers */
    size_t tm = co_find_section(&o, ".gnu.linkonce.this_module");
    const struct co_relsec *rs = co_relocs_for(&o, tm);
    assert_non_null(rs);
    int init = 0, fini = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const char *n = o.sym[rs->r[i].sym].name;
        init |= !strcmp(n, "__christo_init");
        fini |= !strcmp(n, "__christo_exit");
        assert_string_not_equal(n, "init_module");
        assert_string_not_equal(n, "cleanup_module");
    }
    assert_true(init && fini);
    co_close(&o);
}

static const struct co_symbol *sym(const struct co_object *o, const char *name)
{
    for (size_t i = 1; i < o->nsym; i++)
        if (!strcmp(o->sym[i].name, name) && o->sym[i].shndx != SHN_UNDEF)
            return &o->sym[i];
    return NULL;
}

static void test_wrappers(void **state)
{
    (void)state;
    if (built_rc)
        skip_because("the psguard build failed (test_build_succeeds says why)");
    char err[512];
    struct co_object src, ko;
    struct ca_result a, k;
    /* the analysis of the object kbuild built, and of the final .ko */
    assert_int_equal(co_open(path("%s/guardmod/work/psguard.o", outdir), &src, err, sizeof(err)), CO_OK);
    assert_int_equal(ca_analyze(&src, &a, err, sizeof(err)), 0);
    assert_int_equal(co_open(built.ko, &ko, err, sizeof(err)), CO_OK);
    assert_int_equal(ca_analyze(&ko, &k, err, sizeof(err)), 0);
    size_t text = co_find_section(&ko, ".text");

    /* every entry point has a wrapper in .text; the two static pg_cmp get distinct ones */
    size_t npgcmp = 0;
    for (size_t i = 0; i < a.nentries; i++) {
        const struct ca_entry *e = &a.entries[i];
        if (e->alias && !strcmp(e->alias, "init_module"))
            assert_non_null(sym(&ko, "__christo_init"));
        else if (e->alias && !strcmp(e->alias, "cleanup_module"))
            assert_non_null(sym(&ko, "__christo_exit"));
        else {
            char w[300];
            snprintf(w, sizeof(w), "__christo_entry_%s", e->name);
            if (!strcmp(e->name, "pg_cmp"))
                snprintf(w, sizeof(w), "__christo_entry_pg_cmp%s", npgcmp++ ? "__2" : "");
            const struct co_symbol *s = sym(&ko, w);
            if (!s)
                fail_msg("entry %s has no wrapper %s", e->name, w);
            assert_int_equal(s->shndx, text);
        }
    }
    assert_int_equal(npgcmp, 2);
    assert_null(ca_find_entry(&a, "psguard_aux_sort")); /* only called: no wrapper */
    assert_null(sym(&ko, "__christo_entry_psguard_aux_sort"));

    /* re-analysed, every address-taken reference now lands on a wrapper */
    size_t wrapped = 0;
    for (size_t i = 0; i < k.nentries; i++) {
        const struct ca_entry *e = &k.entries[i];
        for (size_t r = 0; r < e->nrefs; r++) {
            if (e->refs[r].kind != CA_REF_DATA && e->refs[r].kind != CA_REF_TEXT_ADDR)
                continue;
            if (strncmp(e->name, "__christo_", 10))
                fail_msg("%s+0x%llx (%s) still points at %s, not at a wrapper", e->refs[r].from_sec,
                         (unsigned long long)e->refs[r].from_off, e->refs[r].rtype, e->name);
            wrapped++;
        }
    }
    assert_true(wrapped >= built.nretargeted);

    /* every exit is wrapped: no direct call from the module's text to an undefined symbol remains,
     * and each exit K of the original has __wrap_K in .text */
    assert_int_equal(k.nexits, 0);
    assert_true(a.nexits > 10);
    for (size_t i = 0; i < a.nexits; i++) {
        char w[300];
        snprintf(w, sizeof(w), "__wrap_%s", a.exits[i].name);
        const struct co_symbol *s = sym(&ko, w);
        if (!s)
            fail_msg("exit %s has no wrapper", a.exits[i].name);
        assert_int_equal(s->shndx, text);
    }
    assert_non_null(ca_find_exit(&a, "_printk"));
    assert_non_null(ca_find_exit(&a, "kmalloc_trace"));
    assert_non_null(ca_find_exit(&a, "sort"));
    /* nothing the kernel would rewrite at run time; no compiler runtime calls */
    assert_null(ca_find_hazard(&k, "jump-labels"));
    assert_null(ca_find_hazard(&k, "static-calls"));
    assert_null(ca_find_hazard(&k, "fentry"));
    assert_null(ca_find_hazard(&k, "return-thunk"));
    assert_null(ca_find_hazard(&k, "retpoline"));
    assert_int_equal(k.nruntime, 0);
    /* one executable section besides the alternative replacements */
    for (size_t i = 1; i < ko.nsec; i++)
        if (ca_is_text(&ko.sec[i]) && i != text)
            assert_string_equal(ko.sec[i].name, ".altinstr_replacement");
    ca_free(&a);
    ca_free(&k);
    co_close(&src);
    co_close(&ko);
}

static uint8_t *read_all(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

/* A jump-label instruction's length, 0 if it is none of the forms x86 Linux 6.1 accepts */
static unsigned jl_len(const uint8_t *b, size_t left)
{
    if (left >= 5 && (b[0] == 0xe9 || !memcmp(b, nop5, 5)))
        return 5;
    if (left >= 2 && (b[0] == 0xeb || (b[0] == 0x66 && b[1] == 0x90)))
        return 2;
    return 0;
}

/* Independent of texthash.c: the text as the loader leaves it, holes zeroed. Returns the zeroed-byte
 * map (caller frees). */
static uint8_t *recompute(const struct co_object *ko, size_t text, uint8_t sha[32])
{
    const struct co_section *t = &ko->sec[text];
    uint8_t *img = malloc(t->size), *zero = calloc(t->size, 1);
    assert_non_null(img);
    assert_non_null(zero);
    memcpy(img, t->data, t->size);
    const struct co_relsec *rs = co_relocs_for(ko, text);
    for (size_t i = 0; rs && i < rs->n; i++) {
        const struct co_reloc *r = &rs->r[i];
        const struct co_symbol *s = &ko->sym[r->sym];
        unsigned w = r->type == R_X86_64_64 ? 8 : 4;
        if ((r->type == R_X86_64_PC32 || r->type == R_X86_64_PLT32) && s->shndx == text) {
            int32_t v = (int32_t)((int64_t)s->value + r->addend - (int64_t)r->offset);
            memcpy(img + r->offset, &v, 4);
        } else {
            assert_true(r->type == R_X86_64_64 || r->type == R_X86_64_32S || r->type == R_X86_64_32 ||
                        r->type == R_X86_64_PC32 || r->type == R_X86_64_PLT32);
            memset(zero + r->offset, 1, w);
        }
    }
    /* patch tables: entry size, length (fixed or a byte of the entry) */
    struct {
        const char *sec;
        unsigned ent, lenoff, fixed;
    } tabs[] = { { ".smp_locks", 4, 0, 1 }, { ".altinstructions", 12, 10, 0 }, { ".parainstructions", 16, 9, 0 } };
    for (size_t q = 0; q < N(tabs); q++) {
        size_t ti = co_find_section(ko, tabs[q].sec);
        const struct co_relsec *trs = ti ? co_relocs_for(ko, ti) : NULL;
        for (size_t i = 0; trs && i < trs->n; i++) {
            const struct co_reloc *r = &trs->r[i];
            if (r->offset % tabs[q].ent)
                continue;
            const struct co_symbol *s = &ko->sym[r->sym];
            assert_int_equal(s->shndx, text);
            uint64_t at = s->value + (uint64_t)r->addend; /* data PC32 ('.long x - .') and ABS64 alike */
            unsigned len = tabs[q].fixed ? tabs[q].fixed : ko->sec[ti].data[r->offset + tabs[q].lenoff];
            assert_true(at + len <= t->size);
            memset(zero + at, 1, len);
        }
    }
    /* jump labels: struct jump_entry { s32 code; s32 target; long key; }, the instruction's length
     * decoded here (jmp rel32 / 5-byte NOP: 5, jmp rel8 / 2-byte NOP: 2) */
    size_t jt = co_find_section(ko, "__jump_table");
    const struct co_relsec *jrs = jt ? co_relocs_for(ko, jt) : NULL;
    for (size_t i = 0; jrs && i < jrs->n; i++) {
        const struct co_reloc *r = &jrs->r[i];
        if (r->offset % 16)
            continue;
        uint64_t at = ko->sym[r->sym].value + (uint64_t)r->addend;
        assert_int_equal(ko->sym[r->sym].shndx, text);
        unsigned len = jl_len(t->data + at, t->size - at);
        assert_true(len);
        memset(zero + at, 1, len);
    }
    for (size_t i = 0; i < t->size; i++)
        if (zero[i])
            img[i] = 0;
    assert_int_equal(mbedtls_sha256_ret(img, t->size, sha, 0), 0);
    free(img);
    return zero;
}

/* The hash, recomputed here, equals .gmeta's and the claimed hash in .rodata, and the holes cover
 * exactly the non-deterministic bytes: every non-internal relocation and patch site. */
static void check_hash_and_holes(const struct co_object *ko, size_t text, const struct gmeta *m)
{
    const struct co_section *t = &ko->sec[text];
    uint8_t sha[32];
    uint8_t *zero = recompute(ko, text, sha);
    assert_memory_equal(sha, m->text_sha256, 32);
    const struct co_symbol *h = sym(ko, "__christo_claimed_hash");
    assert_non_null(h);
    assert_string_equal(ko->sec[h->shndx].name, ".rodata");
    assert_memory_equal(ko->sec[h->shndx].data + h->value, sha, 32);
    uint8_t *hole = calloc(t->size, 1);
    for (u32 i = 0; i < m->hole_count; i++) {
        struct gmeta_hole g;
        gmeta_hole_at(m, i, &g);
        memset(hole + g.offset, 1, g.len);
    }
    for (size_t p = 0; p < t->size; p++)
        if (zero[p] != hole[p])
            fail_msg("text byte 0x%zx: %s here, %s in .gmeta", p, zero[p] ? "a hole" : "hashed",
                     hole[p] ? "a hole" : "hashed");
    free(hole);
    free(zero);
}

static void test_gmeta_sites_and_hash(void **state)
{
    (void)state;
    if (built_rc)
        skip_because("the psguard build failed (test_build_succeeds says why)");
    size_t len;
    uint8_t *buf = read_all(built.gmeta, &len);
    assert_non_null(buf);
    struct gmeta m;
    char err[512];
    if (gmeta_parse(buf, len, &m, err, sizeof(err)))
        fail_msg("%s: %s", built.gmeta, err);
    struct co_object ko;
    assert_int_equal(co_open(built.ko, &ko, err, sizeof(err)), CO_OK);
    size_t text = co_find_section(&ko, ".text");
    const struct co_section *t = &ko.sec[text];

    assert_string_equal(m.name, "psguard");
    assert_int_equal(m.priv_count, 1);
    assert_string_equal(m.privs[0], "test");
    assert_int_equal(m.text_len, t->size);
    /* every site is a vmmcall in the .ko's .text */
    for (u32 i = 0; i < m.site_count; i++) {
        struct gmeta_site s;
        gmeta_site_at(&m, i, &s);
        assert_true(s.offset + 3 <= t->size);
        if (t->data[s.offset] != 0x0f || t->data[s.offset + 1] != 0x01 || t->data[s.offset + 2] != 0xd9)
            fail_msg("site %u (%s, %s) at 0x%x is not 0f 01 d9", i, gmeta_site_kind_name(s.kind),
                     gmeta_func_name(&m, s.func), s.offset);
    }
    /* and every vmmcall in the text is a site: no unlisted hypercall */
    size_t nvmm = 0;
    for (size_t p = 0; p + 3 <= t->size; p++)
        nvmm += t->data[p] == 0x0f && t->data[p + 1] == 0x01 && t->data[p + 2] == 0xd9;
    assert_int_equal(nvmm, m.site_count);
    u32 first;
    assert_int_equal(gmeta_sites_of_kind(&m, GMETA_SITE_INIT, &first), 1);
    struct gmeta_site s;
    gmeta_site_at(&m, first, &s);
    assert_string_equal(gmeta_func_name(&m, s.func), "pg_init");
    assert_true(m.has_deinit);
    u32 nic = gmeta_sites_of_kind(&m, GMETA_SITE_BORDER_IN_CALL, &first);
    u32 nor = gmeta_sites_of_kind(&m, GMETA_SITE_BORDER_OUT_RET, &first);
    u32 noc = gmeta_sites_of_kind(&m, GMETA_SITE_BORDER_OUT_CALL, &first);
    u32 nir = gmeta_sites_of_kind(&m, GMETA_SITE_BORDER_IN_RET, &first);
    assert_int_equal(noc, built.nexits);
    assert_int_equal(nir, built.nexits);
    assert_int_equal(nic, built.nentries - 1); /* entries + cleanup; init registers instead */
    assert_int_equal(nor, built.nentries - 1); /* entries + init; cleanup deinits instead */

    check_hash_and_holes(&ko, text, &m);
    assert_true(m.hole_count > 10);
    co_close(&ko);
    free(buf);
}

/* ------------------------------------------------------------------ refusals */

static void expect_refusal(const char *fixture, const char *name, const char *kdir, const char *want1,
                           const char *want2)
{
    struct cb_result r;
    char err[4096], outname[300];
    snprintf(outname, sizeof(outname), "refused-%s", fixture);
    int rc = build(fixture, outname, name, kdir, &r, err, sizeof(err));
    if (rc == 0)
        fail_msg("christoize build %s succeeded; expected a refusal", fixture);
    if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
        fail_msg("christoize build %s: message \"%s\" lacks \"%s\"%s%s", fixture, err, want1, want2 ? " / " : "",
                 want2 ? want2 : "");
    char ko[600];
    snprintf(ko, sizeof(ko), "%s/%s/%s.ko", outdir, outname, name);
    assert_int_not_equal(access(ko, F_OK), 0); /* never a silently unguarded module */
}

/* pstestmod's static_branch_unlikely: built, its site a JUMP_LABEL hole of the instruction's length,
 * compiled as the 5-byte NOP the kernel expects (christo-guard.h undoes CONFIG_HAVE_JUMP_LABEL_HACK,
 * whose 'jmp' only objtool would NOP) */
static void test_jump_label_holes(void **state)
{
    (void)state;
    struct cb_result r;
    char err[4096];
    if (build("testmod", "testmod", "pstestmod", KDIR, &r, err, sizeof(err)))
        fail_msg("christoize build pstestmod: %s", err);
    size_t len;
    uint8_t *buf = read_all(r.gmeta, &len);
    assert_non_null(buf);
    struct gmeta m;
    if (gmeta_parse(buf, len, &m, err, sizeof(err)))
        fail_msg("%s: %s", r.gmeta, err);
    struct co_object ko;
    assert_int_equal(co_open(r.ko, &ko, err, sizeof(err)), CO_OK);
    size_t text = co_find_section(&ko, ".text");
    const struct co_section *t = &ko.sec[text];

    /* the __jump_table code sites of the .ko, with their instruction lengths */
    size_t jt = co_find_section(&ko, "__jump_table");
    assert_true(jt != 0);
    const struct co_relsec *jrs = co_relocs_for(&ko, jt);
    assert_non_null(jrs);
    uint8_t *site = calloc(t->size, 1);
    size_t nsites = 0;
    int in_open = 0;
    const struct co_symbol *op = sym(&ko, "pstest_open");
    assert_non_null(op);
    for (size_t i = 0; i < jrs->n; i++) {
        const struct co_reloc *x = &jrs->r[i];
        if (x->offset % 16)
            continue;
        assert_int_equal(ko.sym[x->sym].shndx, text);
        uint64_t at = ko.sym[x->sym].value + (uint64_t)x->addend;
        assert_true(at < t->size);
        unsigned l = jl_len(t->data + at, t->size - at);
        assert_true(l == 2 || l == 5);
        site[at] = (uint8_t)l;
        nsites++;
        if (at >= op->value && at < op->value + op->size) {
            in_open = 1;
            assert_memory_equal(t->data + at, nop5, 5); /* not objtool's 'jmp' left in place */
        }
    }
    assert_int_equal(nsites, ko.sec[jt].size / 16);
    assert_true(in_open);
    /* exactly those are the JUMP_LABEL holes */
    size_t njl = 0;
    for (u32 i = 0; i < m.hole_count; i++) {
        struct gmeta_hole g;
        gmeta_hole_at(&m, i, &g);
        if (g.kind == GMETA_HOLE_JUMP_LABEL) {
            if (site[g.offset] != g.len)
                fail_msg("JUMP_LABEL hole at 0x%x length %u: no __jump_table site of that length there", g.offset,
                         g.len);
            njl++;
        } else {
            for (u32 b = 0; b < g.len; b++)
                if (site[g.offset + b])
                    fail_msg("%s hole at 0x%x covers the jump-label site at 0x%x", gmeta_hole_kind_name(g.kind),
                             g.offset, g.offset + b);
        }
    }
    assert_int_equal(njl, nsites);
    check_hash_and_holes(&ko, text, &m);
    free(site);
    co_close(&ko);
    free(buf);
}

static void test_refuses_static_call(void **state)
{
    (void)state;
    expect_refusal("staticcall", "psstatic", KDIR, ".static_call_sites", "psstatic_init+0x");
}

static void test_refuses_not_a_module(void **state)
{
    (void)state;
    expect_refusal("builtin", "psbuiltin", KDIR, "built no module named psbuiltin", NULL);
}

static void test_refuses_missing_headers(void **state)
{
    (void)state;
    expect_refusal("guardmod", "psguard", "/nonexistent/kernel/build", "kernel header tree", "linux-headers");
}

/* christoize's default --kdir is the guest kernel of the build tree it lives in: this binary sits in
 * build/unit/ as christoize does in build/christoize/, so both read build/guest/kernel-release. */
static void test_default_kdir_is_the_guest_kernel(void **state)
{
    (void)state;
    char got[512], want[512];
    int rc = cb_default_kdir(got, sizeof(got));
    if (guest_kernel_kdir(want, sizeof(want))) {
        assert_int_equal(rc, -1);
        assert_non_null(strstr(got, "--kdir")); /* the message says what to do */
        return;
    }
    assert_int_equal(rc, 0);
    assert_string_equal(got, want);
}

static void test_refuses_bad_override(void **state)
{
    (void)state;
    char mod[512], out[512], err[4096];
    snprintf(mod, sizeof(mod), "%s/guardmod", fixtures());
    snprintf(out, sizeof(out), "%s/override", outdir);
    const char *rems[] = { "pg_init" };
    struct cb_opts o = { .module_dir = mod, .name = "psguard", .kdir = KDIR, .out = out, .rems = rems, .nrems = 1 };
    struct cb_result r;
    assert_int_not_equal(cb_build(&o, &r, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "pg_init"));
    assert_non_null(strstr(err, "module_init"));
}

/* --absorb refusals that come before kbuild: a listed function without an implementation, and a
 * module built from one source file (no object list to add the implementation to). */
static void absorb_refusal(const char *fixture, const char *name, const char *list, const char *want1,
                           const char *want2)
{
    char mod[512], out[512], lf[600], err[4096];
    snprintf(mod, sizeof(mod), "%s/%s", fixtures(), fixture);
    snprintf(out, sizeof(out), "%s/absorb-%s", outdir, name);
    snprintf(lf, sizeof(lf), "%s/absorb-%s.list", outdir, name);
    FILE *f = fopen(lf, "w");
    assert_non_null(f);
    fputs(list, f);
    fclose(f);
    struct cb_opts o = {
        .module_dir = mod, .name = name, .kdir = KDIR, .out = out, .absorb_list = lf, .absorb_dir = "christoize/absorb"
    };
    struct cb_result r;
    assert_int_not_equal(cb_build(&o, &r, err, sizeof(err)), 0);
    if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
        fail_msg("refusal message lacks '%s'/'%s': %s", want1, want2 ? want2 : "", err);
    snprintf(lf, sizeof(lf), "%s/%s.ko", out, name);
    assert_int_not_equal(access(lf, F_OK), 0);
}

static void test_absorb_refusals(void **state)
{
    (void)state;
    if (*kdir_why)
        fail_msg("%s", kdir_why);
    absorb_refusal("guardmod", "psguard", "# none of ours\nkfree\n", "lists kfree, but", "no implementation of it");
    absorb_refusal("testmod", "pstestmod", "skb_put\n", "built from one source file", "pstestmod-y");
}

/* psguard with kfree absorbed (tests/fixtures/christoize/absorbdir/kfree.c): the module's two calls
 * to kfree now call christo_absorbed_kfree inside the module; the implementation's own slow-path
 * call goes through kfree's exit wrapper (ld --wrap: __wrap_kfree), which stays, with its sites. */
static void test_absorb_kfree(void **state)
{
    (void)state;
    if (*kdir_why)
        fail_msg("%s", kdir_why);
    char mod[512], out[512], lf[600], err[4096], absorbdir[512];
    snprintf(mod, sizeof(mod), "%s/guardmod", fixtures());
    snprintf(absorbdir, sizeof(absorbdir), "%s/absorbdir", fixtures());
    snprintf(out, sizeof(out), "%s/absorbed", outdir);
    snprintf(lf, sizeof(lf), "%s/absorbed.list", outdir);
    FILE *f = fopen(lf, "w");
    assert_non_null(f);
    fputs("kfree   # absorbed: NULL and ZERO_SIZE_PTR stay inside\n", f);
    fclose(f);
    const char *privs[] = { "test" };
    struct cb_opts o = { .module_dir = mod,
                         .name = "psguard",
                         .kdir = KDIR,
                         .out = out,
                         .privs = privs,
                         .nprivs = 1,
                         .absorb_list = lf,
                         .absorb_dir = absorbdir };
    struct cb_result r;
    if (cb_build(&o, &r, err, sizeof(err)))
        fail_msg("christoize build --absorb: %s", err);
    assert_int_equal(r.nabsorbed, 1);
    assert_int_equal(r.nabsorbed_calls, 2);
    assert_int_equal(r.nexits, built.nexits); /* kfree keeps its wrapper for the slow path */

    struct co_object ko;
    assert_int_equal(co_open(r.ko, &ko, err, sizeof(err)), CO_OK);
    size_t text = co_find_section(&ko, ".text");
    const struct co_symbol *impl = NULL;
    for (size_t i = 1; i < ko.nsym; i++)
        if (!strcmp(ko.sym[i].name, "christo_absorbed_kfree") && ko.sym[i].shndx == text)
            impl = &ko.sym[i];
    assert_non_null(impl);
    const struct co_relsec *rs = co_relocs_for(&ko, text);
    assert_non_null(rs);
    unsigned to_impl = 0, wrap_inside = 0, wrap_outside = 0, real_kfree = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const char *n = ko.sym[rs->r[i].sym].name;
        int inside = rs->r[i].offset >= impl->value && rs->r[i].offset < impl->value + impl->size;
        to_impl += !strcmp(n, "christo_absorbed_kfree");
        if (!strcmp(n, "__wrap_kfree"))
            inside ? wrap_inside++ : wrap_outside++;
        real_kfree += !strcmp(n, "kfree");
    }
    assert_int_equal(to_impl, 2);      /* the module's calls */
    assert_int_equal(wrap_inside, 1);  /* the slow path, through the exit wrapper */
    assert_int_equal(wrap_outside, 0); /* no call of the module still crosses for kfree */
    assert_int_equal(real_kfree, 0);   /* nothing in .text reaches the kernel's kfree unwrapped */
    co_close(&ko);

    char table[700];
    snprintf(table, sizeof(table), "%s/absorb-candidates.txt", out);
    f = fopen(table, "r");
    assert_non_null(f);
    char line[512];
    int seen = 0;
    while (fgets(line, sizeof(line), f))
        seen |= !strncmp(line, "kfree ", 6) && strstr(line, " absorbed; slow path calls kfree");
    fclose(f);
    assert_true(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_missing_headers),
        cmocka_unit_test(test_default_kdir_is_the_guest_kernel),
        cmocka_unit_test(test_build_succeeds),
        cmocka_unit_test(test_modinfo),
        cmocka_unit_test(test_wrappers),
        cmocka_unit_test(test_gmeta_sites_and_hash),
        cmocka_unit_test(test_jump_label_holes),
        cmocka_unit_test(test_refuses_static_call),
        cmocka_unit_test(test_refuses_not_a_module),
        cmocka_unit_test(test_refuses_bad_override),
        cmocka_unit_test(test_absorb_refusals),
        cmocka_unit_test(test_absorb_kfree),
    };
    const char *tmp = getenv("TMPDIR");
    snprintf(outdir, sizeof(outdir), "%s/christoize-build-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(outdir)) {
        fprintf(stderr, "mkdtemp %s failed\n", outdir);
        return 1;
    }
    size_t ntests = N(tests);
    /* make test builds the guest (its kernel release and headers) first: without them every kbuild
     * case fails with the reason, none is left out */
    char mk[600];
    if (guest_kernel_kdir(kdir, sizeof(kdir))) {
        snprintf(kdir_why, sizeof(kdir_why), "no guest kernel: %s", kdir);
        snprintf(kdir, sizeof(kdir), "/nonexistent-guest-kernel");
    } else {
        snprintf(mk, sizeof(mk), "%s/include/config/auto.conf", KDIR);
        if (access(mk, R_OK) != 0)
            snprintf(kdir_why, sizeof(kdir_why), "no kernel headers at %s (apt-get install linux-headers-amd64)", KDIR);
    }
    if (*kdir_why)
        snprintf(built_err, sizeof(built_err), "%s", kdir_why);
    else
        built_rc = build("guardmod", "guardmod", "psguard", KDIR, &built, built_err, sizeof(built_err));
    int rc = _cmocka_run_group_tests("christoize_build", tests, ntests, NULL, NULL);
    if (getenv("CHRISTOIZE_KEEP"))
        fprintf(stderr, "kept %s\n", outdir);
    else {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", outdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", outdir);
    }
    return rc;
}
