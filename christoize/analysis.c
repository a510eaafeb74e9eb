/* christoize/analysis.c — see analysis.h and docs/christoize.md. */
#include "analysis.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ small helpers */

#define GROW(arr, n, cap)                                                                                              \
    ((n) < (cap) ? 0 : ((cap) = (cap) ? (cap)*2 : 8, ((arr) = realloc_or_free((arr), (cap) * sizeof(*(arr)))) ? 0 : -1))

static void *realloc_or_free(void *p, size_t sz)
{
    void *q = realloc(p, sz);
    if (!q)
        free(p);
    return q;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static int is_pcrel(uint32_t t)
{
    return t == R_X86_64_PC32 || t == R_X86_64_PLT32 || t == R_X86_64_PC64 || t == R_X86_64_PC16 || t == R_X86_64_PC8 ||
           t == R_X86_64_GOTPCREL || t == R_X86_64_GOTPCRELX || t == R_X86_64_REX_GOTPCRELX;
}

static unsigned reloc_width(uint32_t t)
{
    switch (t) {
    case R_X86_64_64:
    case R_X86_64_PC64:
        return 8;
    case R_X86_64_16:
    case R_X86_64_PC16:
        return 2;
    case R_X86_64_8:
    case R_X86_64_PC8:
        return 1;
    default:
        return 4;
    }
}

/* ------------------------------------------------------------------ section classes */

/* Metadata sections: their relocations point into text but are not references to functions the
 * kernel calls; most describe a text rewrite. entsize/field locate the text pointer in an entry
 * (x86-64, Linux 6.1 layouts). */
struct meta {
    const char *name;
    const char *key;
    unsigned entsize;
    unsigned field;
    int rewrites_text;
    int len_field;      /* byte offset of a u8 "length of the patched instruction", or -1 */
    unsigned fixed_len; /* else the patched length in bytes */
    const char *what;
};

static const struct meta metas[] = {
    { "__mcount_loc", "fentry", 8, 0, 1, -1, 5,
      "ftrace: each 'call __fentry__' becomes a 5-byte NOP at load (ftrace_module_init), and a call to an ftrace "
      "trampoline whenever tracing is enabled" },
    { ".altinstructions", "altinstructions", 12, 0, 1, 10, 0,
      "apply_alternatives: original instructions replaced by CPU-feature variants from .altinstr_replacement at load" },
    { ".retpoline_sites", "retpoline", 4, 0, 1, -1, 6,
      "apply_retpolines: 'call/jmp __x86_indirect_thunk_<reg>' rewritten at load to 'call/jmp *%reg' or an lfence "
      "variant, per spectre_v2 mode" },
    { ".return_sites", "return-thunk", 4, 0, 1, -1, 5,
      "apply_returns: 'jmp __x86_return_thunk' rewritten at load to 'ret; int3' unless a return thunk (retbleed/SRSO "
      "mitigation) is in use" },
    { "__jump_table", "jump-labels", 16, 0, 1, -1, 5,
      "jump labels: the jmp/NOP at each static_branch site is patched at load and whenever the key flips, at any "
      "time" },
    { ".static_call_sites", "static-calls", 8, 0, 1, -1, 5,
      "static calls: the call at each site is retargeted at load and on every static_call_update (e.g. "
      "PREEMPT_DYNAMIC's cond_resched)" },
    { ".smp_locks", "smp-locks", 4, 0, 1, -1, 1,
      "alternatives_smp: LOCK prefixes replaced by DS (0x3e) when the kernel runs uniprocessor (one possible CPU)" },
    { ".parainstructions", "paravirt", 16, 0, 1, 9, 0,
      "apply_paravirt: paravirt-op call sites patched to native instructions or direct calls at load" },
    { ".call_sites", "call-thunks", 4, 0, 1, -1, 5,
      "call depth tracking (Linux 6.2+): call sites redirected to accounting thunks" },
    { ".ibt_endbr_seal", "ibt-seal", 4, 0, 1, -1, 4,
      "IBT (Linux 6.2+): ENDBR64 of functions never indirectly called overwritten" },
    { "__patchable_function_entries", "patchable-entries", 8, 0, 1, -1, 5,
      "-fpatchable-function-entry NOP pads, patched by ftrace" },
    { ".orc_unwind_ip", "orc", 4, 0, 0, -1, 0,
      "ORC unwinder tables (.orc_unwind_ip + .orc_unwind): read only, no text change" },
    { "__bug_table", "bug-table", 12, 0, 0, -1, 0,
      "BUG()/WARN() sites (ud2) read by the trap handler: no text change (WARN_ONCE state lives in the table)" },
    { "__ex_table", "exception-table", 12, 0, 0, -1, 0, "exception fixups (uaccess): no text change" },
};

static const struct meta *meta_for(const char *secname)
{
    for (size_t i = 0; i < sizeof(metas) / sizeof(metas[0]); i++)
        if (!strcmp(metas[i].name, secname))
            return &metas[i];
    return NULL;
}

/* Sections whose relocations never make an entry point (besides the metas above). */
static int ignored_source(const struct co_section *s)
{
    if (!(s->flags & SHF_ALLOC))
        return 1; /* .debug_*, .comment, .discard.* are not loaded */
    if (meta_for(s->name))
        return 1;
    return starts_with(s->name, ".discard") || starts_with(s->name, ".orc_") || starts_with(s->name, ".note") ||
           !strcmp(s->name, ".eh_frame") || !strcmp(s->name, "__mcount_loc") ||
           !strcmp(s->name, "__patchable_function_entries") || !strcmp(s->name, ".altinstr_aux");
}

static int is_text(const struct co_section *s) { return (s->flags & SHF_EXECINSTR) && (s->flags & SHF_ALLOC); }

/* Compiler/objtool runtime symbols: not kernel services the module calls, never wrapped. */
static int is_runtime_symbol(const char *n)
{
    return !strcmp(n, "__fentry__") || !strcmp(n, "__x86_return_thunk") || !strcmp(n, "mcount") ||
           starts_with(n, "__x86_indirect_thunk_") || starts_with(n, "__x86_indirect_call_thunk_") ||
           starts_with(n, "__x86_indirect_jump_thunk_") || starts_with(n, "__x86_indirect_alt_");
}

/* ------------------------------------------------------------------ functions */

struct fn {
    const char *name;
    const char *alias;
    size_t shndx;
    uint64_t value, size;
    int global;
};

struct ctx {
    const struct co_object *o;
    struct ca_result *r;
    struct fn *fns;
    size_t nfns;
    size_t cap_entries, cap_exits, cap_data, cap_runtime, cap_indirect, cap_treloc, cap_hazards, cap_notes;
    uint8_t **patched; /* per section: a byte map of text bytes any hazard may change */
    char *err;
    size_t errlen;
};

static int fn_cmp(const void *a, const void *b)
{
    const struct fn *x = a, *y = b;
    if (x->shndx != y->shndx)
        return x->shndx < y->shndx ? -1 : 1;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return 0;
}

static int is_module_alias(const char *n) { return !strcmp(n, "init_module") || !strcmp(n, "cleanup_module"); }

static int collect_functions(struct ctx *c)
{
    const struct co_object *o = c->o;
    size_t cap = 0;
    for (size_t i = 1; i < o->nsym; i++) {
        const struct co_symbol *s = &o->sym[i];
        if (s->shndx == SHN_UNDEF || s->shndx >= o->nsec || !is_text(&o->sec[s->shndx]) || !s->name[0])
            continue;
        if (!(s->type == STT_FUNC || (s->type == STT_NOTYPE && s->bind != STB_LOCAL)))
            continue;
        /* an alias (same section and address) folds into the existing record */
        struct fn *dup = NULL;
        for (size_t k = 0; k < c->nfns; k++)
            if (c->fns[k].shndx == s->shndx && c->fns[k].value == s->value)
                dup = &c->fns[k];
        if (dup) {
            if (is_module_alias(dup->name) && !is_module_alias(s->name)) {
                dup->alias = dup->name;
                dup->name = s->name;
            } else if (is_module_alias(s->name)) {
                dup->alias = s->name;
            }
            if (s->size > dup->size)
                dup->size = s->size;
            dup->global |= s->bind != STB_LOCAL;
            continue;
        }
        if (GROW(c->fns, c->nfns, cap))
            return -1;
        c->fns[c->nfns++] = (struct fn){ s->name, NULL, s->shndx, s->value, s->size, s->bind != STB_LOCAL };
    }
    if (c->nfns)
        qsort(c->fns, c->nfns, sizeof(*c->fns), fn_cmp);
    return 0;
}

static struct fn *fn_at(struct ctx *c, size_t shndx, uint64_t off)
{
    for (size_t i = 0; i < c->nfns; i++)
        if (c->fns[i].shndx == shndx && c->fns[i].value == off)
            return &c->fns[i];
    return NULL;
}

static struct fn *fn_containing(struct ctx *c, size_t shndx, uint64_t off)
{
    struct fn *best = NULL;
    for (size_t i = 0; i < c->nfns; i++) {
        struct fn *f = &c->fns[i];
        if (f->shndx != shndx || f->value > off)
            continue;
        if (off < f->value + (f->size ? f->size : 1))
            best = f;
    }
    return best;
}

static struct fn *fn_by_name(struct ctx *c, const char *name)
{
    for (size_t i = 0; i < c->nfns; i++)
        if (!strcmp(c->fns[i].name, name) || (c->fns[i].alias && !strcmp(c->fns[i].alias, name)))
            return &c->fns[i];
    return NULL;
}

static int note(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int note(struct ctx *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (GROW(c->r->notes, c->r->nnotes, c->cap_notes))
        return -1;
    char *d = strdup(buf);
    if (!d)
        return -1;
    c->r->notes[c->r->nnotes++] = d;
    return 0;
}

/* ------------------------------------------------------------------ entries */

static struct ca_entry *entry_for(struct ctx *c, const struct fn *f)
{
    struct ca_result *r = c->r;
    for (size_t i = 0; i < r->nentries; i++)
        if (r->entries[i].shndx == f->shndx && r->entries[i].offset == f->value)
            return &r->entries[i];
    if (GROW(r->entries, r->nentries, c->cap_entries))
        return NULL;
    struct ca_entry *e = &r->entries[r->nentries++];
    memset(e, 0, sizeof(*e));
    e->name = f->name;
    e->alias = f->alias;
    e->section = c->o->sec[f->shndx].name;
    e->shndx = f->shndx;
    e->offset = f->value;
    e->size = f->size;
    e->global = f->global;
    return e;
}

static int add_ref(struct ca_entry *e, const struct ca_ref *ref)
{
    struct ca_ref *n = realloc(e->refs, (e->nrefs + 1) * sizeof(*n));
    if (!n)
        return -1;
    e->refs = n;
    e->refs[e->nrefs++] = *ref;
    return 0;
}

/* ------------------------------------------------------------------ undefined symbols */

static struct ca_undef *undef_in(struct ca_undef **arr, size_t *n, size_t *cap, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].name, name))
            return &(*arr)[i];
    if (GROW(*arr, *n, *cap))
        return NULL;
    struct ca_undef *u = &(*arr)[(*n)++];
    memset(u, 0, sizeof(*u));
    u->name = name;
    return u;
}

