/*
 * The hypercall ABI (docs/hypercalls.md): VMMCALL (SVM) / VMCALL (VT-x), number in RAX, arguments
 * in RBX, RCX, RDX; status back in RAX (0 = success, negative = error), results in RBX.
 * Numbers share the prefix 0x5053 ("PS") so a stray VMMCALL from other software is unlikely to
 * match one.
 */
#ifndef POSTERN_HYPERCALL_H
#define POSTERN_HYPERCALL_H

#define HC_PREFIX          0x50530000u
#define HC_VERSION         0x50530000u /* RBX = ABI version */
#define HC_TEST_CANARY     0x50530001u /* RBX = host-physical address of the canary page (tests) */
#define HC_TEST_PRIVILEGED 0x50530010u /* RBX = 1 if this vCPU holds the `test` privilege now, else 0 */
#define HC_STATS_MARK      0x50530011u /* RBX = label (0..65535): log crossing counts so far (make bench) */
#define HC_STATS_EXITS     0x50530012u /* RBX = HLT exits, RCX = MWAIT exits, RDX = all exits so far */
#define HC_TEST_UNMAP_ONCE                                                                                             \
    0x50530013u /* RBX, RCX = guest-RAM pages (RCX 0: none) out of the nested map until touched (tests) */

/* RBX = host-physical address (8-aligned) in a firmware range the guest has mapped at its own
 * address (ACPI, NVS, reserved): RBX = the 8 bytes there as the hypervisor reads them (tests: that
 * guest-physical and host-physical addresses are the same, docs/guest-boot.md). */
#define HC_TEST_FIRMWARE_PEEK 0x50530014u

/* Guarded modules (docs/border-control.md): only from CPL 0, only from a site listed in the
 * module's metadata. The wrappers christoize generates preserve every register around them. */
#define HC_GUARD_INIT      0x50530100u /* RBX = GVA of the claimed SHA-256 of the module's text */
#define HC_GUARD_DEINIT    0x50530101u
#define HC_BORDER_IN_CALL  0x50530102u /* entry wrapper: raise */
#define HC_BORDER_OUT_RET  0x50530103u /* entry wrapper: lower, restore the kernel's return address */
#define HC_BORDER_OUT_CALL 0x50530104u /* exit wrapper: lower, record the module's return address */
#define HC_BORDER_IN_RET   0x50530105u /* exit wrapper: check the frame, raise, restore that address */
/* From a privileged module's own code: RBX = GVA (page-aligned), RCX = pages (1..16) become the
 * module's private memory (hv/guard/private_mem.h); RBX = pages on success. Needs border = npt. */
#define HC_GUARD_PRIVATE 0x50530106u

#define HC_ABI_VERSION 1

#define HC_OK     0
#define HC_ENOSYS (-1) /* unknown number */
#define HC_EPERM  (-2) /* not allowed from this privilege level or site */
#define HC_EINVAL (-3) /* a bad argument */

#define HV_CANARY_STRING "POSTERN-HV-CANARY"

#endif
