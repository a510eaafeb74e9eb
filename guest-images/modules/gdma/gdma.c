// SPDX-License-Identifier: GPL-2.0
/*
 * gdma: a guarded module (christoized with the `nic` privilege, like e1000) that programs the
 * e1000 to DMA where it must not reach. The IOMMU must block each such access and the hypervisor
 * report it ("iommu: blocked DMA ..."); without a hypervisor the guest kernel's own IOMMU driver
 * blocks them (the control). Everything happens at load time, with no e1000 driver bound.
 *
 * For each address A in `addrs` (guest-physical, refused if it is RAM):
 *   ring    the transmit descriptor ring is put at A and one descriptor queued (TDT = 1): the
 *           device's first DMA is the 16-byte descriptor read from A. TDH moving to 1 shows the
 *           device did try it.
 *   buffer  a ring in guest RAM (dma_alloc_coherent) holds one descriptor whose 64-byte packet
 *           buffer is at A. The PHY is in loopback, so the frame comes back into a receive ring in
 *           guest RAM: what the device read from A is printed. The descriptor's write-back (DD)
 *           and the received frame are the positive control: DMA within guest RAM works.
 * Then the same buffer read from three more places:
 *   mapped  a buffer of guest RAM mapped for DMA, filled with "GDMA-MAPPED": it must come back as
 *           it is (the control of the method itself).
 *   secret  a page of guest RAM that was never mapped for DMA, filled with "GDMA-SECRET". With an
 *           IOMMU the guest kernel drives, the device must not see it; under Postern (whose IOMMU
 *           maps all of guest RAM, and the guest drives none) it does.
 *   canary  (`canary=`, from `hvprobe canary`) the host-physical address of a hypervisor page that
 *           begins with "POSTERN-HV-CANARY": used as a DMA address it must never yield that text.
 * For the attack suite (tests/attacks/, docs/security.md):
 *   spin_ms     spin that long in the module's own code with interrupts on, holding `nic`, so that
 *               interrupt handlers run while the module is interrupted (gevil's irqpoke counts them)
 *   textwrite   a kernel virtual address in another guarded module's text: the device is made to
 *               write a received frame there (a receive descriptor whose buffer is that page); the
 *               IOMMU must refuse the write (the text is read-only for devices too)
 * The device is reset (CTRL.RST) at the end, interrupts masked throughout. One "gdma: " line per
 * step, the last "gdma: done N attempts".
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <asm/tsc.h>

static ushort vendor = 0x8086, device = 0x100e;
static unsigned long addrs[4], canary;
static int naddrs;
static bool secret = true;
static unsigned int spin_ms;
static unsigned long textwrite;
module_param(spin_ms, uint, 0444);
MODULE_PARM_DESC(spin_ms, "spin this long inside the module, interrupts on");
module_param(textwrite, ulong, 0444);
MODULE_PARM_DESC(textwrite, "kernel virtual address in a guarded module's text to aim a DMA write at");
module_param(vendor, ushort, 0444);
module_param(device, ushort, 0444);
module_param_array(addrs, ulong, &naddrs, 0444);
MODULE_PARM_DESC(addrs, "guest-physical addresses (not RAM) to aim DMA at");
module_param(canary, ulong, 0444);
MODULE_PARM_DESC(canary, "host-physical address of the hypervisor's canary page (hvprobe canary)");
module_param(secret, bool, 0444);
MODULE_PARM_DESC(secret, "also read a page of guest RAM never mapped for DMA");

#define E1000_CTRL     0x0000
#define E1000_STATUS   0x0008
#define E1000_MDIC     0x0020
#define E1000_IMC      0x00d8
#define E1000_RCTL     0x0100
#define E1000_TCTL     0x0400
#define E1000_RDBAL    0x2800
#define E1000_RDBAH    0x2804
#define E1000_RDLEN    0x2808
#define E1000_RDH      0x2810
#define E1000_RDT      0x2818
#define E1000_TDBAL    0x3800
#define E1000_TDBAH    0x3804
#define E1000_TDLEN    0x3808
#define E1000_TDH      0x3810
#define E1000_TDT      0x3818
#define CTRL_RST       (1u << 26)
#define TCTL_EN        (1u << 1)
#define TCTL_PSP       (1u << 3)
#define RCTL_EN        (1u << 1)
#define RCTL_UPE       (1u << 3)
#define RCTL_MPE       (1u << 4)
#define RCTL_BAM       (1u << 15)
#define RCTL_SECRC     (1u << 26)
#define MDIC_WRITE     (1u << 26)
#define MDIC_READY     (1u << 28)
#define MDIC_PHY1      (1u << 21)
#define BMCR_LOOPBACK  0x4000
#define BMCR_FULLDPLX  0x0100
#define BMCR_SPEED1000 0x0040
#define TXD_CMD_EOP    0x01
#define TXD_CMD_IFCS   0x02
#define TXD_CMD_RS     0x08
#define DESC_DD        0x01
#define TX_RING        4096 /* 256 descriptors: TDLEN must be a multiple of 128 */
#define RX_DESCS       16   /* more than the frames it will receive: no refill */
#define RX_BUF         2048 /* RCTL.BSIZE 00 */
#define FRAME          64