/* ------------------------------------------------------------------ instruction decoding */

enum branch { BR_NONE, BR_CALL, BR_JMP, BR_JCC };

/* Is the 4-byte PC-relative field at 'off' the operand of call rel32 (E8), jmp rel32 (E9) or
 * jcc rel32 (0F 80..8F)? A RIP-relative memory operand's disp32 is always preceded by its ModRM
 * byte, which for RIP-relative addressing is 00rrr101 (0x05..0x3d), never E8/E9; so one byte of
 * look-behind is unambiguous for compiler output. */
static enum branch branch_at(const struct co_section *s, uint64_t off, uint32_t type)
{
    if ((type != R_X86_64_PC32 && type != R_X86_64_PLT32) || !s->data || off < 1 || off + 4 > s->size)
        return BR_NONE;
    uint8_t op = s->data[off - 1];
    if (op == 0xe8)
        return BR_CALL;
    if (op == 0xe9)
        return BR_JMP;
    if (off >= 2 && s->data[off - 2] == 0x0f && (op & 0xf0) == 0x80)
        return BR_JCC;
    return BR_NONE;
}

/* Target of relocation r (in section 'from'), as (section, offset); 0 if undefined/absolute. */
static size_t reloc_target(const struct co_object *o, const struct co_section *from, const struct co_reloc *r,
                           uint64_t *off)
{
    const struct co_symbol *s = &o->sym[r->sym];
    if (s->shndx == SHN_UNDEF || s->shndx >= o->nsec)
        return 0;
    int64_t t = (int64_t)s->value + r->addend;
    /* In code a PC-relative field is normally the instruction's last 4 bytes, and the assembler
     * folds "- 4" (distance from the field to the next instruction) into the addend. In data
     * ('.long sym - .') the addend is the plain offset. */
    if (is_text(from) && (r->type == R_X86_64_PC32 || r->type == R_X86_64_PLT32))
        t += 4;
    if (t < 0)
        return 0;
    *off = (uint64_t)t;
    return s->shndx;
}

