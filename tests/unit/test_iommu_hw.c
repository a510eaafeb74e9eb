/* UNIT-SOURCES: drivers/iommu/amd_vi.c drivers/iommu/vtd.c hv/core/npt.c hv/lib/fmt.c */
/*
 * The IOMMU back ends against models of the register blocks: the bring-up sequences (what is
 * written, in which order, at which width), the invalidation paths, and the fault readers turning
 * event-log entries and fault-recording registers into "iommu: blocked DMA ..." lines.
 *
 * The models follow the manuals and, where QEMU 7.2 is stricter, QEMU: its VT-d model asserts on
 * 64-bit accesses to GCMD, FSTS, FECTL and the upper dword of a fault record, so the model fails
 * the test on those too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/bytes.h"
#include "drivers/iommu/amd_vi.h"
#include "drivers/iommu/ivrs.h"
#include "drivers/iommu/vtd.h"
#include "lib/log.h"

static char logbuf[16384];
static size_t loglen;

void log_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    loglen += fmt_vsnprintf(logbuf + loglen, sizeof(logbuf) - loglen, fmt, ap);
    va_end(ap);
    if (loglen < sizeof(logbuf) - 1)
        logbuf[loglen++] = '\n';
    if (loglen >= sizeof(logbuf))
        loglen = sizeof(logbuf) - 1;
}

static void *pages[64];
static int npages;

static hpa_t alloc(u64 n)
{
    void *p = aligned_alloc(4096, n * 4096);
    memset(p, 0, n * 4096);
    pages[npages++] = p;
    return (hpa_t)(uintptr_t)p;
}

static int reset(void **state)
{
    while (npages)
        free(pages[--npages]);
    loglen = 0;
    logbuf[0] = 0;
    return 0;
}

/* ---------------------------------------------------------------- AMD-Vi model */
struct amd_model {
    u8 r[0x4000];
    bool dead; /* never runs commands (a hung unit) */
    u32 head;
    u32 inval_all, inval_dte, inval_pages, waits;
    u32 dte_seen[2]; /* first and last DeviceID invalidated */
    u64 ctrl_writes[8];
    u32 nctrl;
};

static u64 amd_rd64(void *ctx, u32 off) { return rd64(((struct amd_model *)ctx)->r, off); }
static u32 amd_rd32(void *ctx, u32 off) { return rd32(((struct amd_model *)ctx)->r, off); }
static void amd_wr32(void *ctx, u32 off, u32 v)
{
    fail_msg("AMD-Vi registers are written 64 bits at a time (0x%x)", off);
}

static void amd_run(struct amd_model *m)
{
    u64 ctrl = rd64(m->r, AMD_VI_CONTROL);
    u8 *ring = (u8 *)(uintptr_t)(rd64(m->r, AMD_VI_CMDBUF_BASE) & 0x000ffffffffff000ull);
    u32 tail = (u32)rd64(m->r, AMD_VI_CMD_TAIL);

    if (m->dead || !(ctrl & AMD_VI_CTRL_IOMMU_EN) || !(ctrl & AMD_VI_CTRL_CMD_BUF_EN))
        return;
    while (m->head != tail) {
        u64 lo = rd64(ring, m->head), hi = rd64(ring, m->head + 8);
        switch (lo >> 60) {
        case AMD_VI_CMD_COMPLETION_WAIT:
            assert_true(lo & 1);
            *(u64 *)(uintptr_t)(lo & 0x000ffffffffffff8ull) = hi;
            m->waits++;
            break;
        case AMD_VI_CMD_INVALIDATE_ALL:
            m->inval_all++;
            break;
        case AMD_VI_CMD_INVALIDATE_DEVTAB:
            if (!m->inval_dte)
                m->dte_seen[0] = (u32)(lo & 0xffff);
            m->dte_seen[1] = (u32)(lo & 0xffff);
            m->inval_dte++;
            assert_int_equal(lo >> 16 & 0xfffffffffffull, 0);
            break;
        case AMD_VI_CMD_INVALIDATE_PAGES:
            assert_int_equal((lo >> 32) & 0xffff, AMD_VI_DOMAIN);
            assert_int_equal(hi, 0x7ffffffffffff000ull | 3);
            m->inval_pages++;
            break;
        default:
            fail_msg("unexpected command 0x%llx", (unsigned long long)lo);
        }
        m->head = (m->head + 16) % 4096;
        wr64(m->r, AMD_VI_CMD_HEAD, m->head);
    }
}

