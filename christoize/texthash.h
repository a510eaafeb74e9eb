/* christoize/texthash.h — the hashed text of a christoized .ko and its holes.
 *
 * The hashed region is the final module's single executable `.text` section, as the module loader
 * leaves it in guest memory. Relocations inside it that are PC-relative to a symbol in the same
 * `.text` are deterministic and applied here (S + A - P); every other relocation field is a hole,
 * and so is every byte the kernel patches through .smp_locks, .altinstructions and
 * .parainstructions, and every jump-label (static key) instruction listed in __jump_table (a
 * JUMP_LABEL hole of the instruction's length, 2 or 5). Holes are zeroed before hashing, by christoize and by the hypervisor alike.
 * docs/christoize.md, "Hash and holes". */
#ifndef CHRISTOIZE_TEXTHASH_H
#define CHRISTOIZE_TEXTHASH_H

#include <stddef.h>
#include <stdint.h>

#include "elfobj.h"
#include "../hv/guard/gmeta.h"

struct th_result {
    size_t text_shndx;
    uint32_t text_len;
    uint8_t *image;           /* text_len bytes: relocated where deterministic, holes zeroed */
    struct gmeta_hole *holes; /* sorted, disjoint, gmeta-valid */
    size_t nholes;
    size_t applied;     /* same-section PC-relative relocations applied */
    size_t jump_labels; /* __jump_table sites, each a JUMP_LABEL hole */
    uint8_t sha256[32];
};

/* Computes the above for the section 'text' of 'o' (a linked .ko). Refuses (-1, message naming the
 * site) relocation types it cannot classify, a table entry that points outside .text (a jump-label
 * site or target included), a jump-label site that is not a jmp or NOP, and any run-time-patched
 * table other than __jump_table (.static_call_sites, __mcount_loc, ...). */
int th_compute(const struct co_object *o, const char *text, struct th_result *r, char *err, size_t errlen);
void th_free(struct th_result *r);

/* -1 with a message naming the table and its first sites when 'o' has a run-time-patched table
 * christoize cannot hole (.static_call_sites) or one the guarded build flags should have removed
 * (__mcount_loc, .retpoline_sites, .return_sites, ...); else 0. */
int th_refused_tables(const struct co_object *o, char *err, size_t errlen);

#endif
