/*
 * AMD-Vi back end (AMD I/O Virtualization Technology (IOMMU) Specification, 48882 rev 3.x).
 *
 * One device table for all 65536 DeviceIDs, every entry valid and translating through the one DMA
 * page table (guest RAM only); a command buffer for invalidations; an event log read by
 * amd_vi_poll_events. Register access goes through struct iommu_regs so the host tests can drive
 * the whole sequence against a model.
 */
#ifndef POSTERN_AMD_VI_H
#define POSTERN_AMD_VI_H

#include "lib/types.h"
#include "core/npt.h"
#include "iommu_regs.h"

#define AMD_VI_DEVICE_IDS  65536
#define AMD_VI_DTE_SIZE    32
#define AMD_VI_DEVTAB_SIZE (AMD_VI_DEVICE_IDS * AMD_VI_DTE_SIZE) /* 2 MiB */
#define AMD_VI_DOMAIN      1 /* the one protection domain; 0 is left unused, as Linux does */
#define AMD_VI_LEVELS      4 /* 48-bit DMA addresses */

/* MMIO registers (§3.4). */
#define AMD_VI_DEVTAB_BASE 0x0000
#define AMD_VI_CMDBUF_BASE 0x0008
#define AMD_VI_EVTLOG_BASE 0x0010
#define AMD_VI_CONTROL     0x0018
#define AMD_VI_EXCL_BASE   0x0020
#define AMD_VI_EXCL_LIMIT  0x0028
#define AMD_VI_EXT_FEATURE 0x0030
#define AMD_VI_CMD_HEAD    0x2000
#define AMD_VI_CMD_TAIL    0x2008
#define AMD_VI_EVT_HEAD    0x2010
#define AMD_VI_EVT_TAIL    0x2018
#define AMD_VI_STATUS      0x2020

/* Control register bits. */
#define AMD_VI_CTRL_IOMMU_EN    BIT(0)
#define AMD_VI_CTRL_HT_TUN_EN   BIT(1)
#define AMD_VI_CTRL_EVT_LOG_EN  BIT(2)
#define AMD_VI_CTRL_PASS_PW     BIT(8)
#define AMD_VI_CTRL_RES_PASS_PW BIT(9)
#define AMD_VI_CTRL_COHERENT    BIT(10)
#define AMD_VI_CTRL_ISOC        BIT(11)
#define AMD_VI_CTRL_CMD_BUF_EN  BIT(12)

/* Status register bits. */
#define AMD_VI_STATUS_EVT_OVERFLOW BIT(0)
#define AMD_VI_STATUS_EVT_RUN      BIT(3)
#define AMD_VI_STATUS_CMD_RUN      BIT(4)

#define AMD_VI_EFR_IA_SUP BIT(6) /* INVALIDATE_IOMMU_ALL */

/* Command and event rings: 4 KiB each, 256 entries of 16 bytes (length field 8 = 2^8 entries). */
#define AMD_VI_RING_BYTES    4096
#define AMD_VI_RING_LEN_LOG  8
#define AMD_VI_ENTRY_BYTES   16
#define AMD_VI_RING_PTR_MASK 0x7fff0ull /* head/tail: byte offset, bits 18:4 */

/* Command opcodes (§2.4). */
#define AMD_VI_CMD_COMPLETION_WAIT   0x1
#define AMD_VI_CMD_INVALIDATE_DEVTAB 0x2
#define AMD_VI_CMD_INVALIDATE_PAGES  0x3
#define AMD_VI_CMD_INVALIDATE_ALL    0x8

/* Event codes (§2.5). */
#define AMD_VI_EVT_ILLEGAL_DEV_TABLE_ENTRY 0x1
#define AMD_VI_EVT_IO_PAGE_FAULT           0x2

/* The DMA page-table format (§2.2.3): PR bit 0, NextLevel bits 11:9 (0 in a leaf), address bits
 * 51:12, IR bit 61, IW bit 62. 2 MiB leaves are PTEs with NextLevel 0 in a level-2 table. */
extern const struct npt_format amd_vi_pt_format;

/* One device table entry (§2.2.2.1): V=1, TV=1, Mode = levels, the page-table root, IR=IW=1,
 * DomainID; IV=0 so interrupts pass untranslated (interrupt remapping is off, docs/iommu.md). */
void amd_vi_dte(u8 dte[AMD_VI_DTE_SIZE], hpa_t root, int levels, u16 domain);

/* The device table: AMD_VI_DEVICE_IDS entries all equal to amd_vi_dte(root, levels, domain). */
hpa_t amd_vi_build_devtab(hpa_t root, int levels, u16 domain, iommu_alloc_fn alloc);

struct amd_vi {
    struct iommu_regs regs;
    u16 devid;         /* for messages */
    u8 ivhd_flags;     /* IVHD_FLAG_*: mirrored into the control register */
    u16 domains;       /* DomainIDs 1..domains are in use (0 is taken as 1) */
    u64 efr;           /* Extended Feature Register, read at enable */
    u8 *cmd;           /* command ring */
    u32 cmd_tail;      /* next free slot (byte offset) */
    u32 cmd_head;      /* last head read from the hardware */
    u8 *evt;           /* event log */
    volatile u64 *sem; /* COMPLETION_WAIT stores here */
    u64 sem_seq;
    u64 events; /* events reported */
};

/* Program one unit: device table, command buffer, event log, control (translation on), then
 * invalidate every cached device table entry and translation and wait for completion.
 * Returns 0, or -1 with a reason (the unit is then disabled again). */
int amd_vi_enable(struct amd_vi *u, hpa_t devtab, iommu_alloc_fn alloc, char *err, size_t errsz);
/* Log every event since the last call ("iommu: blocked DMA ..." for I/O page faults, "iommu: event
 * type N ..." for the rest), advance the head, restart the log after an overflow. Returns the
 * number of events logged. */
u32 amd_vi_poll_events(struct amd_vi *u);
/* The DMA page tables changed: drop every cached translation (and wait until done). */
bool amd_vi_invalidate(struct amd_vi *u);
/* One event record as a log line (without the "postern: " prefix). */
void amd_vi_event_str(const u8 ev[AMD_VI_ENTRY_BYTES], char *buf, size_t n);

#endif