static void amd_wr64(void *ctx, u32 off, u64 v)
{
    struct amd_model *m = ctx;
    if (off == AMD_VI_STATUS) { /* RW1C */
        wr64(m->r, off, rd64(m->r, off) & ~v);
        return;
    }
    wr64(m->r, off, v);
    if (off == AMD_VI_CONTROL) {
        u64 st = rd64(m->r, AMD_VI_STATUS) & ~(AMD_VI_STATUS_CMD_RUN | AMD_VI_STATUS_EVT_RUN);
        if ((v & AMD_VI_CTRL_IOMMU_EN) && (v & AMD_VI_CTRL_CMD_BUF_EN))
            st |= AMD_VI_STATUS_CMD_RUN;
        if ((v & AMD_VI_CTRL_IOMMU_EN) && (v & AMD_VI_CTRL_EVT_LOG_EN))
            st |= AMD_VI_STATUS_EVT_RUN;
        wr64(m->r, AMD_VI_STATUS, st);
        if (m->nctrl < 8)
            m->ctrl_writes[m->nctrl++] = v;
    }
    if (off == AMD_VI_CMDBUF_BASE || off == AMD_VI_CMD_HEAD)
        m->head = (u32)rd64(m->r, AMD_VI_CMD_HEAD);
    if (off == AMD_VI_CONTROL || off == AMD_VI_CMD_TAIL)
        amd_run(m);
}

static struct amd_vi amd_unit(struct amd_model *m, u64 efr, u8 flags)
{
    memset(m, 0, sizeof(*m));
    wr64(m->r, AMD_VI_EXT_FEATURE, efr);
    return (struct amd_vi){
        .regs = { .rd32 = amd_rd32, .rd64 = amd_rd64, .wr32 = amd_wr32, .wr64 = amd_wr64, .ctx = m },
        .devid = 0x0010,
        .ivhd_flags = flags,
    };
}

static void amd_vi_enable_with_invalidate_all(void **state)
{
    static struct amd_model m;
    struct amd_vi u = amd_unit(&m, AMD_VI_EFR_IA_SUP, 0xd1); /* QEMU 7.2: IA supported, flags 0xd1 */
    char err[200] = "";
    hpa_t devtab = alloc(1); /* only its address matters here */

    assert_int_equal(amd_vi_enable(&u, devtab, alloc, err, sizeof(err)), 0);
    assert_int_equal(rd64(m.r, AMD_VI_DEVTAB_BASE), devtab | 0x1ff); /* 2 MiB: 512 pages */
    u64 cmd = rd64(m.r, AMD_VI_CMDBUF_BASE), evt = rd64(m.r, AMD_VI_EVTLOG_BASE);
    assert_int_equal(cmd >> 56, 8); /* 256 entries */
    assert_int_equal(evt >> 56, 8);
    assert_int_equal(cmd & 0xfff, 0);
    assert_int_equal(rd64(m.r, AMD_VI_EXCL_BASE), 0); /* no exclusion range */
    /* First the firmware's state is cleared, then logs and command buffer, then translation. */
    assert_int_equal(m.ctrl_writes[0], 0);
    u64 want = AMD_VI_CTRL_HT_TUN_EN | AMD_VI_CTRL_COHERENT | AMD_VI_CTRL_EVT_LOG_EN | AMD_VI_CTRL_CMD_BUF_EN;
    assert_int_equal(m.ctrl_writes[1], want);
    assert_int_equal(m.ctrl_writes[2], want | AMD_VI_CTRL_IOMMU_EN);
    assert_int_equal(m.nctrl, 3);
    assert_int_equal(m.inval_all, 1);
    assert_int_equal(m.inval_dte, 0);
    assert_int_equal(m.waits, 1);
    assert_int_equal(*u.sem, 1);
    assert_non_null(strstr(logbuf, "iommu: AMD-Vi 00:02.0 on"));
}