static int mark_patched(struct ctx *c, size_t shndx, uint64_t off, unsigned len, uint8_t *local)
{
    const struct co_section *s = &c->o->sec[shndx];
    size_t n = 0;
    for (unsigned i = 0; i < len && off + i < s->size; i++) {
        c->patched[shndx][off + i] = 1;
        if (local && !local[off + i]) {
            local[off + i] = 1;
            n++;
        }
    }
    return (int)n;
}

/* ------------------------------------------------------------------ the passes */

static int scan_relocations(struct ctx *c)
{
    const struct co_object *o = c->o;
    struct ca_result *r = c->r;
    for (size_t k = 0; k < o->nrelsec; k++) {
        const struct co_relsec *rs = &o->relsec[k];
        const struct co_section *from = &o->sec[rs->target];
        if (ignored_source(from))
            continue;
        int text = is_text(from);
        for (size_t i = 0; i < rs->n; i++) {
            const struct co_reloc *rl = &rs->r[i];
            const struct co_symbol *sym = &o->sym[rl->sym];
            if (rl->type == R_X86_64_NONE)
                continue; /* objtool annotations: nothing is written */
            enum branch br = text ? branch_at(from, rl->offset, rl->type) : BR_NONE;

            if (text) { /* relocation-in-text statistics */
                struct ca_reloc_count *rc = NULL;
                for (size_t q = 0; q < r->ntreloc; q++)
                    if (r->treloc[q].type == rl->type)
                        rc = &r->treloc[q];
                if (!rc) {
                    if (GROW(r->treloc, r->ntreloc, c->cap_treloc))
                        return -1;
                    rc = &r->treloc[r->ntreloc++];
                    memset(rc, 0, sizeof(*rc));
                    rc->type = rl->type;
                    rc->rtype = co_reloc_name(rl->type);
                    rc->pcrel = is_pcrel(rl->type);
                }
                if (sym->shndx == SHN_UNDEF)
                    rc->external++;
                else if (sym->shndx == rs->target)
                    rc->same_section++;
                else
                    rc->other_section++;
                mark_patched(c, rs->target, rl->offset, reloc_width(rl->type), NULL);
            }

            if (sym->shndx == SHN_UNDEF) {
                if (!sym->name[0])
                    continue;
                struct ca_undef *u;
                if (is_runtime_symbol(sym->name))
                    u = undef_in(&r->runtime, &r->nruntime, &c->cap_runtime, sym->name);
                else
                    u = undef_in(&r->exits, &r->nexits, &c->cap_exits, sym->name); /* sorted out later */
                if (!u)
                    return -1;
                if (br == BR_CALL)
                    u->calls++;
                else if (br == BR_JMP || br == BR_JCC)
                    u->jumps++;
                else if (text)
                    u->refs_text++;
                else
                    u->refs_data++;
                if (starts_with(sym->name, "__x86_indirect_") && (br == BR_CALL || br == BR_JMP || br == BR_JCC)) {
                    if (GROW(r->indirect, r->nindirect, c->cap_indirect))
                        return -1;
                    struct fn *f = fn_containing(c, rs->target, rl->offset - 1);
                    r->indirect[r->nindirect++] = (struct ca_site){ from->name, rl->offset - 1, f ? f->name : NULL,
                                                                    f ? rl->offset - 1 - f->value : 0 };
                }
                continue;
            }

            uint64_t toff;
            size_t tsec = reloc_target(o, from, rl, &toff);
            if (!tsec || !is_text(&o->sec[tsec]))
                continue; /* a reference to data, not to code */
            struct fn *f = fn_at(c, tsec, toff);
            if (br != BR_NONE)
                continue; /* a direct call or jump: not an address taken (counted in count_direct_calls) */
            struct fn *in = text ? fn_containing(c, rs->target, rl->offset) : NULL;
            if (!f) {
                struct fn *g = fn_containing(c, tsec, toff);
                if (note(c,
                         "ignored: %s reference %s+0x%llx (%s %s%+lld) points %s %s+0x%llx%s%s, not at a function "
                         "start",
                         text ? "text" : "data", from->name, (unsigned long long)rl->offset, co_reloc_name(rl->type),
                         sym->name, (long long)rl->addend, g ? "inside" : "into", o->sec[tsec].name,
                         (unsigned long long)toff, g ? " = " : "", g ? g->name : ""))
                    return -1;
                continue;
            }
            struct ca_entry *e = entry_for(c, f);
            if (!e)
                return -1;
            struct ca_ref ref = {
                .kind = text ? CA_REF_TEXT_ADDR : CA_REF_DATA,
                .from_sec = from->name,
                .from_off = rl->offset,
                .from_func = in ? in->name : NULL,
                .from_func_off = in ? rl->offset - in->value : 0,
                .rtype = co_reloc_name(rl->type),
                .via = sym->name,
                .addend = rl->addend,
            };
            if (add_ref(e, &ref))
                return -1;
        }
    }
    return 0;
}

