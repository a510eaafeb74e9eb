/* christoize/elfobj.c — see elfobj.h. */
#include "elfobj.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct co_priv {
    int fd;
    Elf *elf;
};

static enum co_err fail(struct co_object *o, enum co_err e, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum co_err fail(struct co_object *o, enum co_err e, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    co_close(o);
    return e;
}

static enum co_err open_object(const char *path, struct co_object *o, int need_module, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    if (err && errlen)
        err[0] = 0;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return fail(o, CO_ERR_IO, err, errlen, "%s: libelf initialisation failed: %s", path, elf_errmsg(-1));

    struct co_priv *p = calloc(1, sizeof(*p));
    o->path = strdup(path);
    if (!p || !o->path) {
        free(p);
        return fail(o, CO_ERR_NOMEM, err, errlen, "%s: out of memory", path);
    }
    p->fd = -1;
    o->priv = p;

    p->fd = open(path, O_RDONLY);
    if (p->fd < 0)
        return fail(o, CO_ERR_IO, err, errlen, "%s: cannot open: %s", path, strerror(errno));
    p->elf = elf_begin(p->fd, ELF_C_READ, NULL);
    if (!p->elf || elf_kind(p->elf) != ELF_K_ELF)
        return fail(o, CO_ERR_NOT_ELF, err, errlen, "%s: not an ELF object file%s", path,
                    p->elf && elf_kind(p->elf) == ELF_K_AR ? " (an ar archive: pass the .o or .ko inside it)" : "");

    GElf_Ehdr eh;
    if (!gelf_getehdr(p->elf, &eh))
        return fail(o, CO_ERR_NOT_ELF, err, errlen, "%s: not an ELF object file: %s", path, elf_errmsg(-1));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
        return fail(o, CO_ERR_NOT_X86_64, err, errlen,
                    "%s: not an x86-64 object (ELF class %d, machine %d): Postern guests are x86-64 Linux", path,
                    eh.e_ident[EI_CLASS], eh.e_machine);
    if (eh.e_type != ET_REL) {
        const char *what = eh.e_type == ET_EXEC   ? "an executable"
                           : eh.e_type == ET_DYN  ? "a shared object or PIE"
                           : eh.e_type == ET_CORE ? "a core file"
                                                  : "not relocatable";
        return fail(o, CO_ERR_NOT_REL, err, errlen,
                    "%s: ELF type %d (%s), expected ET_REL: a kernel module is a relocatable .o/.ko", path, eh.e_type,
                    what);
    }

    size_t nsec, shstrndx;
    if (elf_getshdrnum(p->elf, &nsec) != 0 || elf_getshdrstrndx(p->elf, &shstrndx) != 0)
        return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: unreadable section headers: %s", path, elf_errmsg(-1));
    o->nsec = nsec;
    o->sec = calloc(nsec ? nsec : 1, sizeof(*o->sec));
    if (!o->sec)
        return fail(o, CO_ERR_NOMEM, err, errlen, "%s: out of memory", path);

    size_t symtab = 0, nrela = 0;
    for (size_t i = 1; i < nsec; i++) {
        Elf_Scn *scn = elf_getscn(p->elf, i);
        GElf_Shdr sh;
        if (!scn || !gelf_getshdr(scn, &sh))
            return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: section %zu unreadable: %s", path, i, elf_errmsg(-1));
        const char *name = elf_strptr(p->elf, shstrndx, sh.sh_name);
        struct co_section *s = &o->sec[i];
        s->name = name ? name : "";
        s->type = sh.sh_type;
        s->flags = sh.sh_flags;
        s->size = sh.sh_size;
        if (sh.sh_type != SHT_NOBITS && sh.sh_size) {
            Elf_Data *d = elf_getdata(scn, NULL);
            if (!d || d->d_size != sh.sh_size)
                return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: section %s: data unreadable or truncated", path,
                            s->name);
            s->data = d->d_buf;
        }
        if (sh.sh_type == SHT_SYMTAB) {
            if (symtab)
                return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: more than one SHT_SYMTAB", path);
            symtab = i;
        } else if (sh.sh_type == SHT_RELA) {
            nrela++;
        } else if (sh.sh_type == SHT_REL) {
            return fail(o, CO_ERR_MALFORMED, err, errlen,
                        "%s: section %s is SHT_REL; x86-64 kernel objects use SHT_RELA", path, s->name);
        }
        if (!strcmp(s->name, ".modinfo"))
            o->has_modinfo = 1;
    }
    if (!symtab)
        return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: no symbol table (stripped?); cannot analyse", path);

    /* symbols */
    {
        Elf_Scn *scn = elf_getscn(p->elf, symtab);
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d || !sh.sh_entsize)
            return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: symbol table unreadable", path);
        o->nsym = sh.sh_size / sh.sh_entsize;
        o->sym = calloc(o->nsym ? o->nsym : 1, sizeof(*o->sym));
        if (!o->sym)
            return fail(o, CO_ERR_NOMEM, err, errlen, "%s: out of memory", path);
        for (size_t i = 0; i < o->nsym; i++) {
            GElf_Sym gs;
            if (!gelf_getsym(d, (int)i, &gs))
                return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: symbol %zu unreadable", path, i);
            struct co_symbol *y = &o->sym[i];
            const char *n = elf_strptr(p->elf, sh.sh_link, gs.st_name);
            y->name = n ? n : "";
            y->type = GELF_ST_TYPE(gs.st_info);
            y->bind = GELF_ST_BIND(gs.st_info);
            y->shndx = gs.st_shndx;
            y->value = gs.st_value;
            y->size = gs.st_size;
            if (y->shndx != SHN_UNDEF && y->shndx < SHN_LORESERVE && y->shndx >= nsec)
                return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: symbol %s: section index %u out of range", path,
                            y->name, y->shndx);
            if (y->type == STT_SECTION && y->shndx && y->shndx < nsec)
                y->name = o->sec[y->shndx].name;
            if (!strcmp(y->name, "__this_module") && y->shndx != SHN_UNDEF)
                o->has_this_module = 1;
        }
    }

    if (need_module && !o->has_modinfo && !o->has_this_module)
        return fail(o, CO_ERR_NOT_MODULE, err, errlen,
                    "%s: not a Linux kernel module: no .modinfo section and no __this_module symbol "
                    "(build it with kbuild: make -C <headers> M=<dir> modules)",
                    path);

    /* relocations */
    o->relsec = calloc(nrela ? nrela : 1, sizeof(*o->relsec));
    if (!o->relsec)
        return fail(o, CO_ERR_NOMEM, err, errlen, "%s: out of memory", path);
    for (size_t i = 1; i < nsec; i++) {
        if (o->sec[i].type != SHT_RELA)
            continue;
        Elf_Scn *scn = elf_getscn(p->elf, i);
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        if (sh.sh_link != symtab)
            return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: %s does not use the symbol table", path, o->sec[i].name);
        if (sh.sh_info == 0 || sh.sh_info >= nsec)
            return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: %s applies to bad section index %u", path,
                        o->sec[i].name, (unsigned)sh.sh_info);
        struct co_relsec *rs = &o->relsec[o->nrelsec++];
        rs->target = sh.sh_info;
        rs->self = i;
        rs->n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        rs->r = calloc(rs->n ? rs->n : 1, sizeof(*rs->r));
        if (!rs->r)
            return fail(o, CO_ERR_NOMEM, err, errlen, "%s: out of memory", path);
        Elf_Data *d = elf_getdata(scn, NULL);
        if (rs->n && !d)
            return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: %s unreadable", path, o->sec[i].name);
        const struct co_section *tgt = &o->sec[rs->target];
        for (size_t k = 0; k < rs->n; k++) {
            GElf_Rela ra;
            if (!gelf_getrela(d, (int)k, &ra))
                return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: %s entry %zu unreadable", path, o->sec[i].name, k);
            struct co_reloc *r = &rs->r[k];
            r->offset = ra.r_offset;
            r->type = (uint32_t)GELF_R_TYPE(ra.r_info);
            r->sym = (uint32_t)GELF_R_SYM(ra.r_info);
            r->addend = ra.r_addend;
            if (r->sym >= o->nsym)
                return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: %s entry %zu: symbol index %u out of range", path,
                            o->sec[i].name, k, r->sym);
            if ((tgt->flags & SHF_ALLOC) && r->offset + 4 > tgt->size && tgt->type != SHT_NOBITS)
                return fail(o, CO_ERR_MALFORMED, err, errlen, "%s: %s entry %zu: offset 0x%llx beyond %s (size 0x%llx)",
                            path, o->sec[i].name, k, (unsigned long long)r->offset, tgt->name,
                            (unsigned long long)tgt->size);
        }
    }

    /* module name: .modinfo "name=" (present in .ko, added by modpost) else the base name */
    size_t mi = co_find_section(o, ".modinfo");
    if (mi && o->sec[mi].data) {
        const char *b = (const char *)o->sec[mi].data, *e = b + o->sec[mi].size;
        for (const char *q = b; q < e; q += strnlen(q, (size_t)(e - q)) + 1)
            if ((size_t)(e - q) > 5 && !strncmp(q, "name=", 5)) {
                o->modname = strndup(q + 5, strnlen(q + 5, (size_t)(e - q - 5)));
                break;
            }
    }
    if (!o->modname) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        o->modname = strdup(base);
        if (o->modname) {
            char *dot = strchr(o->modname, '.');
            if (dot)
                *dot = 0;
        }
    }
    if (!o->modname)
        return fail(o, CO_ERR_NOMEM, err, errlen, "%s: out of memory", path);
    return CO_OK;
}