/* Without INVALIDATE_IOMMU_ALL: one INVALIDATE_DEVTAB_ENTRY per DeviceID (the 256-entry ring
 * wraps 256 times) and one INVALIDATE_IOMMU_PAGES for the domain, then the wait. */
static void amd_vi_enable_without_invalidate_all(void **state)
{
    static struct amd_model m;
    struct amd_vi u = amd_unit(&m, 0, IVHD_FLAG_PASS_PW | IVHD_FLAG_ISOC);
    char err[200] = "";

    assert_int_equal(amd_vi_enable(&u, alloc(1), alloc, err, sizeof(err)), 0);
    assert_int_equal(m.inval_all, 0);
    assert_int_equal(m.inval_dte, 65536);
    assert_int_equal(m.dte_seen[0], 0);
    assert_int_equal(m.dte_seen[1], 0xffff);
    assert_int_equal(m.inval_pages, 1);
    assert_int_equal(m.waits, 1);
    assert_int_equal(m.ctrl_writes[1] & (AMD_VI_CTRL_PASS_PW | AMD_VI_CTRL_ISOC | AMD_VI_CTRL_HT_TUN_EN),
                     AMD_VI_CTRL_PASS_PW | AMD_VI_CTRL_ISOC);
}

static void amd_vi_enable_fails_on_a_hung_unit(void **state)
{
    static struct amd_model m;
    struct amd_vi u = amd_unit(&m, AMD_VI_EFR_IA_SUP, 0);
    char err[200] = "";

    m.dead = true;
    assert_int_equal(amd_vi_enable(&u, alloc(1), alloc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "AMD-Vi 00:02.0: invalidation commands did not complete"));
    assert_int_equal(rd64(m.r, AMD_VI_CONTROL), 0); /* left disabled */
}

static void put_event(u8 *log, u32 slot, u64 lo, u64 addr)
{
    wr64(log, slot * 16, lo);
    wr64(log, slot * 16 + 8, addr);
}

static void amd_vi_events_are_logged(void **state)
{
    static struct amd_model m;
    struct amd_vi u = amd_unit(&m, AMD_VI_EFR_IA_SUP, 0);
    char err[200] = "";

    assert_int_equal(amd_vi_enable(&u, alloc(1), alloc, err, sizeof(err)), 0);
    loglen = 0;
    assert_int_equal(amd_vi_poll_events(&u), 0);

    u8 *log = (u8 *)(uintptr_t)(rd64(m.r, AMD_VI_EVTLOG_BASE) & 0x000ffffffffff000ull);
    /* IO_PAGE_FAULT, write (RW bit 53), by 00:03.0 (DeviceID 0x18), domain 1 */
    put_event(log, 0, (2ull << 60) | BIT(53) | (1ull << 32) | 0x18, 0x3de8b040);
    /* IO_PAGE_FAULT, read, by 01:00.1 */
    put_event(log, 1, (2ull << 60) | (1ull << 32) | 0x101, 0x40000000);
    /* ILLEGAL_COMMAND_ERROR */
    put_event(log, 2, 5ull << 60, 0x1234560);
    wr64(m.r, AMD_VI_EVT_TAIL, 48);
    assert_int_equal(amd_vi_poll_events(&u), 3);
    assert_non_null(strstr(logbuf, "iommu: blocked DMA write by 00:03.0 to guest-physical 0x3de8b040\n"));
    assert_non_null(strstr(logbuf, "iommu: blocked DMA read by 01:00.1 to guest-physical 0x40000000\n"));
    assert_non_null(strstr(logbuf, "iommu: event type 5 (ILLEGAL_COMMAND_ERROR) device 00:00.0 address 0x1234560"));
    assert_int_equal(rd64(m.r, AMD_VI_EVT_HEAD), 48);
    assert_int_equal(amd_vi_poll_events(&u), 0);
    assert_int_equal(u.events, 3);

    /* The ring wraps: an event in the last slot and one in the first. */
    wr64(m.r, AMD_VI_EVT_HEAD, 4096 - 16);
    put_event(log, 255, (2ull << 60) | 0x08, 0x1000);
    put_event(log, 0, (2ull << 60) | 0x10, 0x2000);
    wr64(m.r, AMD_VI_EVT_TAIL, 16);
    loglen = 0;
    assert_int_equal(amd_vi_poll_events(&u), 2);
    assert_non_null(strstr(logbuf, "by 00:01.0 to guest-physical 0x1000"));
    assert_non_null(strstr(logbuf, "by 00:02.0 to guest-physical 0x2000"));
    assert_int_equal(rd64(m.r, AMD_VI_EVT_HEAD), 16);

    /* Overflow: reported, flag cleared, log restarted empty and on. */
    wr64(m.r, AMD_VI_STATUS, rd64(m.r, AMD_VI_STATUS) | AMD_VI_STATUS_EVT_OVERFLOW);
    loglen = 0;
    assert_int_equal(amd_vi_poll_events(&u), 1);
    assert_non_null(strstr(logbuf, "event log overflowed"));
    assert_int_equal(rd64(m.r, AMD_VI_STATUS) & AMD_VI_STATUS_EVT_OVERFLOW, 0);
    assert_int_equal(rd64(m.r, AMD_VI_EVT_HEAD), 0);
    assert_int_equal(rd64(m.r, AMD_VI_EVT_TAIL), 0);
    assert_true(rd64(m.r, AMD_VI_CONTROL) & AMD_VI_CTRL_EVT_LOG_EN);
}