/* `lea fn(%rip), %reg` of a function in the same section: the assembler resolves it and leaves no
 * relocation (seen with -fpie; the kernel's -mcmodel=kernel normally uses `mov $fn` = R_X86_64_32S,
 * which is always relocated). Decode REX.W 8D /r with RIP-relative ModRM (00 rrr 101) whose disp32
 * carries no relocation and lands exactly on a function start of the same section. */
static int scan_resolved_lea(struct ctx *c)
{
    const struct co_object *o = c->o;
    for (size_t si = 1; si < o->nsec; si++) {
        const struct co_section *s = &o->sec[si];
        if (!is_text(s) || !s->data || s->size < 7)
            continue;
        uint8_t *has_rel = calloc(s->size, 1);
        if (!has_rel)
            return -1;
        const struct co_relsec *rs = co_relocs_for(o, si);
        for (size_t i = 0; rs && i < rs->n; i++)
            if (rs->r[i].offset < s->size)
                has_rel[rs->r[i].offset] = 1;
        for (uint64_t p = 0; p + 7 <= s->size; p++) {
            if ((s->data[p] & 0xf8) != 0x48 || s->data[p + 1] != 0x8d || (s->data[p + 2] & 0xc7) != 0x05 ||
                has_rel[p + 3])
                continue;
            int32_t disp;
            memcpy(&disp, s->data + p + 3, 4);
            int64_t t = (int64_t)p + 7 + disp;
            struct fn *in = fn_containing(c, si, p);
            struct fn *f = t >= 0 ? fn_at(c, si, (uint64_t)t) : NULL;
            if (!f || !in)
                continue;
            struct ca_entry *e = entry_for(c, f);
            struct ca_ref ref = {
                .kind = CA_REF_TEXT_ADDR,
                .from_sec = s->name,
                .from_off = p + 3,
                .from_func = in->name,
                .from_func_off = p - in->value,
                .rtype = "none (lea resolved by the assembler)",
                .via = f->name,
                .addend = 0,
            };
            if (!e || add_ref(e, &ref)) {
                free(has_rel);
                return -1;
            }
        }
        free(has_rel);
    }
    return 0;
}

