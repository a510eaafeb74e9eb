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
/* 0x50530100-0x505301ff: guarded-module registration and border crossings (docs/hypercalls.md). */

#define HC_ABI_VERSION 1

#define HC_OK       0
#define HC_ENOSYS   (-1) /* unknown number */
#define HC_EPERM    (-2) /* not allowed from this privilege level or site */
#define HC_EINVAL   (-3) /* a bad argument */

#define HV_CANARY_STRING "POSTERN-HV-CANARY"

#endif
