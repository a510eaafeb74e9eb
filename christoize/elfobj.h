/* christoize/elfobj.h — a relocatable x86-64 ELF object (a kernel module .o/.ko) read with libelf
 * into plain arrays: sections, symbols and RELA relocations. Read-only; nothing is written back. */
#ifndef CHRISTOIZE_ELFOBJ_H
#define CHRISTOIZE_ELFOBJ_H

#include <stddef.h>
#include <stdint.h>

/* Error classes, so callers (and tests) can tell bad input apart without parsing messages. */
enum co_err {
    CO_OK = 0,
    CO_ERR_IO,         /* cannot open/read the file (missing, unreadable) */
    CO_ERR_NOT_ELF,    /* not an ELF file at all */
    CO_ERR_NOT_REL,    /* ELF, but not ET_REL (an executable, a shared object, a core file) */
    CO_ERR_NOT_X86_64, /* ELF ET_REL, but not ELFCLASS64 / EM_X86_64 */
    CO_ERR_NOT_MODULE, /* x86-64 ET_REL, but neither .modinfo nor __this_module: not a kernel module */
    CO_ERR_MALFORMED,  /* structurally broken (bad indices, offsets out of range, REL instead of RELA) */
    CO_ERR_NOMEM,
};

struct co_section {
    const char *name;
    uint32_t type;  /* SHT_* */
    uint64_t flags; /* SHF_* */
    uint64_t size;
    const uint8_t *data; /* section bytes; NULL for SHT_NOBITS and empty sections */
};

struct co_symbol {
    const char *name; /* "" for unnamed (section symbols get the section's name in 'name') */
    uint8_t type;     /* STT_* */
    uint8_t bind;     /* STB_* */
    uint16_t shndx;   /* SHN_UNDEF, SHN_ABS, ... or a section index */
    uint64_t value;
    uint64_t size;
};

struct co_reloc {
    uint64_t offset; /* in the relocated section */
    uint32_t type;   /* R_X86_64_* */
    uint32_t sym;    /* index into co_object.sym */
    int64_t addend;
};

struct co_relsec {
    size_t target; /* index of the section these relocations apply to */
    size_t self;   /* index of the .rela.* section itself */
    struct co_reloc *r;
    size_t n;
};

struct co_object {
    char *path;
    size_t nsec;
    struct co_section *sec; /* indexed by ELF section index; sec[0] is the null section */
    size_t nsym;
    struct co_symbol *sym; /* indexed by ELF symbol index */
    size_t nrelsec;
    struct co_relsec *relsec;
    int has_modinfo;
    int has_this_module;
    char *modname; /* from .modinfo "name=", else the file's base name without suffix */
    void *priv;    /* libelf handle and fd */
};

/* Opens and reads 'path'. On failure returns the class and writes a message naming the file to
 * err (errlen bytes); *o is then left empty (co_close on it is harmless). */
enum co_err co_open(const char *path, struct co_object *o, char *err, size_t errlen);
/* The same for any x86-64 relocatable object, kernel module or not (an object kbuild compiled but
 * did not link into a module: christoize's absorbed-function implementations). */
enum co_err co_open_object(const char *path, struct co_object *o, char *err, size_t errlen);
void co_close(struct co_object *o);

/* Index of the section called 'name', or 0. */
size_t co_find_section(const struct co_object *o, const char *name);
/* Relocations that apply to section 'idx', or NULL. */
const struct co_relsec *co_relocs_for(const struct co_object *o, size_t idx);
/* "R_X86_64_PC32" etc.; a static "R_X86_64_<n>" buffer for unknown types. */
const char *co_reloc_name(uint32_t type);

#endif