/* Direct call/jmp counts to every entry (a function both called and address-taken). */
static void count_direct_calls(struct ctx *c)
{
    const struct co_object *o = c->o;
    for (size_t k = 0; k < o->nrelsec; k++) {
        const struct co_relsec *rs = &o->relsec[k];
        const struct co_section *from = &o->sec[rs->target];
        if (!is_text(from) || ignored_source(from))
            continue;
        for (size_t i = 0; i < rs->n; i++) {
            const struct co_reloc *rl = &rs->r[i];
            if (branch_at(from, rl->offset, rl->type) == BR_NONE)
                continue;
            uint64_t toff;
            size_t tsec = reloc_target(o, from, rl, &toff);
            for (size_t q = 0; tsec && q < c->r->nentries; q++)
                if (c->r->entries[q].shndx == tsec && c->r->entries[q].offset == toff)
                    c->r->entries[q].direct_calls++;
        }
    }
    /* Calls inside one section are resolved by the assembler (no relocation): decode them. */
    for (size_t q = 0; q < c->r->nentries; q++) {
        struct ca_entry *e = &c->r->entries[q];
        const struct co_section *s = &o->sec[e->shndx];
        const struct co_relsec *rs = co_relocs_for(o, e->shndx);
        if (!s->data)
            continue;
        for (size_t f = 0; f < c->nfns; f++) {
            const struct fn *fn = &c->fns[f];
            if (fn->shndx != e->shndx)
                continue;
            /* only at instruction boundaries we know: scan for E8/E9 whose rel32 lands on the entry and
             * whose operand has no relocation (a relocated operand was counted above) */
            for (uint64_t p = fn->value; p + 5 <= fn->value + fn->size && p + 5 <= s->size; p++) {
                if (s->data[p] != 0xe8 && s->data[p] != 0xe9)
                    continue;
                int32_t rel;
                memcpy(&rel, s->data + p + 1, 4);
                if ((int64_t)p + 5 + rel != (int64_t)e->offset)
                    continue;
                int relocated = 0;
                for (size_t i = 0; rs && i < rs->n; i++)
                    if (rs->r[i].offset == p + 1)
                        relocated = 1;
                if (!relocated)
                    e->direct_calls++;
            }
        }
    }
}

static int module_entries(struct ctx *c)
{
    static const struct {
        const char *name;
        enum ca_ref_kind kind;
    } m[] = {
        { "init_module", CA_REF_MODULE_INIT },
        { "cleanup_module", CA_REF_MODULE_EXIT },
    };
    for (size_t i = 0; i < 2; i++) {
        struct fn *f = fn_by_name(c, m[i].name);
        if (!f)
            continue;
        struct ca_entry *e = entry_for(c, f);
        if (!e)
            return -1;
        struct ca_ref ref = { .kind = m[i].kind, .via = m[i].name };
        if (add_ref(e, &ref))
            return -1;
    }
    return 0;
}

/* Split undefined symbols: called directly -> exits; otherwise -> data. */
static int split_undefined(struct ctx *c)
{
    struct ca_result *r = c->r;
    size_t n = 0;
    for (size_t i = 0; i < r->nexits; i++) {
        struct ca_undef u = r->exits[i];
        if (u.calls || u.jumps) {
            r->exits[n++] = u;
        } else {
            struct ca_undef *d = undef_in(&r->data, &r->ndata, &c->cap_data, u.name);
            if (!d)
                return -1;
            *d = u;
        }
    }
    r->nexits = n;
    return 0;
}

static int add_hazard(struct ctx *c, struct ca_hazard *h)
{
    if (GROW(c->r->hazards, c->r->nhazards, c->cap_hazards))
        return -1;
    c->r->hazards[c->r->nhazards++] = *h;
    return 0;
}

static int add_site(struct ca_hazard *h, size_t *cap, struct ca_site s)
{
    if (GROW(h->sites, h->nsites, *cap))
        return -1;
    h->sites[h->nsites++] = s;
    return 0;
}

