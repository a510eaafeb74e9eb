/* christoize/texthash.c — see texthash.h. */
#include "texthash.h"

#include <elf.h>
#include <mbedtls/sha256.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The function containing text offset 'off', for messages. */
static const char *func_at(const struct co_object *o, size_t shndx, uint64_t off, uint64_t *foff)
{
    const struct co_symbol *best = NULL;
    for (size_t i = 1; i < o->nsym; i++) {
        const struct co_symbol *s = &o->sym[i];
        if (s->shndx != shndx || s->type != STT_FUNC || s->value > off || off >= s->value + (s->size ? s->size : 1))
            continue;
        /* prefer the developer's name over init_module/cleanup_module and christoize's aliases */
        int alias = !strcmp(s->name, "init_module") || !strcmp(s->name, "cleanup_module") ||
                    !strncmp(s->name, "__christo_", 10);
        if (!best || !alias)
            best = s;
    }
    *foff = best ? off - best->value : off;
    return best ? best->name : o->sec[shndx].name;
}

/* "function+0xoff" for messages (a static buffer per call site is enough: one message at a time) */
static const char *where(const struct co_object *o, size_t shndx, uint64_t off)
{
    static char buf[300];
    uint64_t fo;
    const char *fn = func_at(o, shndx, off, &fo);
    snprintf(buf, sizeof(buf), "%s+0x%llx", fn, (unsigned long long)fo);
    return buf;
}

/* Tables the kernel uses to patch this text after loading: a hole for every site. */
static const struct {
    const char *name;
    unsigned entsize;
    int len_field; /* byte offset of the u8 patched length in the entry, or -1 */
    unsigned fixed_len;
    const char *what;
} patch_tables[] = {
    { ".smp_locks", 4, -1, 1, "LOCK prefix (alternatives_smp: LOCK -> DS on one CPU)" },
    { ".altinstructions", 12, 10, 0, "alternative (apply_alternatives)" },
    { ".parainstructions", 16, 9, 0, "paravirt site (apply_paravirt)" },
};

/* Tables whose sites the kernel rewrites at any time, or that the guarded build flags must have
 * removed: christoize refuses them (docs/christoize.md, "The text-rewriting decision"). __jump_table
 * is not among them: its sites become JUMP_LABEL holes (jump_label_holes below). */
static const struct {
    const char *name;
    unsigned entsize;
    const char *why;
} refused_tables[] = {
    { ".static_call_sites", 8, "static-call sites are retargeted on every static_call_update" },
    { "__mcount_loc", 8, "ftrace patches __fentry__ sites (the build should have removed -pg/-mfentry)" },
    { ".retpoline_sites", 4,
      "retpoline thunk calls are rewritten at load (-mindirect-branch=keep should have removed them)" },
    { ".return_sites", 4,
      "return-thunk jumps are rewritten at load (-mfunction-return=keep should have removed them)" },
    { ".call_sites", 4, "call-depth-tracking sites are rewritten at load" },
    { ".ibt_endbr_seal", 4, "ENDBR64 instructions are overwritten at load" },
    { "__patchable_function_entries", 8, "patchable function entries are patched by ftrace" },
};

int th_refused_tables(const struct co_object *o, char *err, size_t errlen)
{
    for (size_t t = 0; t < sizeof(refused_tables) / sizeof(refused_tables[0]); t++) {
        size_t idx = co_find_section(o, refused_tables[t].name);
        if (!idx || !o->sec[idx].size)
            continue;
        const struct co_relsec *rs = co_relocs_for(o, idx);
        char sites[600] = "";
        size_t used = 0, shown = 0, n = o->sec[idx].size / refused_tables[t].entsize;
        for (size_t i = 0; rs && i < rs->n && shown < 8; i++) {
            if (rs->r[i].offset % refused_tables[t].entsize)
                continue;
            uint64_t off, foff;
            size_t ts = ca_reloc_target(o, &o->sec[idx], &rs->r[i], &off);
            if (!ts)
                continue;
            const char *fn = func_at(o, ts, off, &foff);
            used += (size_t)snprintf(sites + used, used < sizeof(sites) ? sizeof(sites) - used : 0, "%s%s+0x%llx",
                                     shown ? ", " : "", fn, (unsigned long long)foff);
            if (used >= sizeof(sites))
                used = sizeof(sites) - 1;
            shown++;
        }
        seterr(err, errlen,
               "%s: %s has %zu site%s (%s%s): %s; no load-time hash can cover them, so christoize "
               "refuses the module",
               o->path, refused_tables[t].name, n, n == 1 ? "" : "s", sites[0] ? sites : "?",
               n > shown && shown ? ", ..." : "", refused_tables[t].why);
        return -1;
    }
    return 0;
}

