/* christoize/analysis.h — the analysis stage of Christoization (tech report §4.2), done on the
 * compiled module object rather than on preprocessed source: relocations see through macros.
 *
 *   entry points  functions the kernel can call: address taken (relocations from data sections, or
 *                 from text where the relocation is not the operand of a direct call/jmp), plus
 *                 init_module / cleanup_module;
 *   exits         undefined functions the module calls directly (ld --wrap candidates);
 *   data          undefined symbols the module only references (never called directly);
 *   hazards       what the kernel rewrites in this module's text at load time (and later).
 * See docs/christoize.md for the rules and their limits. */
#ifndef CHRISTOIZE_ANALYSIS_H
#define CHRISTOIZE_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "elfobj.h"

enum ca_ref_kind {
    CA_REF_DATA,        /* a relocation in a data section (ops table, __param, .init.data ...) */
    CA_REF_TEXT_ADDR,   /* a relocation in text that is not a direct call/jmp operand (lea/mov $fn) */
    CA_REF_MODULE_INIT, /* the function is init_module (module_init) */
    CA_REF_MODULE_EXIT, /* the function is cleanup_module (module_exit) */
    CA_REF_USER,        /* added by --entries-add / --entries-file */
};

struct ca_ref {
    enum ca_ref_kind kind;
    const char *from_sec; /* section holding the relocation (NULL for MODULE_* / USER) */
    uint64_t from_off;
    const char *from_func; /* for text references: the function containing it, else NULL */
    uint64_t from_func_off;
    const char *rtype; /* R_X86_64_* */
    const char *via;   /* the symbol the relocation names: the function, or a section symbol */
    int64_t addend;
};

struct ca_entry {
    const char *name;  /* the developer's function name */
    const char *alias; /* "init_module"/"cleanup_module" when that aliases 'name', else NULL */
    const char *section;
    size_t shndx;
    uint64_t offset, size;
    int global;
    unsigned direct_calls; /* direct call/jmp sites to it inside the module (0 for pure callbacks) */
    struct ca_ref *refs;
    size_t nrefs;
};

struct ca_undef {
    const char *name;
    unsigned calls, jumps; /* direct call rel32 / jmp or jcc rel32 (tail call) sites */
    unsigned refs_text;    /* other relocations from text (mov/lea of the address or the data) */
    unsigned refs_data;    /* relocations from data sections (pointer stored in a table) */
};

struct ca_site {
    const char *sec;
    uint64_t off;
    const char *func; /* containing function, or NULL */
    uint64_t func_off;
};

struct ca_hazard {
    const char *key;      /* stable identifier: "text-relocations", "fentry", "altinstructions" ... */
    const char *section;  /* the metadata section ("" when counted from relocations only) */
    int rewrites_text;    /* 1: the kernel changes text bytes because of it; 0: metadata only */
    const char *what;     /* one line: what the kernel does */
    size_t entries;       /* table entries (section size / entry size), or sites counted */
    size_t patched_bytes; /* text bytes this hazard may change (distinct within the hazard) */
    struct ca_site *sites;
    size_t nsites;
};

struct ca_reloc_count {
    uint32_t type;
    const char *rtype;
    int pcrel;
    unsigned same_section;  /* to a symbol in the relocated section itself */
    unsigned other_section; /* to another section of this module (.bss, .rodata, .text.unlikely ...) */
    unsigned external;      /* to an undefined (kernel) symbol */
};

struct ca_text_section {
    const char *name;
    size_t shndx;
    uint64_t size;
    size_t patched_bytes; /* distinct bytes any hazard may change */
};

struct ca_result {
    const struct co_object *obj;
    struct ca_entry *entries;
    size_t nentries;
    struct ca_undef *exits;
    size_t nexits; /* called directly: ld --wrap candidates */
    struct ca_undef *data;
    size_t ndata; /* undefined, never called directly */
    struct ca_undef *runtime;
    size_t nruntime; /* compiler-inserted: __fentry__, thunks */
    struct ca_site *indirect;
    size_t nindirect; /* indirect call/jmp sites (via retpoline thunks) */
    struct ca_reloc_count *treloc;
    size_t ntreloc; /* relocations inside executable sections */
    struct ca_hazard *hazards;
    size_t nhazards;
    struct ca_text_section *texts;
    size_t ntexts;
    char **notes;
    size_t nnotes; /* ignored interior references, mismatches, ... */
};

/* Analyses 'o' (which must outlive the result). Returns 0, or -1 with a message in err. */
int ca_analyze(const struct co_object *o, struct ca_result *r, char *err, size_t errlen);
void ca_free(struct ca_result *r);

/* Developer overrides. Each returns 0, or -1 with a message naming the symbol and file in err:
 * adding a name that is not a function defined in the object, removing one that is not an entry
 * point, or removing init_module/cleanup_module (registration depends on them). */
int ca_entries_add(struct ca_result *r, const char *name, char *err, size_t errlen);
int ca_entries_remove(struct ca_result *r, const char *name, char *err, size_t errlen);
/* A file of lines "+name" (add), "-name" (remove) or "name" (add); '#' starts a comment. */
int ca_entries_file(struct ca_result *r, const char *path, char *err, size_t errlen);

const struct ca_entry *ca_find_entry(const struct ca_result *r, const char *name);
const struct ca_undef *ca_find_exit(const struct ca_result *r, const char *name);
const struct ca_undef *ca_find_data(const struct ca_result *r, const char *name);
const struct ca_hazard *ca_find_hazard(const struct ca_result *r, const char *key);
const struct ca_reloc_count *ca_find_treloc(const struct ca_result *r, uint32_t type);
const char *ca_ref_kind_name(enum ca_ref_kind k);

/* The classification primitives, shared with the build stage (build.c) so that the relocations it
 * rewrites are exactly the ones the analysis counted:
 *   ca_is_text         allocated and executable;
 *   ca_ignored_source  a section whose relocations never make an entry point (debug, kernel patch tables);
 *   ca_is_runtime_symbol  __fentry__, __x86_return_thunk, __x86_indirect_thunk_* ...;
 *   ca_branch_at       the PC32/PLT32 field at 'off' is the operand of call/jmp/jcc rel32;
 *   ca_reloc_target    where relocation r (in section 'from') lands: section index (0 = undefined or
 *                      absolute) and offset in *off (PC-relative text fields corrected by +4). */
int ca_is_text(const struct co_section *s);
int ca_ignored_source(const struct co_section *s);
int ca_is_runtime_symbol(const char *name);
int ca_branch_at(const struct co_section *s, uint64_t off, uint32_t type);
size_t ca_reloc_target(const struct co_object *o, const struct co_section *from, const struct co_reloc *r,
                       uint64_t *off);

#endif
