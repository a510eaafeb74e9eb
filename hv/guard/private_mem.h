/*
 * A guarded module's private memory (the ICAC paper's; docs/border-control.md "Private memory"):
 * guest pages a privileged module hands over with HC_GUARD_PRIVATE. From then on they exist only
 * in that module's in views (read/write, never executable): outside its border a read or write of
 * them faults (logged, #GP), and devices may not write them (IOMMU). At the module's deinit or
 * revocation they are zeroed and given back to the guest. Needs the nested-paging border
 * (border = npt): with the wrappers alone both sides run on one view.
 */
#ifndef POSTERN_PRIVATE_MEM_H
#define POSTERN_PRIVATE_MEM_H

#include "guard/border_views.h"

#define PRIVATE_MAX_PAGES    64 /* in all */
#define PRIVATE_MAX_PER_CALL 16

/* HC_GUARD_PRIVATE from v (privileged in `module`, called `name` in the log): pages [gva, gva + n
 * pages), none of them module text (text). Returns an HC_ status; on success every page is
 * private, on failure none changed. */
struct text_protect;
int private_mem_take(struct vcpu *v, int module, const char *name, const struct text_protect *text, u64 gva, u64 n);
/* The module whose private page holds gpa, or -1. */
int private_mem_module(gpa_t gpa);
/* Deinit or revocation: zero the module's pages and give them back. Border control's exit path
 * calls it when its state machine ends a module (the text protection is released beside it). */
void private_mem_release(struct vm *vm, int module);
/* border_views' list (as text_protect.h's protected text). */
extern struct border_text_page private_pages[PRIVATE_MAX_PAGES];
extern u32 nprivate;

#endif