struct tx_desc {
    __le64 buffer_addr;
    __le16 length;
    u8 cso, cmd;
    u8 status, css;
    __le16 special;
};

struct rx_desc {
    __le64 buffer_addr;
    __le16 length;
    __le16 csum;
    u8 status, errors;
    __le16 special;
};

struct gdma {
    struct pci_dev *pdev;
    void __iomem *bar;
    struct tx_desc *tx;
    dma_addr_t tx_dma;
    struct rx_desc *rx;
    dma_addr_t rx_dma;
    u8 *rxbuf;
    dma_addr_t rxbuf_dma;
    u8 *mapped;
    dma_addr_t mapped_dma;
    int attempts;
};

static void tx_setup(struct gdma *g, u64 ring)
{
    writel(0, g->bar + E1000_TCTL);
    writel(lower_32_bits(ring), g->bar + E1000_TDBAL);
    writel(upper_32_bits(ring), g->bar + E1000_TDBAH);
    writel(TX_RING, g->bar + E1000_TDLEN);
    writel(0, g->bar + E1000_TDH);
    writel(0, g->bar + E1000_TDT);
    writel(TCTL_EN | TCTL_PSP, g->bar + E1000_TCTL);
}

/* Once, then wait: QEMU's e1000 holds back received frames for a second after each RCTL write. */
static void rx_setup(struct gdma *g)
{
    int i;
    writel(0, g->bar + E1000_RCTL);
    memset(g->rx, 0, RX_DESCS * sizeof(*g->rx));
    memset(g->rxbuf, 0, RX_DESCS * RX_BUF);
    for (i = 0; i < RX_DESCS; i++)
        g->rx[i].buffer_addr = cpu_to_le64(g->rxbuf_dma + i * RX_BUF);
    wmb();
    writel(lower_32_bits(g->rx_dma), g->bar + E1000_RDBAL);
    writel(upper_32_bits(g->rx_dma), g->bar + E1000_RDBAH);
    writel(RX_DESCS * sizeof(*g->rx), g->bar + E1000_RDLEN);
    writel(0, g->bar + E1000_RDH);
    writel(RX_DESCS - 1, g->bar + E1000_RDT);
    writel(RCTL_EN | RCTL_UPE | RCTL_MPE | RCTL_BAM | RCTL_SECRC, g->bar + E1000_RCTL);
    msleep(1100);
}

/* Queue descriptor 0 and give the device time to process it; returns TDH afterwards. */
static u32 tx_kick(struct gdma *g)
{
    writel(1, g->bar + E1000_TDT);
    msleep(20);
    return readl(g->bar + E1000_TDH);
}

/* The device transmits FRAME bytes read from a, which come back through the PHY loopback. */
static void read_through_device(struct gdma *g, const char *what, u64 a, const char *needle)
{
    char hex[3 * 16 + 1];
    const u8 *f;
    u8 txs, rxs = 0;
    u32 rdh0 = readl(g->bar + E1000_RDH), rdh;
    int i, len = 0;
    bool found = false;

    memset(g->tx, 0, TX_RING);
    g->tx[0].buffer_addr = cpu_to_le64(a);
    g->tx[0].length = cpu_to_le16(FRAME);
    g->tx[0].cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
    tx_setup(g, g->tx_dma);
    tx_kick(g);
    rmb();
    g->attempts++;
    txs = READ_ONCE(g->tx[0].status);
    rdh = readl(g->bar + E1000_RDH);
    f = g->rxbuf + ((rdh + RX_DESCS - 1) % RX_DESCS) * RX_BUF; /* the last frame received */
    if (rdh != rdh0 && rdh < RX_DESCS) {
        rxs = READ_ONCE(g->rx[(rdh + RX_DESCS - 1) % RX_DESCS].status);
        len = le16_to_cpu(READ_ONCE(g->rx[(rdh + RX_DESCS - 1) % RX_DESCS].length));
    }
    if (!(rxs & DESC_DD))
        len = 0;
    for (i = 0; i < 16; i++)
        snprintf(hex + 3 * i, 4, "%02x ", len ? f[i] : 0);
    hex[3 * 16 - 1] = 0;
    if (needle)
        for (i = 0; i + strlen(needle) <= min(len, FRAME); i++)
            if (!memcmp(f + i, needle, strlen(needle)))
                found = true;
    printk(KERN_INFO "gdma: buffer at 0x%llx (%s): transmit descriptor %s; %s%d bytes came back: %s%s%s\n", a, what,
           txs & DESC_DD ? "done" : "NOT done", len ? "" : "no frame, ", len, hex,
           needle ? (found ? " -- the device read " : " -- no ") : "", needle ? needle : "");
}