/* Length of the jump-label instruction at b (left bytes remain): the forms arch/x86's jump_label.h
 * emits and arch_jump_entry_size() accepts: jmp rel32 (e9) or rel8 (eb) from arch_static_branch_jump
 * (gas relaxes 'jmp label' to the short form when it reaches), the 5-byte NOP of arch_static_branch,
 * and the kernel's own 2- and 5-byte NOPs (x86_nops[2], x86_nops[5]) it writes when patching.
 * 0 for anything else. */
static unsigned jl_insn_len(const uint8_t *b, size_t left, int *is_jmp)
{
    static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 }, nop2[2] = { 0x66, 0x90 };
    *is_jmp = left >= 1 && (b[0] == 0xe9 || b[0] == 0xeb);
    if (left >= 5 && (b[0] == 0xe9 || !memcmp(b, nop5, 5)))
        return 5;
    if (left >= 2 && (b[0] == 0xeb || !memcmp(b, nop2, 2)))
        return 2;
    return 0;
}

#define JT_ENTSIZE 16 /* struct jump_entry { s32 code; s32 target; long key; } (x86-64, relative) */

/* Marks every __jump_table site in the hashed text: jl[off .. off+len) = 1 and jlen[off] = len.
 * Refuses an entry whose site or target is outside the hashed text, a site that is neither a jmp
 * nor a NOP, one overlapping a patch-table site (alt), and a CONFIG_HAVE_JUMP_LABEL_HACK 'jmp' that
 * objtool should have turned into a NOP. */
