/* hv/guard/wrapper_layout.h — reading christoize's wrapper code (christoize/stubs.c; docs/christoize.md
 * "Wrapper layouts"). With the nested-paging border the hypervisor starts or finishes a wrapper on
 * the guest's behalf (hv/guard/border.c); it acts only when the bytes are the layout it knows, and
 * leaves anything else to the wrapper's own hypercalls. Pure functions over bytes already read
 * from the guest (write-protected, verified text; checked anyway). `site` is the guest address of
 * the wrapper's vmmcall, b[0] its first byte. */
#ifndef POSTERN_WRAPPER_LAYOUT_H
#define POSTERN_WRAPPER_LAYOUT_H

#include "lib/types.h"

/* Bytes after the vmmcall a decoder needs to see. */
#define WL_ENTRY_TAIL_LEN 21 /* vmmcall (3) lea (7) mov (5) pop (1) jmp rel32 (5) */
#define WL_EXIT_TAIL_LEN  22 /* vmmcall (3) lea (7) mov (5) pop (1) jmp *rip-relative (6) */

/* Is b (at least plen + 8 bytes) `prefix`, then `mov $nr,%eax; vmmcall`? */
bool wl_hypercall_after(const u8 *b, const u8 *prefix, u32 plen, u32 nr);

/* An entry wrapper after its border-in call: `vmmcall; lea .Lcont(%rip),%rax; mov %rax,8(%rsp);
 * pop %rax; jmp F` (rel32, or rel8 when the assembler shortened it). *target = F. len: bytes
 * available in b (WL_ENTRY_TAIL_LEN, or 18 for the rel8 form). */
bool wl_entry_tail(const u8 *b, u32 len, u64 site, u64 *target);

/* An exit wrapper after its border-out call: `vmmcall; lea .Lcont(%rip),%rax; mov %rax,8(%rsp);
 * pop %rax; jmp *.Lslot(%rip)`. *cont = .Lcont, *slot = .Lslot's address (it holds the kernel
 * function). b: WL_EXIT_TAIL_LEN bytes. */
bool wl_exit_tail(const u8 *b, u64 site, u64 *cont, u64 *slot);

#endif