/* ---------------------------------------------------------------- VT-d model */
#define QEMU_CAP  (0x22ull << 24 | 38ull << 16 | 0x2ull << 8 | BIT(34) | BIT(35) | BIT(39) | 2)
#define QEMU_ECAP (0xf0ull << 4 | BIT(1))

struct vtd_model {
    u8 r[0x1000];
    u32 gsts;
    bool dead;
    char seq[256]; /* one letter per completed command: T/t TE on/off, R root pointer, C CCMD, I IOTLB, Q/q QIE, W wait,
                  i IRE off, B write-buffer flush, P protected memory off */
    u32 iq_head;
};

static void seq(struct vtd_model *m, char c)
{
    size_t n = strlen(m->seq);
    if (n < sizeof(m->seq) - 1)
        m->seq[n] = c;
}

static u32 vtd_rd32(void *ctx, u32 off)
{
    struct vtd_model *m = ctx;
    return off == VTD_GSTS ? m->gsts : rd32(m->r, off);
}

static u64 vtd_rd64(void *ctx, u32 off)
{
    if (off == VTD_GSTS || off == VTD_GCMD || off == VTD_FSTS || off == VTD_FECTL)
        fail_msg("64-bit read of 32-bit VT-d register 0x%x", off);
    return rd64(((struct vtd_model *)ctx)->r, off);
}