/* Spin in the module's own code (no calls: every call out would cross the border) for ms. */
static void spin_inside(unsigned int ms)
{
    u64 end = rdtsc() + (u64)tsc_khz * ms;
    while (rdtsc() < end)
        cpu_relax();
}

/* The device receives the frame it transmits from the mapped buffer into va's page (+ offset):
 * a DMA write to va. The bytes there are compared before and after. */
static void write_through_device(struct gdma *g, unsigned long va)
{
    struct page *page = vmalloc_to_page((void *)va);
    u32 rdh = readl(g->bar + E1000_RDH) % RX_DESCS;
    u8 before[16], after[16];
    u64 pa;

    if (!page) {
        printk(KERN_INFO "gdma: textwrite 0x%lx is not a vmalloc/module address\n", va);
        return;
    }
    pa = page_to_phys(page) + offset_in_page(va);
    memcpy(before, (void *)va, sizeof(before));
    g->rx[rdh].buffer_addr = cpu_to_le64(pa);
    g->rx[rdh].status = 0;
    memset(g->tx, 0, TX_RING);
    g->tx[0].buffer_addr = cpu_to_le64(g->mapped_dma);
    g->tx[0].length = cpu_to_le16(FRAME);
    g->tx[0].cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
    wmb();
    tx_setup(g, g->tx_dma);
    tx_kick(g);
    msleep(20);
    rmb();
    g->attempts++;
    memcpy(after, (void *)va, sizeof(after));
    printk(KERN_INFO "gdma: DMA write to module text at 0x%lx (guest-physical 0x%llx): receive descriptor %s, "
                     "text %s: %16ph\n",
           va, pa, READ_ONCE(g->rx[rdh].status) & DESC_DD ? "done" : "NOT done",
           memcmp(before, after, sizeof(before)) ? "CHANGED" : "unchanged", after);
}

static int mdic_write(struct gdma *g, u32 reg, u16 val)
{
    int i;
    writel(val | reg << 16 | MDIC_PHY1 | MDIC_WRITE, g->bar + E1000_MDIC);
    for (i = 0; i < 100; i++) {
        if (readl(g->bar + E1000_MDIC) & MDIC_READY)
            return 0;
        udelay(10);
    }
    return -ETIMEDOUT;
}

static void run(struct gdma *g)
{
    int i;
    u8 *page;

    for (i = 0; i < naddrs; i++) {
        u64 a = addrs[i];
        u32 tdh;

        if (page_is_ram(a >> PAGE_SHIFT)) {
            printk(KERN_INFO "gdma: 0x%llx is RAM: skipped\n", a);
            continue;
        }
        /* ring: the descriptor fetch itself goes to A */
        tx_setup(g, a);
        tdh = tx_kick(g);
        g->attempts++;
        printk(KERN_INFO "gdma: ring at 0x%llx: TDT=1, TDH now %u (%s)\n", a, tdh,
               tdh == 1 ? "the device fetched the descriptor" : "the device did not move");
        read_through_device(g, "outside RAM", a, NULL);
    }
    /* the method's own control: a buffer mapped for DMA must come back as it is */
    for (i = 0; i + 12 <= RX_BUF; i += 12)
        memcpy(g->mapped + i, "GDMA-MAPPED-", 12);
    wmb();
    read_through_device(g, "guest RAM mapped for DMA", g->mapped_dma, "GDMA-MAPPED");
    if (secret) {
        page = (u8 *)__get_free_page(GFP_KERNEL);
        if (page) {
            for (i = 0; i + 12 <= PAGE_SIZE; i += 12)
                memcpy(page + i, "GDMA-SECRET-", 12);
            read_through_device(g, "guest RAM never mapped for DMA", virt_to_phys(page), "GDMA-SECRET");
            free_page((unsigned long)page);
        }
    }
    if (canary)
        read_through_device(g, "the hypervisor's canary page", canary, "POSTERN-HV-CANARY");
    if (textwrite) {
        for (i = 0; i + 12 <= RX_BUF; i += 12)
            memcpy(g->mapped + i, "GDMA-MAPPED-", 12);
        wmb();
        write_through_device(g, textwrite);
    }
}

