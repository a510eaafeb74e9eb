/* christoize/elfedit.h — in-place edits of a relocatable x86-64 ELF object with libelf, for the build
 * stage: append global symbols (new UNDEF references, or aliases of existing functions) and
 * retarget relocation entries (symbol + addend). Section and symbol indices of the original file
 * do not change (symbols are only appended, after the last global), so indices taken from a
 * co_open() of an identical copy stay valid. */
#ifndef CHRISTOIZE_ELFEDIT_H
#define CHRISTOIZE_ELFEDIT_H

#include <stddef.h>
#include <stdint.h>

struct ee_file;

/* Opens 'path' read-write. NULL with a message in err on failure. */
struct ee_file *ee_open(const char *path, char *err, size_t errlen);
/* Appends a global symbol; returns its index, or 0 (out of memory / no symbol table). Calling it
 * twice with the same name returns the first index. type: STT_FUNC/STT_NOTYPE; shndx SHN_UNDEF for
 * a reference. */
/* Give a symbol added with ee_add_global weak binding (a weak reference stays weak). */
int ee_make_weak(struct ee_file *f, uint32_t sym);
uint32_t ee_add_global(struct ee_file *f, const char *name, unsigned type, uint16_t shndx, uint64_t value,
                       uint64_t size);
/* Sets relocation 'idx' of the SHT_RELA section 'relsec' to (sym, addend), keeping its type. */
int ee_set_reloc(struct ee_file *f, size_t relsec, size_t idx, uint32_t sym, int64_t addend, char *err, size_t errlen);
/* Writes the file and closes it (also on error). */
int ee_close(struct ee_file *f, char *err, size_t errlen);

#endif