static void vtd_wr32(void *ctx, u32 off, u32 v)
{
    struct vtd_model *m = ctx;
    u32 fro = VTD_CAP_FRO(rd64(m->r, VTD_CAP));
    if (off == VTD_GCMD) {
        u32 changed = (m->gsts ^ v) & (VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE);
        /* no stale one-shot bits written back: at most the one command of this write */
        assert_true(__builtin_popcount(v & 0x69000000) <= 1);
        if (m->dead)
            return;
        if (v & VTD_GCMD_WBF) {
            assert_true(VTD_CAP_RWBF(rd64(m->r, VTD_CAP))); /* only units that ask for it */
            seq(m, 'B');                                    /* done at once: WBFS stays clear */
        }
        if (changed & VTD_GCMD_IRE) {
            assert_false(v & VTD_GCMD_IRE); /* we only ever turn it off */
            m->gsts &= ~VTD_GSTS_IRES;
            seq(m, 'i');
        }
        if ((changed & VTD_GCMD_QIE) && (m->gsts & VTD_GSTS_IRES))
            fail_msg("queued invalidation turned off while interrupt remapping is on");
        if (changed & VTD_GCMD_TE) {
            m->gsts ^= VTD_GSTS_TES;
            seq(m, (v & VTD_GCMD_TE) ? 'T' : 't');
        }
        if (changed & VTD_GCMD_QIE) {
            m->gsts ^= VTD_GSTS_QIES;
            m->iq_head = 0;
            seq(m, (v & VTD_GCMD_QIE) ? 'Q' : 'q');
        }
        if (v & VTD_GCMD_SRTP) {
            m->gsts |= VTD_GSTS_RTPS;
            seq(m, 'R');
        }
    } else if (off == VTD_FSTS) {
        wr32(m->r, off, rd32(m->r, off) & ~(v & (VTD_FSTS_PFO | VTD_FSTS_IQE)));
    } else if (off >= fro && (off - fro) % 16 == 12) {
        u32 hi = rd32(m->r, off) & ~(v & BIT(31)); /* F is RW1C */
        wr32(m->r, off, hi);
        if (!(hi & BIT(31)))
            wr32(m->r, VTD_FSTS, rd32(m->r, VTD_FSTS) & ~VTD_FSTS_PPF);
    } else if (off == VTD_FECTL) {
        wr32(m->r, off, v);
    } else if (off == VTD_PMEN) {
        wr32(m->r, off, (v & VTD_PMEN_EPM) | ((v & VTD_PMEN_EPM) ? VTD_PMEN_PRS : 0));
        if (!(v & VTD_PMEN_EPM))
            seq(m, 'P');
    } else {
        fail_msg("unexpected 32-bit write to 0x%x", off);
    }
}

static void vtd_run_queue(struct vtd_model *m)
{
    u8 *q = (u8 *)(uintptr_t)(rd64(m->r, VTD_IQA) & ~0xfffull);
    u32 tail = (u32)rd64(m->r, VTD_IQT);
    assert_true(m->gsts & VTD_GSTS_QIES);
    while (m->iq_head != tail) {
        u64 lo = rd64(q, m->iq_head), hi = rd64(q, m->iq_head + 8);
        switch (lo & 0xf) {
        case 1:
            assert_int_equal(lo & 0x30, 0x10);
            seq(m, 'C');
            break; /* context cache, global */
        case 2:
            assert_int_equal(lo & 0x30, 0x10);
            seq(m, 'I');
            break; /* IOTLB, global */
        case 5:
            assert_true(lo & BIT(5));
            *(u32 *)(uintptr_t)hi = (u32)(lo >> 32);
            seq(m, 'W');
            break;
        default:
            fail_msg("unexpected descriptor 0x%llx", (unsigned long long)lo);
        }
        m->iq_head = (m->iq_head + 16) % 4096;
    }
    wr64(m->r, VTD_IQH, m->iq_head);
}

static void vtd_wr64(void *ctx, u32 off, u64 v)
{
    struct vtd_model *m = ctx;
    u32 iotlb = VTD_ECAP_IRO(rd64(m->r, VTD_ECAP)) + 8;
    if (off == VTD_GCMD || off == VTD_FSTS || off == VTD_FECTL || off == VTD_GSTS)
        fail_msg("64-bit write to 32-bit VT-d register 0x%x (QEMU 7.2 asserts)", off);
    wr64(m->r, off, v);
    if (off == VTD_CCMD && (v & VTD_CCMD_ICC)) {
        assert_false(m->gsts & VTD_GSTS_QIES); /* forbidden while queued invalidation is on */
        assert_int_equal(v & (3ull << 61), VTD_CCMD_GLOBAL);
        wr64(m->r, off, v & ~VTD_CCMD_ICC);
        seq(m, 'C');
    } else if (off == iotlb && (v & VTD_IOTLB_IVT)) {
        assert_false(m->gsts & VTD_GSTS_QIES);
        assert_int_equal(v & (3ull << 60), VTD_IOTLB_GLOBAL);
        wr64(m->r, off, v & ~VTD_IOTLB_IVT);
        seq(m, 'I');
    } else if (off == VTD_IQT) {
        if (m->gsts & VTD_GSTS_QIES)
            vtd_run_queue(m);
    } else if (off != VTD_RTADDR && off != VTD_IQA) {
        fail_msg("unexpected 64-bit write to 0x%x", off);
    }
}