static int scan_hazards(struct ctx *c)
{
    const struct co_object *o = c->o;
    struct ca_result *r = c->r;

    /* relocations inside text (statistics were gathered in scan_relocations) */
    {
        struct ca_hazard h = { .key = "text-relocations",
                               .section = "",
                               .rewrites_text = 1,
                               .what = "apply_relocate_add: every relocation field in text is written at load (module "
                                       "and kernel addresses; KASLR)" };
        uint8_t *local = NULL;
        for (size_t k = 0; k < o->nrelsec; k++) {
            const struct co_relsec *rs = &o->relsec[k];
            const struct co_section *from = &o->sec[rs->target];
            if (!is_text(from) || ignored_source(from))
                continue;
            free(local);
            local = calloc(from->size + 1, 1);
            if (!local)
                return -1;
            for (size_t i = 0; i < rs->n; i++) {
                if (rs->r[i].type == R_X86_64_NONE)
                    continue;
                h.entries++;
                for (unsigned b = 0; b < reloc_width(rs->r[i].type) && rs->r[i].offset + b < from->size; b++)
                    if (!local[rs->r[i].offset + b]) {
                        local[rs->r[i].offset + b] = 1;
                        h.patched_bytes++;
                    }
            }
        }
        free(local);
        if (add_hazard(c, &h))
            return -1;
    }

    /* __fentry__ calls counted from text (cross-checked with __mcount_loc below) */
    size_t fentry_calls = 0, thunk_branches = 0, return_thunk_jumps = 0;
    for (size_t i = 0; i < r->nruntime; i++) {
        if (!strcmp(r->runtime[i].name, "__fentry__"))
            fentry_calls += r->runtime[i].calls;
        else if (!strcmp(r->runtime[i].name, "__x86_return_thunk"))
            return_thunk_jumps += r->runtime[i].jumps;
        else if (starts_with(r->runtime[i].name, "__x86_indirect_"))
            thunk_branches += r->runtime[i].calls + r->runtime[i].jumps;
    }

    for (size_t m = 0; m < sizeof(metas) / sizeof(metas[0]); m++) {
        const struct meta *mt = &metas[m];
        size_t idx = co_find_section(o, mt->name);
        if (!idx)
            continue;
        const struct co_section *ms = &o->sec[idx];
        struct ca_hazard h = { .key = mt->key,
                               .section = mt->name,
                               .rewrites_text = mt->rewrites_text,
                               .what = mt->what,
                               .entries = ms->size / mt->entsize };
        size_t cap = 0;
        uint8_t **local = calloc(o->nsec, sizeof(*local));
        if (!local)
            return -1;
        const struct co_relsec *rs = co_relocs_for(o, idx);
        for (size_t i = 0; rs && i < rs->n; i++) {
            const struct co_reloc *rl = &rs->r[i];
            if (rl->offset % mt->entsize != mt->field)
                continue;
            uint64_t toff;
            size_t tsec = reloc_target(o, ms, rl, &toff);
            if (!tsec || !is_text(&o->sec[tsec]))
                continue;
            struct fn *f = fn_containing(c, tsec, toff);
            if (add_site(&h, &cap,
                         (struct ca_site){ o->sec[tsec].name, toff, f ? f->name : NULL, f ? toff - f->value : 0 }))
                goto oom;
            if (mt->rewrites_text) {
                unsigned len = mt->fixed_len;
                if (mt->len_field >= 0 && ms->data && rl->offset - mt->field + (unsigned)mt->len_field < ms->size)
                    len = ms->data[rl->offset - mt->field + (unsigned)mt->len_field];
                if (!local[tsec] && !(local[tsec] = calloc(o->sec[tsec].size + 1, 1)))
                    goto oom;
                h.patched_bytes += (size_t)mark_patched(c, tsec, toff, len, local[tsec]);
            }
        }
        for (size_t s = 0; s < o->nsec; s++)
            free(local[s]);
        free(local);
        if (!strcmp(mt->key, "fentry") && h.entries != fentry_calls &&
            note(c, "__mcount_loc lists %zu sites but text has %zu calls to __fentry__", h.entries, fentry_calls))
            return -1;
        if (!strcmp(mt->key, "retpoline") && h.entries != thunk_branches &&
            note(c, ".retpoline_sites lists %zu sites but text has %zu call/jmp to __x86_indirect_thunk_*", h.entries,
                 thunk_branches))
            return -1;
        if (!strcmp(mt->key, "return-thunk") && h.entries != return_thunk_jumps &&
            note(c, ".return_sites lists %zu sites but text has %zu jmp __x86_return_thunk", h.entries,
                 return_thunk_jumps))
            return -1;
        if (add_hazard(c, &h))
            return -1;
        continue;
    oom:
        for (size_t s = 0; s < o->nsec; s++)
            free(local[s]);
        free(local);
        free(h.sites);
        return -1;
    }

    /* sites the compiler emitted without a table (no objtool): still rewritten? report them */
    if (!co_find_section(o, "__mcount_loc") && fentry_calls &&
        note(c, "%zu calls to __fentry__ but no __mcount_loc: ftrace will not patch them (the call stays live)",
             fentry_calls))
        return -1;
    if (!co_find_section(o, ".retpoline_sites") && thunk_branches &&
        note(c,
             "%zu retpoline thunk branches but no .retpoline_sites: not rewritten, but the thunk is kernel code run "
             "with the module's privilege",
             thunk_branches))
        return -1;
    if (!co_find_section(o, ".return_sites") && return_thunk_jumps &&
        note(c, "%zu jumps to __x86_return_thunk but no .return_sites: not rewritten", return_thunk_jumps))
        return -1;
    for (size_t i = 0; i < r->nexits; i++)
        if (starts_with(r->exits[i].name, "__SCT__") &&
            note(c,
                 "exit %s is a static-call trampoline: the kernel retargets its call sites (.static_call_sites) "
                 "to the current target, bypassing an ld --wrap exit wrapper",
                 r->exits[i].name))
            return -1;
    for (size_t i = 0; i < r->ndata; i++)
        if (!strcmp(r->data[i].name, "pv_ops") && r->data[i].refs_text &&
            note(c,
                 "pv_ops used from code (%u sites): paravirt indirect calls into the kernel, patched by "
                 "apply_paravirt; not visible to ld --wrap",
                 r->data[i].refs_text))
            return -1;
    size_t orc = co_find_section(o, ".orc_unwind");
    if (orc &&
        note(c, ".orc_unwind: %llu entries (6 bytes each), no text change", (unsigned long long)(o->sec[orc].size / 6)))
        return -1;

    /* per text section: size and distinct bytes any hazard may change */
    size_t cap = 0;
    for (size_t i = 1; i < o->nsec; i++) {
        if (!is_text(&o->sec[i]))
            continue;
        if (GROW(r->texts, r->ntexts, cap))
            return -1;
        struct ca_text_section t = { o->sec[i].name, i, o->sec[i].size, 0 };
        for (uint64_t b = 0; b < o->sec[i].size; b++)
            t.patched_bytes += c->patched[i][b];
        r->texts[r->ntexts++] = t;
    }
    return 0;
}

