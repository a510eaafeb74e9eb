/*
 * PCI enumeration and device matching. Pure logic over a struct pci_cfg_access: the hypervisor
 * hands it pci_host, the unit tests a fake configuration space.
 *
 * Every bus number of the segment is a candidate root: bus 0 first, breadth first through the
 * secondary bus of every bridge in the order the bridges were found, then each bus number not
 * reached that way, in order, with what hangs below it. So root buses that no bridge leads to
 * (a server's other root complexes, PCIe expander buses, Intel's uncore buses) are found, not only
 * what sits below bus 0. Each bus is scanned once; a bridge naming a bus already scanned or queued
 * (a loop, or two bridges claiming one bus: firmware bugs) is not followed. The firmware's bus
 * numbering is taken as it is; nothing is renumbered or assigned.
 *
 * BAR sizing writes all ones to a BAR. Linux turns a function's decoding off around that, except
 * on host bridges (quirk_mmio_always_on: firmware and SMM may be using what is behind them), and
 * so does this, for ordinary functions. Host bridges (class 0600) and PCI-PCI bridges are not
 * sized at all: their decoding is never switched off and their BARs never moved, even for an
 * instant (the LPC/eSPI bridge, the BMC's path, stays up); their BARs are recorded as unsized.
 */
#include "drivers/pci/pci.h"
#include "lib/lib.h"
#include "lib/log.h"

static u32 rd(const struct pci_cfg_access *cfg, u16 bdf, u16 off, u8 size)
{
    return cfg->read(cfg->ctx, bdf, off, size);
}

static void wr(const struct pci_cfg_access *cfg, u16 bdf, u16 off, u8 size, u32 value)
{
    cfg->write(cfg->ctx, bdf, off, size, value);
}

/* No function answers: the bus returns all ones. Some devices answer 0 for absent functions. */
static bool absent(u16 vendor) { return vendor == 0xffff || vendor == 0x0000; }

/* Write all ones to a BAR register, read what sticks, put the original back. */
static u32 probe_reg(const struct pci_cfg_access *cfg, u16 bdf, u16 off, u32 orig)
{
    u32 v;

    wr(cfg, bdf, off, 4, 0xffffffffu);
    v = rd(cfg, bdf, off, 4);
    wr(cfg, bdf, off, 4, orig);
    return v;
}

/* The size a BAR decodes, from the address bits that stuck: the lowest one set. 0 if none. */
static u64 size_of(u64 mask) { return mask & (~mask + 1); }

/* Size BARs 0..nbars-1 of d. The caller has turned decoding off. */
static void size_bars(const struct pci_cfg_access *cfg, struct pci_dev *d, int nbars)
{
    for (int i = 0; i < nbars; i++) {
        struct pci_bar *b = &d->bar[i];
        u16 off = (u16)(PCI_BAR0 + 4 * i);
        u32 orig = rd(cfg, d->bdf, off, 4);
        u32 got = probe_reg(cfg, d->bdf, off, orig);

        if (orig & PCI_BAR_IO_BIT) {
            /* x86 I/O space is 16 bits; the upper half of an I/O BAR may or may not stick. */
            u64 mask = got & 0xfffcu;
            b->size = size_of(mask);
            b->kind = b->size ? PCI_BAR_IO : PCI_BAR_NONE;
            b->base = b->size ? (orig & 0xfffcu) : 0;
            continue;
        }
        b->prefetchable = (orig & PCI_BAR_PREFETCH) != 0;
        if ((orig & 0x6) == PCI_BAR_MEM_TYPE64) {
            u64 mask, base;
            u32 orig_hi, got_hi;

            if (i + 1 >= nbars) {
                /* A 64-bit BAR in the last slot has no upper half: malformed, not used. */
                b->prefetchable = false;
                continue;
            }
            orig_hi = rd(cfg, d->bdf, (u16)(off + 4), 4);
            got_hi = probe_reg(cfg, d->bdf, (u16)(off + 4), orig_hi);
            mask = (u64)got_hi << 32 | (got & ~0xfu);
            base = (u64)orig_hi << 32 | (orig & ~0xfu);
            b->size = size_of(mask);
            b->kind = b->size ? PCI_BAR_MEM64 : PCI_BAR_NONE;
            b->base = b->size ? base : 0;
            if (!b->size)
                b->prefetchable = false;
            i++; /* the upper half stays kind NONE, size 0 */
            continue;
        }
        /* 32-bit (type 00) or below-1M (type 01, legacy): both decode 32 address bits at most. */
        b->size = size_of(got & ~0xfu);
        b->kind = b->size ? PCI_BAR_MEM32 : PCI_BAR_NONE;
        b->base = b->size ? (orig & ~0xfu) : 0;
        if (!b->size)
            b->prefetchable = false;
    }
}