static int __init gdma_init(void)
{
    struct gdma g = { .pdev = pci_get_device(vendor, device, NULL) };
    int rc;

    if (!g.pdev) {
        printk(KERN_INFO "gdma: no PCI device %04x:%04x\n", vendor, device);
        return -ENODEV;
    }
    if (g.pdev->dev.driver) {
        printk(KERN_INFO "gdma: %s is driven by %s: unload it first\n", pci_name(g.pdev), g.pdev->dev.driver->name);
        pci_dev_put(g.pdev);
        return -EBUSY;
    }
    rc = pci_enable_device_mem(g.pdev);
    if (rc) {
        pci_dev_put(g.pdev);
        return rc;
    }
    pci_set_master(g.pdev);
    g.bar = pci_iomap(g.pdev, 0, 0);
    g.tx = dma_alloc_coherent(&g.pdev->dev, TX_RING, &g.tx_dma, GFP_KERNEL);
    g.rx = dma_alloc_coherent(&g.pdev->dev, RX_DESCS * sizeof(*g.rx), &g.rx_dma, GFP_KERNEL);
    g.rxbuf = dma_alloc_coherent(&g.pdev->dev, RX_DESCS * RX_BUF, &g.rxbuf_dma, GFP_KERNEL);
    g.mapped = dma_alloc_coherent(&g.pdev->dev, RX_BUF, &g.mapped_dma, GFP_KERNEL);
    rc = -ENOMEM;
    if (!g.bar || !g.tx || !g.rx || !g.rxbuf || !g.mapped)
        goto out;
    writel(~0u, g.bar + E1000_IMC);
    rc = mdic_write(&g, 0, BMCR_LOOPBACK | BMCR_FULLDPLX | BMCR_SPEED1000);
    rx_setup(&g);
    printk(KERN_INFO "gdma: %s STATUS=0x%08x, rings in RAM at dma 0x%llx (tx) 0x%llx (rx), PHY loopback %s\n",
           pci_name(g.pdev), readl(g.bar + E1000_STATUS), (u64)g.tx_dma, (u64)g.rx_dma, rc ? "FAILED" : "on");
    if (spin_ms) {
        spin_inside(spin_ms);
        printk(KERN_INFO "gdma: spun %u ms inside the module, interrupts on; STATUS read inside: 0x%08x\n", spin_ms,
               readl(g.bar + E1000_STATUS));
    }
    run(&g);
    writel(0, g.bar + E1000_TCTL);
    writel(0, g.bar + E1000_RCTL);
    writel(CTRL_RST, g.bar + E1000_CTRL); /* also clears the PHY loopback */
    msleep(10);
    writel(~0u, g.bar + E1000_IMC);
    printk(KERN_INFO "gdma: device reset, STATUS=0x%08x\n", readl(g.bar + E1000_STATUS));
    printk(KERN_INFO "gdma: done %d attempts\n", g.attempts);
    rc = 0;
out:
    if (g.mapped)
        dma_free_coherent(&g.pdev->dev, RX_BUF, g.mapped, g.mapped_dma);
    if (g.rxbuf)
        dma_free_coherent(&g.pdev->dev, RX_DESCS * RX_BUF, g.rxbuf, g.rxbuf_dma);
    if (g.rx)
        dma_free_coherent(&g.pdev->dev, RX_DESCS * sizeof(*g.rx), g.rx, g.rx_dma);
    if (g.tx)
        dma_free_coherent(&g.pdev->dev, TX_RING, g.tx, g.tx_dma);
    if (g.bar)
        pci_iounmap(g.pdev, g.bar);
    pci_clear_master(g.pdev);
    pci_disable_device(g.pdev);
    pci_dev_put(g.pdev);
    return rc;
}

static void __exit gdma_exit(void) {}

module_init(gdma_init);
module_exit(gdma_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Postern tests: a guarded module aiming the NIC's DMA where it must not reach");