extern u32 vtd_cache_flushes;

static struct vtd vtd_unit(struct vtd_model *m, u64 cap, u64 ecap, u32 gsts)
{
    memset(m, 0, sizeof(*m));
    wr64(m->r, VTD_CAP, cap);
    wr64(m->r, VTD_ECAP, ecap);
    m->gsts = gsts;
    struct vtd u = {
        .regs = { .rd32 = vtd_rd32, .rd64 = vtd_rd64, .wr32 = vtd_wr32, .wr64 = vtd_wr64, .ctx = m },
        .base = 0xfed90000,
    };
    vtd_probe(&u);
    return u;
}

static void vtd_enable_register_based(void **state)
{
    static struct vtd_model m;
    struct vtd u = vtd_unit(&m, QEMU_CAP, QEMU_ECAP, 0);
    char err[200] = "";
    u32 flushes = vtd_cache_flushes;

    assert_int_equal(vtd_levels(u.cap), 3);
    assert_true(VTD_CAP_SLLPS_2M(u.cap));
    assert_int_equal(vtd_enable(&u, 0x7000000, alloc, err, sizeof(err)), 0);
    assert_string_equal(m.seq, "RCIT");                 /* root pointer, context cache, IOTLB, then translation */
    assert_int_equal(rd64(m.r, VTD_RTADDR), 0x7000000); /* TTM = 00b: legacy tables */
    assert_true(m.gsts & VTD_GSTS_TES);
    assert_false(u.queued);
    assert_int_equal(vtd_cache_flushes, flushes + 1); /* QEMU reports ECAP.C = 0 */
    assert_non_null(strstr(logbuf, "register-based invalidation"));
}

/* Firmware left translation and queued invalidation on; the unit does scalable mode too. */
static void vtd_enable_queued_after_firmware(void **state)
{
    static struct vtd_model m;
    struct vtd u = vtd_unit(&m, QEMU_CAP | (0x4ull << 8), QEMU_ECAP | BIT(43) | 1, VTD_GSTS_TES | VTD_GSTS_QIES);
    char err[200] = "";
    u32 flushes = vtd_cache_flushes;

    assert_int_equal(vtd_levels(u.cap), 4);
    assert_int_equal(vtd_enable(&u, 0x7000000, alloc, err, sizeof(err)), 0);
    assert_string_equal(m.seq, "tqRQCIWT");
    assert_true(u.queued);
    assert_int_equal(*u.iq_status, 1);
    assert_int_equal(vtd_cache_flushes, flushes); /* ECAP.C = 1: walks snoop */
}

/* Firmware left translation, interrupt remapping, queued invalidation and a protected memory
 * region on, on a unit that buffers writes (CAP.RWBF) and has PLMR: translation off, IRE off
 * before QIE, PMEN off, the root pointer, the write buffer flushed before the invalidations. */
static void vtd_enable_after_firmware_ir_pmen_rwbf(void **state)
{
    static struct vtd_model m;
    u64 cap = QEMU_CAP | BIT(4) | BIT(5);
    struct vtd u = vtd_unit(&m, cap, QEMU_ECAP | 1, VTD_GSTS_TES | VTD_GSTS_QIES | VTD_GSTS_IRES);
    char err[200] = "";

    wr32(m.r, VTD_PMEN, VTD_PMEN_EPM | VTD_PMEN_PRS);
    assert_int_equal(vtd_enable(&u, 0x7000000, alloc, err, sizeof(err)), 0);
    assert_string_equal(m.seq, "tiqPRQBCIWT");
    assert_int_equal(rd32(m.r, VTD_PMEN), 0);
    assert_false(m.gsts & VTD_GSTS_IRES);
    assert_non_null(strstr(logbuf, "write buffer flushed, firmware's interrupt remapping/queue turned off"));

    /* Register-based invalidation on such a unit flushes the write buffer first too. */
    static struct vtd_model m2;
    struct vtd u2 = vtd_unit(&m2, cap, QEMU_ECAP | 1, 0);
    assert_int_equal(vtd_enable(&u2, 0x7000000, alloc, err, sizeof(err)), 0);
    assert_string_equal(m2.seq, "PRBCIT");
    memset(m2.seq, 0, sizeof(m2.seq));
    assert_true(vtd_invalidate(&u2));
    assert_string_equal(m2.seq, "BCI");
}

