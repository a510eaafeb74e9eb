// SPDX-License-Identifier: GPL-2.0
/*
 * gpoke: an ordinary (unguarded) module that pokes the NIC's registers from outside the guarded
 * driver, through both of the e1000's register windows: BAR0 (memory) and BAR1 (I/O ports,
 * IOADDR/IODATA). Under Postern the guarded NIC must read as zeros and drop every write for it;
 * without a hypervisor (the control) it sees and changes the real registers. Everything happens
 * at load time; each observation is one "gpoke: " line, the last a summary the scenarios read:
 *   gpoke: summary mmio_nonzero=N io_nonzero=N mmio_write_landed=0|1 io_write_landed=0|1
 * Parameters: vendor, device (default 8086:100e), restore (write the values read back afterwards;
 * 0 under Postern, so that a write that got through would stay and break the driver).
 */
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>

static ushort vendor = 0x8086, device = 0x100e;
static bool restore = true;
module_param(vendor, ushort, 0444);
module_param(device, ushort, 0444);
module_param(restore, bool, 0444);
MODULE_PARM_DESC(restore, "write the original RAL0 back after the poke");

#define E1000_CTRL   0x0000
#define E1000_STATUS 0x0008
#define E1000_RAL0   0x5400
#define E1000_RAH0   0x5404
#define IOADDR       0x00 /* I/O BAR: register offset to access */
#define IODATA       0x04 /* I/O BAR: its value */
#define MMIO_MARK    0x0badf00du
#define IO_MARK      0x0badcafeu

static u32 io_read(unsigned long port, u32 reg)
{
    outl(reg, port + IOADDR);
    return inl(port + IODATA);
}

static void io_write(unsigned long port, u32 reg, u32 v)
{
    outl(reg, port + IOADDR);
    outl(v, port + IODATA);
}

static int __init gpoke_init(void)
{
    struct pci_dev *pdev = pci_get_device(vendor, device, NULL);
    resource_size_t start, len;
    void __iomem *bar;
    u32 ctrl, status, ral, rah, back, orig_ral;
    int mmio_nonzero = 0, io_nonzero = 0, mmio_landed, io_landed = 0;
    unsigned long port = 0;
    int i;

    if (!pdev) {
        printk(KERN_INFO "gpoke: no PCI device %04x:%04x\n", vendor, device);
        return -ENODEV;
    }
    start = pci_resource_start(pdev, 0);
    len = pci_resource_len(pdev, 0);
    printk(KERN_INFO "gpoke: %s %04x:%04x driver %s, BAR0 %pa+%pa\n", pci_name(pdev), vendor, device,
           pdev->dev.driver ? pdev->dev.driver->name : "(none)", &start, &len);
    if (!(pci_resource_flags(pdev, 0) & IORESOURCE_MEM) || len < 0x6000) {
        pci_dev_put(pdev);
        return -ENODEV;
    }
    bar = ioremap(start, len);
    if (!bar) {
        pci_dev_put(pdev);
        return -ENOMEM;
    }
    ctrl = readl(bar + E1000_CTRL);
    status = readl(bar + E1000_STATUS);
    ral = orig_ral = readl(bar + E1000_RAL0);
    rah = readl(bar + E1000_RAH0);
    mmio_nonzero = !!ctrl + !!status + !!ral + !!rah;
    printk(KERN_INFO "gpoke: mmio read CTRL=0x%08x STATUS=0x%08x RAL0=0x%08x RAH0=0x%08x\n", ctrl, status, ral, rah);
    writel(MMIO_MARK, bar + E1000_RAL0);
    back = readl(bar + E1000_RAL0);
    mmio_landed = back == MMIO_MARK;
    printk(KERN_INFO "gpoke: mmio write RAL0=0x%08x, read back 0x%08x\n", MMIO_MARK, back);

    for (i = 0; i < PCI_STD_NUM_BARS; i++)
        if ((pci_resource_flags(pdev, i) & IORESOURCE_IO) && pci_resource_len(pdev, i) >= 8)
            port = pci_resource_start(pdev, i);
    if (port) {
        u32 s = io_read(port, E1000_STATUS), r = io_read(port, E1000_RAL0), h = io_read(port, E1000_RAH0);
        io_nonzero = !!s + !!r + !!h;
        printk(KERN_INFO "gpoke: io port 0x%lx read STATUS=0x%08x RAL0=0x%08x RAH0=0x%08x\n", port, s, r, h);
        io_write(port, E1000_RAL0, IO_MARK);
        back = readl(bar + E1000_RAL0);
        io_landed = back == IO_MARK || io_read(port, E1000_RAL0) == IO_MARK;
        printk(KERN_INFO "gpoke: io write RAL0=0x%08x, read back 0x%08x (mmio)\n", IO_MARK, back);
    } else {
        printk(KERN_INFO "gpoke: no I/O BAR\n");
    }
    if (restore) {
        writel(orig_ral, bar + E1000_RAL0);
        printk(KERN_INFO "gpoke: restored RAL0=0x%08x, reads 0x%08x\n", orig_ral, readl(bar + E1000_RAL0));
    }
    printk(KERN_INFO "gpoke: summary mmio_nonzero=%d io_nonzero=%d mmio_write_landed=%d io_write_landed=%d\n",
           mmio_nonzero, io_nonzero, mmio_landed, io_landed);
    iounmap(bar);
    pci_dev_put(pdev);
    return 0;
}

static void __exit gpoke_exit(void) {}

module_init(gpoke_init);
module_exit(gpoke_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Postern tests: poke the guarded NIC from outside its driver");