static void read_function(const struct pci_cfg_access *cfg, u16 bdf, u8 header, struct pci_dev *d)
{
    int nbars;
    u16 cmd;

    memset(d, 0, sizeof(*d));
    d->bdf = bdf;
    d->vendor = (u16)rd(cfg, bdf, PCI_VENDOR_ID, 2);
    d->device = (u16)rd(cfg, bdf, PCI_DEVICE_ID, 2);
    d->class_rev = rd(cfg, bdf, PCI_CLASS_REV, 4);
    d->header_type = header & 0x7f;
    d->irq_line = (u8)rd(cfg, bdf, PCI_INTERRUPT_LINE, 1);
    d->irq_pin = (u8)rd(cfg, bdf, PCI_INTERRUPT_PIN, 1);

    if (d->header_type == PCI_HEADER_BRIDGE)
        d->secondary_bus = (u8)rd(cfg, bdf, PCI_SECONDARY_BUS, 1);
    switch (d->header_type) {
    case PCI_HEADER_NORMAL:
        nbars = 6;
        break;
    case PCI_HEADER_BRIDGE:
        nbars = 2;
        break;
    default:
        nbars = 0;
        break; /* CardBus and unknown layouts: no BARs we understand */
    }
    if (!nbars)
        return;
    if (d->header_type == PCI_HEADER_BRIDGE || (d->class_rev >> 16) == PCI_CLASS_HOST_BRIDGE) {
        d->bars_unsized = true; /* never decoding off, never all ones written (top of file) */
        return;
    }

    /* A BAR holding all ones would decode wherever that lands: decoding off while sizing. */
    cmd = (u16)rd(cfg, bdf, PCI_COMMAND, 2);
    if (cmd & (PCI_CMD_IO | PCI_CMD_MEM))
        wr(cfg, bdf, PCI_COMMAND, 2, cmd & (u16) ~(PCI_CMD_IO | PCI_CMD_MEM));
    size_bars(cfg, d, nbars);
    if (cmd & (PCI_CMD_IO | PCI_CMD_MEM))
        wr(cfg, bdf, PCI_COMMAND, 2, cmd);
}

/* Scan bus (and, breadth first, every bus behind its bridges not yet seen). out NULL: count only,
 * nothing written. Returns the new count n, or -1 once max functions are recorded. */
static int scan_from(const struct pci_cfg_access *cfg, u8 root, bool seen[256], struct pci_dev *out, int max, int n)
{
    u8 queue[256];
    int head = 0, tail = 0;

    seen[root] = true;
    queue[tail++] = root;
    while (head < tail) {
        u8 bus = queue[head++];

        for (u8 dev = 0; dev < 32; dev++) {
            u8 nfn = 1;

            for (u8 fn = 0; fn < nfn; fn++) {
                u16 bdf = PCI_BDF(bus, dev, fn);
                u8 header;

                if (absent((u16)rd(cfg, bdf, PCI_VENDOR_ID, 2)))
                    continue;
                header = (u8)rd(cfg, bdf, PCI_HEADER_TYPE, 1);
                if (fn == 0 && (header & PCI_HEADER_MULTIFN))
                    nfn = 8;
                if (out) {
                    if (n == max)
                        return -1;
                    read_function(cfg, bdf, header, &out[n]);
                }
                n++;
                if ((header & 0x7f) == PCI_HEADER_BRIDGE) {
                    u8 sec = (u8)rd(cfg, bdf, PCI_SECONDARY_BUS, 1);
                    if (!seen[sec]) {
                        seen[sec] = true;
                        queue[tail++] = sec;
                    }
                }
            }
        }
    }
    return n;
}

int pci_enumerate(const struct pci_cfg_access *cfg, struct pci_dev *out, int max)
{
    bool seen[256];
    int n = 0;

    if (out && max <= 0)
        return 0;
    memset(seen, 0, sizeof(seen));
    for (int root = 0; root < 256; root++) {
        if (seen[root])
            continue;
        n = scan_from(cfg, (u8)root, seen, out, max, n);
        if (n < 0)
            return max;
    }
    return n;
}

int pci_root_buses(const struct pci_dev *d, int n, u8 *roots)
{
    bool present[256], claimed[256];
    int count = 0;

    memset(present, 0, sizeof(present));
    memset(claimed, 0, sizeof(claimed));
    for (int i = 0; i < n; i++) {
        present[PCI_BUS(d[i].bdf)] = true;
        /* A bridge naming its own bus or bus 0 (which is never a secondary bus) is a firmware bug. */
        if (d[i].header_type == PCI_HEADER_BRIDGE && d[i].secondary_bus != PCI_BUS(d[i].bdf) && d[i].secondary_bus)
            claimed[d[i].secondary_bus] = true;
    }
    for (int b = 0; b < 256; b++)
        if (present[b] && !claimed[b])
            roots[count++] = (u8)b;
    return count;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly n hex digits at s into *v. */
static bool hexn(const char *s, int n, u32 *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return false;
        *v = *v << 4 | (u32)h;
    }
    return true;
}

bool pci_match_parse(const char *text, struct pci_match *m)
{
    u32 a, b, c;
    size_t len;

    if (!text)
        return false;
    len = strnlen(text, 10);
    if (len == 7 && text[2] == ':' && text[5] == '.') {
        if (!hexn(text, 2, &a) || !hexn(text + 3, 2, &b) || !hexn(text + 6, 1, &c))
            return false;
        if (b > 0x1f || c > 7)
            return false;
        m->by_bdf = true;
        m->bdf = PCI_BDF(a, b, c);
        m->vendor = m->device = 0;
        return true;
    }
    if (len == 9 && text[4] == ':') {
        if (!hexn(text, 4, &a) || !hexn(text + 5, 4, &b))
            return false;
        m->by_bdf = false;
        m->bdf = 0;
        m->vendor = (u16)a;
        m->device = (u16)b;
        return true;
    }
    return false;
}

bool pci_match_dev(const struct pci_match *m, const struct pci_dev *d)
{
    if (m->by_bdf)
        return d->bdf == m->bdf;
    return d->vendor == m->vendor && d->device == m->device;
}

void pci_bdf_str(u16 bdf, char *buf) { fmt_snprintf(buf, 8, "%02x:%02x.%x", PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf)); }