enum co_err co_open(const char *path, struct co_object *o, char *err, size_t errlen)
{
    return open_object(path, o, 1, err, errlen);
}

enum co_err co_open_object(const char *path, struct co_object *o, char *err, size_t errlen)
{
    return open_object(path, o, 0, err, errlen);
}

void co_close(struct co_object *o)
{
    struct co_priv *p = o->priv;
    if (p) {
        if (p->elf)
            elf_end(p->elf);
        if (p->fd >= 0)
            close(p->fd);
        free(p);
    }
    for (size_t i = 0; i < o->nrelsec; i++)
        free(o->relsec[i].r);
    free(o->relsec);
    free(o->sym);
    free(o->sec);
    free(o->path);
    free(o->modname);
    memset(o, 0, sizeof(*o));
}

size_t co_find_section(const struct co_object *o, const char *name)
{
    for (size_t i = 1; i < o->nsec; i++)
        if (!strcmp(o->sec[i].name, name))
            return i;
    return 0;
}

const struct co_relsec *co_relocs_for(const struct co_object *o, size_t idx)
{
    for (size_t i = 0; i < o->nrelsec; i++)
        if (o->relsec[i].target == idx)
            return &o->relsec[i];
    return NULL;
}

const char *co_reloc_name(uint32_t type)
{
    static const char *const names[] = {
        [R_X86_64_NONE] = "R_X86_64_NONE",
        [R_X86_64_64] = "R_X86_64_64",
        [R_X86_64_PC32] = "R_X86_64_PC32",
        [R_X86_64_GOT32] = "R_X86_64_GOT32",
        [R_X86_64_PLT32] = "R_X86_64_PLT32",
        [R_X86_64_GOTPCREL] = "R_X86_64_GOTPCREL",
        [R_X86_64_32] = "R_X86_64_32",
        [R_X86_64_32S] = "R_X86_64_32S",
        [R_X86_64_16] = "R_X86_64_16",
        [R_X86_64_PC16] = "R_X86_64_PC16",
        [R_X86_64_8] = "R_X86_64_8",
        [R_X86_64_PC8] = "R_X86_64_PC8",
        [R_X86_64_PC64] = "R_X86_64_PC64",
        [R_X86_64_GOTPCRELX] = "R_X86_64_GOTPCRELX",
        [R_X86_64_REX_GOTPCRELX] = "R_X86_64_REX_GOTPCRELX",
    };
    static _Thread_local char buf[32];
    if (type < sizeof(names) / sizeof(names[0]) && names[type])
        return names[type];
    snprintf(buf, sizeof(buf), "R_X86_64_%u", type);
    return buf;
}
