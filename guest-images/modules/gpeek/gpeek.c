// SPDX-License-Identifier: GPL-2.0
/*
 * gpeek: an ordinary (unguarded) module that reads the small memory BAR of every RTL8139 from
 * outside its driver (the subpage-bar test). The RTL8139's BAR1 is 256 bytes, smaller than a page:
 * Postern guards it by trapping its page, so a guarded chip must read as zeros here while a chip
 * beside it on the same page (not guarded) reads as itself. One line per chip:
 *   gpeek: 0000:00:03.0 driver 8139cp BAR1 0xc1041000+0x100 mac 52:54:00:12:34:56 txconfig 0x74000600
 * Parameter reset=SLOT (e.g. 0000:00:03.0): write the chip's software reset (CR bit 4) through the
 * BAR as well. Under Postern a guarded chip drops it and its driver goes on working; without a
 * hypervisor it resets the chip under its driver.
 * Parameter share=1, before any driver binds: move the second chip's BAR right behind the
 * first's, onto the same page, where firmware that packs small BARs would have put it (OVMF gives
 * each its own page). The config write reaches the chip (it is not guarded), and the kernel's
 * resource tree follows (released and claimed again at the new address).
 */
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>

static ushort vendor = 0x10ec, device = 0x8139;
static int bar = 1;
static char *reset = "";
static bool share;
module_param(vendor, ushort, 0444);
module_param(device, ushort, 0444);
module_param(bar, int, 0444);
module_param(reset, charp, 0444);
MODULE_PARM_DESC(reset, "PCI slot name of a chip to reset through its BAR");
module_param(share, bool, 0444);
MODULE_PARM_DESC(share, "move the second chip's BAR onto the first's page");

/* share=1: the second chip's BAR behind the first's, on its page. */
static void gpeek_share(void)
{
    struct pci_dev *a = pci_get_device(vendor, device, NULL);
    struct pci_dev *b = a ? pci_get_device(vendor, device, pci_dev_get(a)) : NULL; /* "from" loses a reference */
    struct resource *ra, *rb;
    resource_size_t to;
    u16 cmd;
    int err;

    if (!a || !b) {
        printk(KERN_INFO "gpeek: share: two chips needed\n");
        goto out;
    }
    ra = &a->resource[bar];
    rb = &b->resource[bar];
    to = ra->end + 1;
    if (b->dev.driver || (to & 0xfff) == 0 || resource_size(rb) > 0x1000 - (to & 0xfff)) {
        printk(KERN_INFO "gpeek: share: %s is bound, or its BAR does not fit behind %s's\n", pci_name(b), pci_name(a));
        goto out;
    }
    pci_read_config_word(b, PCI_COMMAND, &cmd);
    pci_write_config_word(b, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    if (rb->parent)
        release_resource(rb);
    rb->end = to + resource_size(rb) - 1;
    rb->start = to;
    pci_write_config_dword(b, PCI_BASE_ADDRESS_0 + 4 * bar, (u32)to);
    err = pci_claim_resource(b, bar);
    pci_write_config_word(b, PCI_COMMAND, cmd);
    printk(KERN_INFO "gpeek: share: %s BAR%d moved to %pR, on the page of %s BAR%d %pR (claim %d)\n", pci_name(b), bar,
           rb, pci_name(a), bar, ra, err);
out:
    pci_dev_put(b);
    pci_dev_put(a);
}

#define RTL_IDR0     0x00 /* the MAC address, 6 bytes */
#define RTL_CR       0x37
#define RTL_CR_RESET 0x10
#define RTL_TXCONFIG 0x40

static int __init gpeek_init(void)
{
    struct pci_dev *pdev = NULL;
    int n = 0;

    if (share)
        gpeek_share();
    while ((pdev = pci_get_device(vendor, device, pdev))) {
        resource_size_t start = pci_resource_start(pdev, bar), len = pci_resource_len(pdev, bar);
        void __iomem *p;
        u8 mac[6];
        u32 txc;
        int i;

        if (!(pci_resource_flags(pdev, bar) & IORESOURCE_MEM) || len < 0x80) {
            printk(KERN_INFO "gpeek: %s BAR%d is no memory BAR of 128 bytes or more\n", pci_name(pdev), bar);
            continue;
        }
        p = ioremap(start, len);
        if (!p)
            continue;
        for (i = 0; i < 6; i++)
            mac[i] = readb(p + RTL_IDR0 + i);
        txc = readl(p + RTL_TXCONFIG);
        printk(KERN_INFO "gpeek: %s driver %s BAR%d %pa+%pa mac %pM txconfig 0x%08x\n", pci_name(pdev),
               pdev->dev.driver ? pdev->dev.driver->name : "(none)", bar, &start, &len, mac, txc);
        if (!strcmp(reset, pci_name(pdev))) {
            writeb(RTL_CR_RESET, p + RTL_CR);
            printk(KERN_INFO "gpeek: %s reset written, CR reads 0x%02x\n", pci_name(pdev), readb(p + RTL_CR));
        }
        iounmap(p);
        n++;
    }
    printk(KERN_INFO "gpeek: %d chips\n", n);
    return 0;
}

static void __exit gpeek_exit(void) {}

module_init(gpeek_init);
module_exit(gpeek_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Postern tests: read RTL8139s' small BARs from outside their driver");
