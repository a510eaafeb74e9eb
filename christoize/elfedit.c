/* christoize/elfedit.c — see elfedit.h. */
#include "elfedit.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct newsym {
    char *name;
    GElf_Sym s;
};

struct ee_file {
    char *path;
    int fd;
    Elf *elf;
    size_t symtab, strtab;
    size_t nsym_orig;
    struct newsym *add;
    size_t nadd, capadd;
    int dirty;
};

struct ee_file *ee_open(const char *path, char *err, size_t errlen)
{
    if (elf_version(EV_CURRENT) == EV_NONE) {
        snprintf(err, errlen, "libelf initialisation failed");
        return NULL;
    }
    struct ee_file *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(path))) {
        free(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->fd = open(path, O_RDWR);
    if (f->fd < 0) {
        snprintf(err, errlen, "%s: cannot open for writing: %s", path, strerror(errno));
        goto fail;
    }
    f->elf = elf_begin(f->fd, ELF_C_RDWR, NULL);
    if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
        snprintf(err, errlen, "%s: not an ELF file: %s", path, elf_errmsg(-1));
        goto fail;
    }
    size_t nsec;
    if (elf_getshdrnum(f->elf, &nsec)) {
        snprintf(err, errlen, "%s: unreadable section headers", path);
        goto fail;
    }
    for (size_t i = 1; i < nsec; i++) {
        GElf_Shdr sh;
        Elf_Scn *scn = elf_getscn(f->elf, i);
        if (!scn || !gelf_getshdr(scn, &sh))
            continue;
        if (sh.sh_type == SHT_SYMTAB) {
            f->symtab = i;
            f->strtab = sh.sh_link;
            f->nsym_orig = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        } else if (sh.sh_type == SHT_SYMTAB_SHNDX) {
            snprintf(err, errlen, "%s: has SHT_SYMTAB_SHNDX (more than 65280 sections): not supported", path);
            goto fail;
        }
    }
    if (!f->symtab) {
        snprintf(err, errlen, "%s: no symbol table", path);
        goto fail;
    }
    return f;
fail:
    if (f->elf)
        elf_end(f->elf);
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
    return NULL;
}

uint32_t ee_add_global(struct ee_file *f, const char *name, unsigned type, uint16_t shndx, uint64_t value,
                       uint64_t size)
{
    for (size_t i = 0; i < f->nadd; i++)
        if (!strcmp(f->add[i].name, name))
            return (uint32_t)(f->nsym_orig + i);
    if (f->nadd == f->capadd) {
        size_t cap = f->capadd ? f->capadd * 2 : 16;
        struct newsym *n = realloc(f->add, cap * sizeof(*n));
        if (!n)
            return 0;
        f->add = n;
        f->capadd = cap;
    }
    struct newsym *n = &f->add[f->nadd];
    memset(n, 0, sizeof(*n));
    if (!(n->name = strdup(name)))
        return 0;
    n->s.st_info = GELF_ST_INFO(STB_GLOBAL, type);
    n->s.st_other = STV_DEFAULT;
    n->s.st_shndx = shndx;
    n->s.st_value = value;
    n->s.st_size = size;
    f->nadd++;
    f->dirty = 1;
    return (uint32_t)(f->nsym_orig + f->nadd - 1);
}

int ee_set_reloc(struct ee_file *f, size_t relsec, size_t idx, uint32_t sym, int64_t addend, char *err, size_t errlen)
{
    Elf_Scn *scn = elf_getscn(f->elf, relsec);
    Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
    GElf_Rela ra;
    if (!d || !gelf_getrela(d, (int)idx, &ra)) {
        snprintf(err, errlen, "%s: relocation %zu of section %zu unreadable", f->path, idx, relsec);
        return -1;
    }
    ra.r_info = GELF_R_INFO(sym, GELF_R_TYPE(ra.r_info));
    ra.r_addend = addend;
    if (!gelf_update_rela(d, (int)idx, &ra)) {
        snprintf(err, errlen, "%s: cannot update relocation: %s", f->path, elf_errmsg(-1));
        return -1;
    }
    elf_flagdata(d, ELF_C_SET, ELF_F_DIRTY);
    f->dirty = 1;
    return 0;
}

/* Appends the new names to .strtab and the new symbols to .symtab. The buffers must live until
 * elf_end(), so they are returned for freeing afterwards. */
static int append_symbols(struct ee_file *f, void **keep1, void **keep2, char *err, size_t errlen)
{
    Elf_Scn *sscn = elf_getscn(f->elf, f->strtab), *yscn = elf_getscn(f->elf, f->symtab);
    Elf_Data *sd = sscn ? elf_getdata(sscn, NULL) : NULL, *yd = yscn ? elf_getdata(yscn, NULL) : NULL;
    if (!sd || !yd) {
        snprintf(err, errlen, "%s: symbol or string table unreadable", f->path);
        return -1;
    }
    size_t addstr = 0;
    for (size_t i = 0; i < f->nadd; i++)
        addstr += strlen(f->add[i].name) + 1;
    char *str = malloc(sd->d_size + addstr);
    Elf64_Sym *sym = malloc(yd->d_size + f->nadd * sizeof(Elf64_Sym));
    if (!str || !sym) {
        free(str);
        free(sym);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(str, sd->d_buf, sd->d_size);
    memcpy(sym, yd->d_buf, yd->d_size);
    size_t off = sd->d_size, n = yd->d_size / sizeof(Elf64_Sym);
    for (size_t i = 0; i < f->nadd; i++) {
        Elf64_Sym *y = &sym[n + i];
        y->st_name = (Elf64_Word)off;
        y->st_info = f->add[i].s.st_info;
        y->st_other = f->add[i].s.st_other;
        y->st_shndx = f->add[i].s.st_shndx;
        y->st_value = f->add[i].s.st_value;
        y->st_size = f->add[i].s.st_size;
        size_t l = strlen(f->add[i].name) + 1;
        memcpy(str + off, f->add[i].name, l);
        off += l;
    }
    sd->d_buf = str;
    sd->d_size = off;
    yd->d_buf = sym;
    yd->d_size = (n + f->nadd) * sizeof(Elf64_Sym);
    elf_flagdata(sd, ELF_C_SET, ELF_F_DIRTY);
    elf_flagdata(yd, ELF_C_SET, ELF_F_DIRTY);
    *keep1 = str;
    *keep2 = sym;
    return 0;
}

int ee_close(struct ee_file *f, char *err, size_t errlen)
{
    int rc = 0;
    void *k1 = NULL, *k2 = NULL;
    if (f->dirty) {
        if (f->nadd && append_symbols(f, &k1, &k2, err, errlen))
            rc = -1;
        if (!rc && elf_update(f->elf, ELF_C_WRITE) < 0) {
            snprintf(err, errlen, "%s: writing failed: %s", f->path, elf_errmsg(-1));
            rc = -1;
        }
    }
    elf_end(f->elf);
    close(f->fd);
    free(k1);
    free(k2);
    for (size_t i = 0; i < f->nadd; i++)
        free(f->add[i].name);
    free(f->add);
    free(f->path);
    free(f);
    return rc;
}

int ee_make_weak(struct ee_file *f, uint32_t sym)
{
    if (sym < f->nsym_orig || sym - f->nsym_orig >= f->nadd)
        return -1;
    struct newsym *n = &f->add[sym - f->nsym_orig];
    n->s.st_info = GELF_ST_INFO(STB_WEAK, GELF_ST_TYPE(n->s.st_info));
    f->dirty = 1;
    return 0;
}
