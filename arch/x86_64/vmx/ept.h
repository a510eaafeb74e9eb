/* Intel EPT: the entry format for the shared nested-paging builder (hv/core/npt.c) and the EPT pointer
 * (SDM Vol. 3C §29.3.2, Tables 29-1..29-6; §25.6.11 for the EPTP). */
#ifndef POSTERN_VMX_EPT_H
#define POSTERN_VMX_EPT_H

#include "core/npt.h"

#define EPT_READ          BIT(0)
#define EPT_WRITE         BIT(1)
#define EPT_EXEC          BIT(2)
#define EPT_MEMTYPE_SHIFT 3 /* bits 5:3 of a leaf: the EPT memory type */
#define EPT_MEMTYPE_UC    0
#define EPT_MEMTYPE_WB    6
#define EPT_IGNORE_PAT    BIT(6)
#define EPT_LARGE         BIT(7) /* a 2 MiB / 1 GiB leaf at level 2 / 3 */
#define EPT_ADDR_MASK     0x000ffffffffff000ull

/* The EPTP: write-back structures, a 4-level walk (length - 1 in bits 5:3), no accessed/dirty. */
#define EPTP_MEMTYPE_WB 6
#define EPTP_WALK_4     (3u << 3)
static inline u64 ept_pointer(hpa_t root) { return (root & EPT_ADDR_MASK) | EPTP_WALK_4 | EPTP_MEMTYPE_WB; }

extern const struct npt_format npt_format_ept_1g; /* 1 GiB and 2 MiB leaves where aligned */
extern const struct npt_format npt_format_ept;    /* 2 MiB leaves where aligned */
extern const struct npt_format npt_format_ept_4k; /* for CPUs without 2 MiB EPT pages */

#endif