static int undef_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ca_undef *)a)->name, ((const struct ca_undef *)b)->name);
}

static int entry_cmp(const void *a, const void *b)
{
    const struct ca_entry *x = a, *y = b;
    if (x->shndx != y->shndx)
        return x->shndx < y->shndx ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int ca_analyze(const struct co_object *o, struct ca_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->obj = o;
    struct ctx c = { .o = o, .r = r, .err = err, .errlen = errlen };
    int rc = -1;
    c.patched = calloc(o->nsec ? o->nsec : 1, sizeof(*c.patched));
    if (!c.patched)
        goto oom;
    for (size_t i = 1; i < o->nsec; i++)
        if (is_text(&o->sec[i]) && !(c.patched[i] = calloc(o->sec[i].size + 1, 1)))
            goto oom;
    if (collect_functions(&c) || module_entries(&c) || scan_relocations(&c) || scan_resolved_lea(&c))
        goto oom;
    count_direct_calls(&c);
    if (split_undefined(&c) || scan_hazards(&c))
        goto oom;
    if (r->nentries)
        qsort(r->entries, r->nentries, sizeof(*r->entries), entry_cmp);
    if (r->nexits)
        qsort(r->exits, r->nexits, sizeof(*r->exits), undef_cmp);
    if (r->ndata)
        qsort(r->data, r->ndata, sizeof(*r->data), undef_cmp);
    if (r->nruntime)
        qsort(r->runtime, r->nruntime, sizeof(*r->runtime), undef_cmp);
    if (!fn_by_name(&c, "init_module"))
        note(&c, "no init_module: the module has no module_init; registration needs one (christoize build refuses it)");
    rc = 0;
    goto out;
oom:
    seterr(err, errlen, "%s: out of memory during analysis", o->path);
    ca_free(r);
out:
    if (c.patched)
        for (size_t i = 0; i < o->nsec; i++)
            free(c.patched[i]);
    free(c.patched);
    free(c.fns);
    return rc;
}

void ca_free(struct ca_result *r)
{
    for (size_t i = 0; i < r->nentries; i++)
        free(r->entries[i].refs);
    free(r->entries);
    free(r->exits);
    free(r->data);
    free(r->runtime);
    free(r->indirect);
    free(r->treloc);
    for (size_t i = 0; i < r->nhazards; i++)
        free(r->hazards[i].sites);
    free(r->hazards);
    free(r->texts);
    for (size_t i = 0; i < r->nnotes; i++)
        free(r->notes[i]);
    free(r->notes);
    memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------ developer overrides */

int ca_entries_add(struct ca_result *r, const char *name, char *err, size_t errlen)
{
    const struct co_object *o = r->obj;
    if (ca_find_entry(r, name))
        return 0; /* already an entry: adding is idempotent */
    const struct co_symbol *best = NULL;
    for (size_t i = 1; i < o->nsym; i++) {
        const struct co_symbol *s = &o->sym[i];
        if (strcmp(s->name, name) || s->type == STT_SECTION)
            continue;
        best = s;
        if (s->shndx != SHN_UNDEF)
            break;
    }
    if (!best) {
        seterr(err, errlen, "%s: --entries-add %s: no such symbol in the module", o->path, name);
        return -1;
    }
    if (best->shndx == SHN_UNDEF) {
        seterr(err, errlen, "%s: --entries-add %s: undefined here (a kernel symbol), not a function of this module",
               o->path, name);
        return -1;
    }
    if (best->shndx >= o->nsec || !is_text(&o->sec[best->shndx]) || best->type == STT_OBJECT) {
        seterr(err, errlen, "%s: --entries-add %s: not a function (in section %s)", o->path, name,
               best->shndx < o->nsec ? o->sec[best->shndx].name : "?");
        return -1;
    }
    struct ca_entry *n = realloc(r->entries, (r->nentries + 1) * sizeof(*n));
    if (!n) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    r->entries = n;
    struct ca_entry *e = &r->entries[r->nentries++];
    memset(e, 0, sizeof(*e));
    e->name = best->name;
    e->section = o->sec[best->shndx].name;
    e->shndx = best->shndx;
    e->offset = best->value;
    e->size = best->size;
    e->global = best->bind != STB_LOCAL;
    e->refs = calloc(1, sizeof(*e->refs));
    if (!e->refs) {
        r->nentries--;
        seterr(err, errlen, "out of memory");
        return -1;
    }
    e->refs[0] = (struct ca_ref){ .kind = CA_REF_USER, .via = best->name };
    e->nrefs = 1;
    qsort(r->entries, r->nentries, sizeof(*r->entries), entry_cmp);
    return 0;
}

int ca_entries_remove(struct ca_result *r, const char *name, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->nentries; i++) {
        struct ca_entry *e = &r->entries[i];
        if (strcmp(e->name, name) && !(e->alias && !strcmp(e->alias, name)))
            continue;
        for (size_t k = 0; k < e->nrefs; k++)
            if (e->refs[k].kind == CA_REF_MODULE_INIT || e->refs[k].kind == CA_REF_MODULE_EXIT) {
                seterr(err, errlen,
                       "%s: --entries-remove %s: it is the module's %s; the registration/deinit "
                       "hypercalls are made there, so it cannot be removed",
                       r->obj->path, name,
                       e->refs[k].kind == CA_REF_MODULE_INIT ? "module_init (init_module)"
                                                             : "module_exit (cleanup_module)");
                return -1;
            }
        free(e->refs);
        memmove(e, e + 1, (r->nentries - i - 1) * sizeof(*e));
        r->nentries--;
        return 0;
    }
    seterr(err, errlen, "%s: --entries-remove %s: not an entry point of this module", r->obj->path, name);
    return -1;
}

int ca_entries_file(struct ca_result *r, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        seterr(err, errlen, "%s: cannot open entries file: %s", path, strerror(errno));
        return -1;
    }
    char line[512];
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *h = strchr(line, '#');
        if (h)
            *h = 0;
        char *p = line, *e;
        while (*p == ' ' || *p == '\t')
            p++;
        e = p + strlen(p);
        while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = 0;
        if (!*p)
            continue;
        int remove = 0;
        if (*p == '+' || *p == '-') {
            remove = *p == '-';
            p++;
        }
        for (char *q = p; *q; q++)
            if (!(*q == '_' || *q == '.' || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') ||
                  (*q >= 'A' && *q <= 'Z'))) {
                seterr(err, errlen, "%s:%u: bad symbol name '%s' (expected [+|-]name)", path, lineno, p);
                rc = -1;
                goto out;
            }
        char sub[512];
        if ((remove ? ca_entries_remove : ca_entries_add)(r, p, sub, sizeof(sub))) {
            seterr(err, errlen, "%s:%u: %s", path, lineno, sub);
            rc = -1;
            goto out;
        }
    }