static void vtd_enable_fails_when_unit_does_not_answer(void **state)
{
    static struct vtd_model m;
    struct vtd u = vtd_unit(&m, QEMU_CAP, QEMU_ECAP, 0);
    char err[200] = "";

    m.dead = true;
    assert_int_equal(vtd_enable(&u, 0x7000000, alloc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "VT-d unit at 0xfed90000: root-table pointer not latched"));
}

static void put_fault(struct vtd_model *m, u32 i, u64 addr, u16 sid, u8 reason, bool read)
{
    u32 fro = VTD_CAP_FRO(rd64(m->r, VTD_CAP));
    wr64(m->r, fro + i * 16, addr);
    wr64(m->r, fro + i * 16 + 8, VTD_FRCD_F | (read ? VTD_FRCD_T : 0) | ((u64)reason << 32) | sid);
    wr32(m->r, VTD_FSTS, rd32(m->r, VTD_FSTS) | VTD_FSTS_PPF);
}

static void vtd_faults_are_logged_and_cleared(void **state)
{
    static struct vtd_model m;
    /* Four fault records (NFR = 3) at 0x400, as a larger unit has. */
    struct vtd u =
        vtd_unit(&m, (QEMU_CAP & ~(0x3ffull << 24 | 0xffull << 40)) | 0x40ull << 24 | 3ull << 40, QEMU_ECAP, 0);
    char err[200] = "";

    assert_int_equal(vtd_enable(&u, 0x7000000, alloc, err, sizeof(err)), 0);
    loglen = 0;
    assert_int_equal(vtd_poll_faults(&u), 0);

    /* Records 2 and 3 hold faults, FRI points at 2 (the hardware fills them round-robin). */
    put_fault(&m, 2, 0x2a80000, 0x00fa, 5, false);
    put_fault(&m, 3, 0x3de8b000, 0x0018, 6, true);
    wr32(m.r, VTD_FSTS, rd32(m.r, VTD_FSTS) | (2 << 8));
    assert_int_equal(vtd_poll_faults(&u), 2);
    assert_non_null(
        strstr(logbuf, "iommu: blocked DMA write by 00:1f.2 to guest-physical 0x2a80000 (VT-d fault reason 0x5)\n"));
    assert_non_null(
        strstr(logbuf, "iommu: blocked DMA read by 00:03.0 to guest-physical 0x3de8b000 (VT-d fault reason 0x6)\n"));
    assert_int_equal(rd64(m.r, 0x400 + 2 * 16 + 8) & VTD_FRCD_F, 0);
    assert_int_equal(rd64(m.r, 0x400 + 3 * 16 + 8) & VTD_FRCD_F, 0);
    assert_int_equal(vtd_poll_faults(&u), 0);

    /* Overflow is reported and cleared. */
    wr32(m.r, VTD_FSTS, VTD_FSTS_PFO);
    loglen = 0;
    assert_int_equal(vtd_poll_faults(&u), 1);
    assert_non_null(strstr(logbuf, "fault records overflowed"));
    assert_int_equal(rd32(m.r, VTD_FSTS), 0);
    assert_int_equal(u.faults, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(amd_vi_enable_with_invalidate_all, reset),
        cmocka_unit_test_teardown(amd_vi_enable_without_invalidate_all, reset),
        cmocka_unit_test_teardown(amd_vi_enable_fails_on_a_hung_unit, reset),
        cmocka_unit_test_teardown(amd_vi_events_are_logged, reset),
        cmocka_unit_test_teardown(vtd_enable_register_based, reset),
        cmocka_unit_test_teardown(vtd_enable_queued_after_firmware, reset),
        cmocka_unit_test_teardown(vtd_enable_after_firmware_ir_pmen_rwbf, reset),
        cmocka_unit_test_teardown(vtd_enable_fails_when_unit_does_not_answer, reset),
        cmocka_unit_test_teardown(vtd_faults_are_logged_and_cleared, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
