/*
 * Text protection (docs/border-control.md "Registration"): a guarded module's text pages,
 * write-protected in the nested page tables and the IOMMU from registration until its deinit or
 * revocation, and hashed as they sit in guest memory once protected. border_views reads the page
 * list at each rebuild of its views.
 */
#ifndef POSTERN_TEXT_PROTECT_H
#define POSTERN_TEXT_PROTECT_H

#include "guard/border_views.h"
#include "guard/gmeta.h"
#include "crypto/sha256.h"

#define TEXT_PROTECT_MAX_PAGES 8192 /* 32 MiB of module text */

struct text_protect {
    struct border_text_page page[TEXT_PROTECT_MAX_PAGES];
    u32 n;
    u8 buf[PAGE_SIZE]; /* a page of text being hashed */
};

/* The module whose write-protected text page holds gpa, or -1. */
int text_protect_owner(const struct text_protect *t, gpa_t gpa);
/* Write-protect module's text [base, base+len) (guest-virtual, v's page tables) and hash it as it
 * now sits in guest memory, the holes of its metadata m zeroed. Protection comes first, so what is
 * hashed is what stays. False (nothing of it left protected) when the text is not guest RAM, or
 * out of pages or tables. */
bool text_protect_and_hash(struct text_protect *t, struct vcpu *v, const struct gmeta *m, int module, u64 base, u64 len,
                           u8 digest[SHA256_LEN]);
/* Give the guest (and devices) back write access to the module's text. */
void text_unprotect(struct text_protect *t, struct vcpu *v, int module);
/* Does every jump-label site of the text at base hold a NOP or a jump inside the module? */
bool text_jump_labels_ok(struct vcpu *v, const struct gmeta *m, u64 base, u64 len);

#endif