out:
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ lookups */

const struct ca_entry *ca_find_entry(const struct ca_result *r, const char *name)
{
    for (size_t i = 0; i < r->nentries; i++)
        if (!strcmp(r->entries[i].name, name) || (r->entries[i].alias && !strcmp(r->entries[i].alias, name)))
            return &r->entries[i];
    return NULL;
}

const struct ca_undef *ca_find_exit(const struct ca_result *r, const char *name)
{
    for (size_t i = 0; i < r->nexits; i++)
        if (!strcmp(r->exits[i].name, name))
            return &r->exits[i];
    return NULL;
}

const struct ca_undef *ca_find_data(const struct ca_result *r, const char *name)
{
    for (size_t i = 0; i < r->ndata; i++)
        if (!strcmp(r->data[i].name, name))
            return &r->data[i];
    return NULL;
}

const struct ca_hazard *ca_find_hazard(const struct ca_result *r, const char *key)
{
    for (size_t i = 0; i < r->nhazards; i++)
        if (!strcmp(r->hazards[i].key, key))
            return &r->hazards[i];
    return NULL;
}

const struct ca_reloc_count *ca_find_treloc(const struct ca_result *r, uint32_t type)
{
    for (size_t i = 0; i < r->ntreloc; i++)
        if (r->treloc[i].type == type)
            return &r->treloc[i];
    return NULL;
}

const char *ca_ref_kind_name(enum ca_ref_kind k)
{
    switch (k) {
    case CA_REF_DATA:
        return "data-reference";
    case CA_REF_TEXT_ADDR:
        return "address-taken-in-code";
    case CA_REF_MODULE_INIT:
        return "module_init";
    case CA_REF_MODULE_EXIT:
        return "module_exit";
    case CA_REF_USER:
        return "added-by-developer";
    }
    return "?";
}

/* ------------------------------------------------------------------ shared with the build stage */

int ca_is_text(const struct co_section *s) { return is_text(s); }
int ca_ignored_source(const struct co_section *s) { return ignored_source(s); }
int ca_is_runtime_symbol(const char *name) { return is_runtime_symbol(name); }
int ca_branch_at(const struct co_section *s, uint64_t off, uint32_t type) { return branch_at(s, off, type) != BR_NONE; }
size_t ca_reloc_target(const struct co_object *o, const struct co_section *from, const struct co_reloc *r,
                       uint64_t *off)
{
    return reloc_target(o, from, r, off);
}