static int jump_label_holes(const struct co_object *o, size_t idx, const char *text, const uint8_t *alt, uint8_t *jl,
                            uint8_t *jlen, size_t *nsites, char *err, size_t errlen)
{
    const struct co_section *ts = &o->sec[idx];
    size_t ti = co_find_section(o, "__jump_table");
    *nsites = 0;
    if (!ti || !o->sec[ti].size)
        return 0;
    const struct co_section *tab = &o->sec[ti];
    size_t ne = tab->size / JT_ENTSIZE;
    if (tab->size % JT_ENTSIZE) {
        seterr(err, errlen, "%s: __jump_table is %llu bytes, not a multiple of %u", o->path,
               (unsigned long long)tab->size, JT_ENTSIZE);
        return -1;
    }
    const struct co_relsec *trs = co_relocs_for(o, ti);
    const struct co_reloc **code = calloc(ne, sizeof(*code)), **tgt = calloc(ne, sizeof(*tgt)),
                          **key = calloc(ne, sizeof(*key));
    int rc = -1;
    if (!code || !tgt || !key) {
        seterr(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; trs && i < trs->n; i++) {
        const struct co_reloc *rl = &trs->r[i];
        size_t e = rl->offset / JT_ENTSIZE;
        if (rl->type == R_X86_64_NONE || e >= ne)
            continue;
        switch (rl->offset % JT_ENTSIZE) {
        case 0:
            code[e] = rl;
            break;
        case 4:
            tgt[e] = rl;
            break;
        case 8:
            key[e] = rl;
            break;
        default:
            break;
        }
    }
    for (size_t e = 0; e < ne; e++) {
        uint64_t off = 0, toff = 0;
        size_t cs = code[e] ? ca_reloc_target(o, tab, code[e], &off) : 0;
        size_t tsec = tgt[e] ? ca_reloc_target(o, tab, tgt[e], &toff) : 0;
        if (!code[e] || code[e]->type != R_X86_64_PC32 || !tgt[e] || tgt[e]->type != R_X86_64_PC32) {
            seterr(err, errlen,
                   "%s: __jump_table entry %zu lacks the PC-relative relocations of its code and "
                   "target fields (not a Linux 6.1 x86-64 struct jump_entry)",
                   o->path, e);
            goto out;
        }
        if (cs != idx) {
            seterr(err, errlen,
                   "%s: __jump_table entry %zu patches %s+0x%llx, outside the hashed %s: the kernel "
                   "rewrites that instruction whenever its static key flips, and neither the hash nor the "
                   "hypervisor's check of the site would cover it; refusing",
                   o->path, e, cs ? o->sec[cs].name : "an undefined symbol", (unsigned long long)off, text);
            goto out;
        }
        if (tsec != idx || toff >= ts->size) {
            seterr(err, errlen,
                   "%s: __jump_table site %s jumps to %s+0x%llx, outside the hashed %s: the hypervisor "
                   "accepts only a NOP or a jump into the module's own text at a jump-label site; refusing",
                   o->path, where(o, idx, off), tsec ? o->sec[tsec].name : "an undefined symbol",
                   (unsigned long long)toff, text);
            goto out;
        }
        int is_jmp;
        unsigned len = off < ts->size ? jl_insn_len(ts->data + off, ts->size - off, &is_jmp) : 0;
        if (!len) {
            seterr(err, errlen,
                   "%s: __jump_table site %s is neither a jmp nor a 2- or 5-byte NOP (the kernel "
                   "would BUG patching it); refusing",
                   o->path, where(o, idx, off));
            goto out;
        }
        /* key field: &key + (branch | 2 under CONFIG_HAVE_JUMP_LABEL_HACK) - .; keys are 8-aligned */
        const struct co_symbol *ks = key[e] ? &o->sym[key[e]->sym] : NULL;
        uint64_t kflags = ks ? (uint64_t)((int64_t)ks->value + key[e]->addend) & 3 : 0;
        if ((kflags & 2) && is_jmp) {
            seterr(err, errlen,
                   "%s: __jump_table site %s is a jmp the kernel takes for a NOP: "
                   "CONFIG_HAVE_JUMP_LABEL_HACK compiled it for objtool to NOP, and objtool does not run in the "
                   "guarded build (christo-guard.h undefines the option: was it not included?); refusing",
                   o->path, where(o, idx, off));
            goto out;
        }
        if (jlen[off] == len)
            continue; /* the same site twice */
        for (unsigned b = 0; b < len; b++)
            if (alt[off + b] || jl[off + b]) {
                seterr(err, errlen, "%s: __jump_table site %s overlaps %s site; refusing", o->path, where(o, idx, off),
                       alt[off + b] ? "a LOCK/alternative/paravirt" : "another jump-label");
                goto out;
            }
        memset(jl + off, 1, len);
        jlen[off] = (uint8_t)len;
        (*nsites)++;
    }
    rc = 0;
out:
    free(code);
    free(tgt);
    free(key);
    return rc;
}

struct rhole {
    uint32_t off;
    uint8_t len, kind;
};

int th_compute(const struct co_object *o, const char *text, struct th_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    size_t idx = co_find_section(o, text);
    if (!idx || !ca_is_text(&o->sec[idx]) || !o->sec[idx].data) {
        seterr(err, errlen, "%s: no executable %s section with contents", o->path, text);
        return -1;
    }
    const struct co_section *ts = &o->sec[idx];
    if (ts->size > GMETA_MAX_TEXT_LEN) {
        seterr(err, errlen, "%s: %s is %llu bytes, over the .gmeta limit of %u", o->path, text,
               (unsigned long long)ts->size, GMETA_MAX_TEXT_LEN);
        return -1;
    }
    if (th_refused_tables(o, err, errlen))
        return -1;
    size_t n = ts->size;
    uint8_t *img = malloc(n), *alt = calloc(n, 1), *taken = calloc(n, 1), *jl = calloc(n, 1), *jlen = calloc(n, 1);
    struct rhole *rh = NULL;
    size_t nrh = 0;
    const struct co_relsec *rs = co_relocs_for(o, idx);
    rh = calloc(rs && rs->n ? rs->n : 1, sizeof(*rh));
    if (!img || !alt || !taken || !rh || !jl || !jlen) {
        seterr(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(img, ts->data, n);
    r->text_shndx = idx;
    r->text_len = (uint32_t)n;

    /* 1. bytes the kernel patches through tables */
    for (size_t t = 0; t < sizeof(patch_tables) / sizeof(patch_tables[0]); t++) {
        size_t ti = co_find_section(o, patch_tables[t].name);
        if (!ti)
            continue;
        const struct co_section *tab = &o->sec[ti];
        const struct co_relsec *trs = co_relocs_for(o, ti);
        for (size_t i = 0; trs && i < trs->n; i++) {
            const struct co_reloc *rl = &trs->r[i];
            if (rl->offset % patch_tables[t].entsize || rl->type == R_X86_64_NONE)
                continue; /* other fields of the entry (e.g. the replacement's offset) */
            uint64_t off;
            size_t tsec = ca_reloc_target(o, tab, rl, &off);
            if (tsec != idx) {
                if (tsec && ca_is_text(&o->sec[tsec])) {
                    seterr(err, errlen, "%s: %s entry %llu patches %s+0x%llx, outside the hashed %s", o->path,
                           tab->name, (unsigned long long)(rl->offset / patch_tables[t].entsize), o->sec[tsec].name,
                           (unsigned long long)off, text);
                    goto fail;
                }
                continue;
            }
            unsigned len = patch_tables[t].fixed_len;
            if (patch_tables[t].len_field >= 0) {
                uint64_t lf = rl->offset + (unsigned)patch_tables[t].len_field;
                if (!tab->data || lf >= tab->size) {
                    seterr(err, errlen, "%s: %s entry at 0x%llx truncated", o->path, tab->name,
                           (unsigned long long)rl->offset);
                    goto fail;
                }
                len = tab->data[lf];
            }
            if (!len || off + len > n) {
                seterr(err, errlen, "%s: %s site %s has length %u, outside %s", o->path, tab->name, where(o, idx, off),
                       len, text);
                goto fail;
            }
            memset(alt + off, 1, len);
        }
    }

    /* 1b. jump-label sites (static keys): one JUMP_LABEL hole each, the instruction's length */
    if (jump_label_holes(o, idx, text, alt, jl, jlen, &r->jump_labels, err, errlen))
        goto fail;

    /* 2. relocations inside the text: apply the deterministic ones, the rest are holes */
    for (size_t i = 0; rs && i < rs->n; i++) {
        const struct co_reloc *rl = &rs->r[i];
        const struct co_symbol *sym = &o->sym[rl->sym];
        if (rl->type == R_X86_64_NONE)
            continue;
        int pc = rl->type == R_X86_64_PC32 || rl->type == R_X86_64_PLT32;
        if ((pc || rl->type == R_X86_64_PC64) && sym->shndx == idx) {
            int64_t v = (int64_t)sym->value + rl->addend - (int64_t)rl->offset;
            unsigned w = pc ? 4 : 8;
            if (rl->offset + w > n || (pc && (v < INT32_MIN || v > INT32_MAX))) {
                seterr(err, errlen, "%s: %s relocation at %s out of range", o->path, co_reloc_name(rl->type),
                       where(o, idx, rl->offset));
                goto fail;
            }
            for (unsigned b = 0; b < w; b++)
                img[rl->offset + b] = (uint8_t)((uint64_t)v >> (8 * b));
            r->applied++;
            continue;
        }
        uint8_t kind, len;
        switch (rl->type) {
        case R_X86_64_64:
            kind = GMETA_HOLE_ABS64;
            len = 8;
            break;
        case R_X86_64_32:
            kind = GMETA_HOLE_ABS32;
            len = 4;
            break;
        case R_X86_64_32S:
            kind = GMETA_HOLE_ABS32S;
            len = 4;
            break;
        case R_X86_64_PC32:
        case R_X86_64_PLT32:
            kind = GMETA_HOLE_PC32;
            len = 4;
            break;
        default:
            seterr(err, errlen,
                   "%s: relocation %s at %s (symbol %s): christoize cannot describe it as a "
                   "hole; refusing",
                   o->path, co_reloc_name(rl->type), where(o, idx, rl->offset), sym->name[0] ? sym->name : "?");
            goto fail;
        }
        if (rl->offset + len > n) {
            seterr(err, errlen, "%s: relocation at 0x%llx runs past %s", o->path, (unsigned long long)rl->offset, text);
            goto fail;
        }
        for (unsigned b = 0; b < len; b++)
            if (taken[rl->offset + b]) {
                seterr(err, errlen, "%s: overlapping relocations at %s", o->path, where(o, idx, rl->offset));
                goto fail;
            }
        memset(taken + rl->offset, 1, len);
        rh[nrh++] = (struct rhole){ (uint32_t)rl->offset, len, kind };
    }

    /* 3. merge: a relocation field inside a patched site becomes part of that site's hole */
    uint8_t *start = calloc(n, 1); /* 1 + index of the relocation hole starting here */
    size_t *which = calloc(n, sizeof(*which));
    if (!start || !which) {
        free(start);
        free(which);
        seterr(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nrh; i++) {
        /* a relocation field inside a jump-label site (its jmp's displacement) is part of that hole */
        unsigned injl = 0;
        for (unsigned b = 0; b < rh[i].len; b++)
            injl += jl[rh[i].off + b];
        if (injl) {
            size_t s0 = rh[i].off;
            while (!jlen[s0])
                s0--;
            if (injl != rh[i].len || rh[i].off + rh[i].len > s0 + jlen[s0]) {
                free(start);
                free(which);
                seterr(err, errlen, "%s: relocation field at %s straddles the jump-label site at %s", o->path,
                       where(o, idx, rh[i].off), where(o, idx, s0));
                goto fail;
            }
            continue;
        }
        int overlaps = 0;
        for (unsigned b = 0; b < rh[i].len; b++)
            overlaps |= alt[rh[i].off + b];
        if (overlaps)
            memset(alt + rh[i].off, 1, rh[i].len);
        else {
            start[rh[i].off] = 1;
            which[rh[i].off] = i;
        }
    }
    size_t cap = 16;
    r->holes = malloc(cap * sizeof(*r->holes));
    for (size_t p = 0; r->holes && p < n;) {
        struct gmeta_hole h;
        if (jlen[p]) {
            h = (struct gmeta_hole){ (u32)p, jlen[p], GMETA_HOLE_JUMP_LABEL };
        } else if (alt[p]) {
            size_t q = p;
            while (q < n && alt[q] && !jl[q] && q - p < GMETA_HOLE_MAX_LEN)
                q++;
            h = (struct gmeta_hole){ (u32)p, (u8)(q - p), GMETA_HOLE_ALTERNATIVE };
        } else if (start[p]) {
            const struct rhole *x = &rh[which[p]];
            int clash = 0;
            for (unsigned b = 0; b < x->len; b++)
                clash |= alt[p + b];
            if (clash) { /* an alternative range begins inside this field: widen into it */
                memset(alt + p, 1, x->len);
                continue;
            }
            h = (struct gmeta_hole){ x->off, x->len, x->kind };
        } else {
            p++;
            continue;
        }
        if (r->nholes == cap) {
            cap *= 2;
            struct gmeta_hole *nh = realloc(r->holes, cap * sizeof(*nh));
            if (!nh) {
                free(r->holes);
                r->holes = NULL;
                break;
            }
            r->holes = nh;
        }
        /* r->holes is not NULL here: the loop condition checks it and a failed realloc breaks out */
        // cppcheck-suppress nullPointerRedundantCheck
        r->holes[r->nholes++] = h;
        p += h.len;
    }
    free(start);
    free(which);
    if (!r->holes) {
        seterr(err, errlen, "out of memory");
        goto fail;
    }
    if (r->nholes > GMETA_MAX_HOLES) {
        seterr(err, errlen, "%s: %zu holes in %s, over the .gmeta limit of %u", o->path, r->nholes, text,
               GMETA_MAX_HOLES);
        goto fail;
    }

    /* 4. zero the holes and hash */
    for (size_t i = 0; i < r->nholes; i++)
        memset(img + r->holes[i].offset, 0, r->holes[i].len);
    if (mbedtls_sha256_ret(img, n, r->sha256, 0) != 0) {
        seterr(err, errlen, "mbedtls_sha256 failed");
        goto fail;
    }
    r->image = img;
    free(alt);
    free(taken);
    free(jl);
    free(jlen);
    free(rh);
    return 0;
fail:
    free(img);
    free(alt);
    free(taken);
    free(jl);
    free(jlen);
    free(rh);
    free(r->holes);
    memset(r, 0, sizeof(*r));
    return -1;
}

void th_free(struct th_result *r)
{
    free(r->image);
    free(r->holes);
    memset(r, 0, sizeof(*r));
}
