/*
 * Trapped pages: a page of guest-physical space that holds a guarded sub-page BAR is present in no
 * view, so every access to it exits. The guarded device answers the accesses to its own bytes
 * (guarded_dev_nested_fault); the rest of the page belongs to whatever the firmware put beside the
 * BAR (another device's small BAR, or nothing), and trap_page_forward performs those accesses on
 * what the page mapped before it was trapped (docs/pci.md, "Sub-page BARs").
 *
 * A page may be trapped by several BARs (two guarded 256-byte BARs on one page, or a BAR's real
 * page and the page the guest moved it to): it is counted, and mapped back as it was when the last
 * one lets go.
 */
#ifndef POSTERN_TRAP_PAGE_H
#define POSTERN_TRAP_PAGE_H

#include "lib/types.h"

struct vm;
struct vcpu;

struct trap_page {
    gpa_t gpa; /* page aligned */
    hpa_t hpa; /* what the ordinary view mapped there before, when was_mapped */
    u32 perms; /* and with which permissions */
    bool was_mapped;
    u32 refs; /* 0: a free slot */
};

/* Trap the page holding gpa (unmapped in every view). False when out of slots or table memory. */
bool trap_page_get(struct vm *vm, gpa_t gpa);
/* One trap of that page less; the last one maps it back as it was. */
void trap_page_put(struct vm *vm, gpa_t gpa);
/* The trap record of the page holding gpa, NULL when it is not trapped. */
const struct trap_page *trap_page_find(gpa_t gpa);
/* A nested fault at gpa that no guarded device claimed: when gpa's page is trapped, perform the
 * access on what the page mapped before (another device's registers) or, where nothing was
 * mapped or the access is not allowed, inject #GP as for any unmapped address. True when handled. */
bool trap_page_forward(struct vcpu *v, gpa_t gpa, bool write);
/* Device memory, one access of 1, 2, 4 or 8 bytes (uncached: the hypervisor's own map). */
u64 trap_mmio_read(hpa_t hpa, u8 size);
void trap_mmio_write(hpa_t hpa, u8 size, u64 value);

#endif
