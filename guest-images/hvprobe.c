/*
 * hvprobe: the guest side of the tests' hypercalls and physical-memory probes.
 *
 *   hvprobe canary              print the host-physical address of the hypervisor's canary page
 *   hvprobe hypercall NR        issue hypercall NR, print RAX and RBX
 *   hvprobe mark LABEL          HC_STATS_MARK: the hypervisor logs its crossing counts so far (make bench)
 *   hvprobe exits               HC_STATS_EXITS: print "hlt H mwait M all A", the HLT exits, MWAIT exits
 *                               and all VM exits so far (the idle tests take the difference)
 *   hvprobe readphys ADDR LEN   map /dev/mem at ADDR and print LEN bytes ('.' for unprintables)
 *   hvprobe peek ADDR           one 32-bit load (a MOV) from physical ADDR through /dev/mem, printed in hex
 *   hvprobe poke ADDR VALUE     one 32-bit store of VALUE to physical ADDR (e.g. into the ECAM window:
 *                               the guest kernel needs iomem=relaxed for /dev/mem to map it)
 *   hvprobe gro IFACE on|off    switch the interface's GRO (ethtool -K IFACE gro; busybox has no
 *                               ethtool): the absorbed napi_gro_receive needs it off (make bench)
 *   hvprobe hwcr VALUE          write HWCR (MSR C001_0015h) and read it back, at CPL 0 through the
 *                               gcpu module (loaded if needed), which prints "gcpu: hwcr ..."
 *   hvprobe wrmsr MSR VALUE     write any MSR (VALUE or ^MASK) and read it back, at CPL 0 through gcpu,
 *                               which prints "gcpu: msr ..." (the msr-policy case, docs/msr.md)
 *   hvprobe outb PORT VALUE     write one byte to an I/O port (ioperm), e.g. a command to the
 *                               software-SMI port 0xB2 (the msr-policy case, docs/msr.md)
 *   hvprobe invd                execute INVD at CPL 0 through gcpu, which prints "gcpu: invd ..."
 *   hvprobe ipi xapic|x2apic ICR  write the 64-bit interrupt command ICR (hex) to the local APIC's
 *                               ICR at CPL 0 through gcpu (xAPIC page or MSR 830h): "gcpu: ipi ..."
 *                               (both are CPL-0 instructions: from here they would only #GP)
 *   hvprobe fwpeek ADDR         HC_TEST_FIRMWARE_PEEK: the 8 bytes at host-physical ADDR in a firmware
 *                               range, as the hypervisor reads them: "fwpeek ADDR 0xVALUE"
 *   hvprobe highmem             find a page of this process above 4 GiB (/proc/self/pagemap), write a
 *                               pattern over it and read it back: "highmem PFN ok" (exit 0) or why not
 *   hvprobe barrw DEV N         map BAR N of PCI device DEV (e.g. 0000:00:04.0) through sysfs, write a
 *                               pattern over its first 4 KiB and read it back: "barrw ADDR ok"
 *
 * Hypercall ABI (docs/hypercalls.md): VMMCALL, number in RAX, arguments in RBX RCX RDX, status in
 * RAX (0 = ok, negative = error), result in RBX.
 */
#include <ctype.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define HC_TEST_CANARY 0x50530001ul

#define HC_TEST_FIRMWARE_PEEK 0x50530014ul

#define HC_STATS_MARK  0x50530011ul
#define HC_STATS_EXITS 0x50530012ul

static long hypercall(unsigned long nr, unsigned long *rbx)
{
    unsigned long rax = nr, b = *rbx;
    __asm__ volatile("vmmcall" : "+a"(rax), "+b"(b) : : "rcx", "rdx", "memory");
    *rbx = b;
    return (long)rax;
}

/* HC_STATS_EXITS answers in RBX, RCX and RDX. */
static long hypercall3(unsigned long nr, unsigned long *rbx, unsigned long *rcx, unsigned long *rdx)
{
    unsigned long rax = nr, b = 0, c = 0, d = 0;
    __asm__ volatile("vmmcall" : "+a"(rax), "+b"(b), "+c"(c), "+d"(d) : : "memory");
    *rbx = b, *rcx = c, *rdx = d;
    return (long)rax;
}

static int usage(void)
{
    fprintf(stderr, "usage: hvprobe canary | hypercall NR | mark LABEL | exits | readphys ADDR LEN | peek ADDR"
                    " | poke ADDR VALUE | gro IFACE on|off | hwcr VALUE | wrmsr MSR VALUE | outb PORT VALUE | invd"
                    " | ipi xapic|x2apic ICR | fwpeek ADDR | highmem | barrw DEV N\n");
    return 2;
}

/* Write VALUE to the gcpu module's parameter NAME (loading the module first if it is not). */
static int gcpu(const char *name, const char *value)
{
    char path[96];
    int fd;

    snprintf(path, sizeof(path), "/sys/module/gcpu/parameters/%s", name);
    if (access(path, W_OK) && system("insmod /lib/modules/postern/gcpu.ko") != 0) {
        fprintf(stderr, "hvprobe: cannot load gcpu.ko\n");
        return 1;
    }
    fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, value, strlen(value)) < 0) {
        perror(path);
        return 1;
    }
    close(fd);
    return 0;
}

/* ETHTOOL_SGRO, then ETHTOOL_GGRO to report what the driver kept. */
static int set_gro(const char *ifname, int on)
{
    struct ethtool_value ev = { .cmd = ETHTOOL_SGRO, .data = (uint32_t)on };
    struct ifreq ifr;
    int fd;

    memset(&ifr, 0, sizeof(ifr));
    if (strlen(ifname) >= sizeof(ifr.ifr_name) || (fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        fprintf(stderr, "hvprobe: gro: bad interface name or no socket\n");
        return 1;
    }
    strcpy(ifr.ifr_name, ifname);
    ifr.ifr_data = (char *)&ev;
    if (ioctl(fd, SIOCETHTOOL, &ifr) < 0) {
        perror("hvprobe: gro: ETHTOOL_SGRO");
        return 1;
    }
    ev.cmd = ETHTOOL_GGRO;
    if (ioctl(fd, SIOCETHTOOL, &ifr) < 0) {
        perror("hvprobe: gro: ETHTOOL_GGRO");
        return 1;
    }
    printf("gro %s %s\n", ifname, ev.data ? "on" : "off");
    close(fd);
    return (ev.data != 0) == (on != 0) ? 0 : 1; /* 1: the driver kept the other setting */
}

/* A pattern that differs in every 8-byte word, so a stale or shifted page cannot pass. */
static unsigned long pattern(unsigned long seed, unsigned long i) { return (seed ^ (i * 0x9e3779b97f4a7c15ul)) + i; }

static int fill_and_check(volatile unsigned long *p, unsigned long words, unsigned long seed)
{
    for (unsigned long i = 0; i < words; i++)
        p[i] = pattern(seed, i);
    for (unsigned long i = 0; i < words; i++)
        if (p[i] != pattern(seed, i))
            return -1;
    return 0;
}

/* Touch memory until one of our pages sits above 4 GiB, then check it holds what we write. */
static int highmem(void)
{
    const unsigned long chunk = 64ul << 20, limit = 8ul << 30;
    int fd = open("/proc/self/pagemap", O_RDONLY);

    if (fd < 0) {
        perror("hvprobe: pagemap");
        return 1;
    }
    for (unsigned long total = 0; total < limit; total += chunk) {
        unsigned char *m = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            printf("highmem: none above 4 GiB in %lu MiB\n", total >> 20);
            return 1;
        }
        for (unsigned long off = 0; off < chunk; off += 4096) {
            uint64_t e;
            m[off] = 1;
            if (pread(fd, &e, 8, (off_t)(((unsigned long)m + off) / 4096 * 8)) != 8) {
                perror("hvprobe: pagemap read");
                return 1;
            }
            unsigned long pfn = e & ((1ul << 55) - 1);
            if ((e >> 63) && pfn >= 0x100000ul) {
                int bad = fill_and_check((volatile unsigned long *)(m + off), 512, pfn);
                printf("highmem pfn 0x%lx (physical 0x%lx) %s\n", pfn, pfn << 12, bad ? "MISMATCH" : "ok");
                return bad ? 1 : 0;
            }
        }
    }
    printf("highmem: none above 4 GiB in %lu MiB\n", limit >> 20);
    return 1;
}

/* Write and read back the first 4 KiB of a memory BAR through its sysfs resource file. */
static int barrw(const char *dev, const char *bar)
{
    char path[256], line[256];
    unsigned long start = 0, end = 0, flags = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", dev);
    f = fopen(path, "r");
    for (int i = 0; f && fgets(line, sizeof(line), f); i++)
        if (i == atoi(bar))
            sscanf(line, "%lx %lx %lx", &start, &end, &flags);
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%s", dev, bar);
    int fd = open(path, O_RDWR | O_SYNC);
    if (fd < 0 || !start) {
        perror("hvprobe: barrw");
        return 1;
    }
    volatile unsigned long *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("hvprobe: barrw mmap");
        return 1;
    }
    int bad = fill_and_check(p, 512, start);
    printf("barrw 0x%lx %s\n", start, bad ? "MISMATCH" : "ok");
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    unsigned long rbx = 0;

    if (argc == 2 && !strcmp(argv[1], "canary")) {
        long rc = hypercall(HC_TEST_CANARY, &rbx);
        if (rc) {
            fprintf(stderr, "hvprobe: canary hypercall failed: %ld\n", rc);
            return 1;
        }
        printf("0x%lx\n", rbx);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "hypercall")) {
        long rc = hypercall(strtoul(argv[2], NULL, 0), &rbx);
        printf("rax %ld rbx 0x%lx\n", rc, rbx);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "mark")) {
        /* make bench: the hypervisor logs its crossing counts so far under this label */
        rbx = strtoul(argv[2], NULL, 0);
        return hypercall(HC_STATS_MARK, &rbx) ? 1 : 0;
    }
    if (argc == 2 && !strcmp(argv[1], "exits")) {
        unsigned long hlt, mwait, all;
        long rc = hypercall3(HC_STATS_EXITS, &hlt, &mwait, &all);
        if (rc) {
            fprintf(stderr, "hvprobe: exits hypercall failed: %ld\n", rc);
            return 1;
        }
        printf("hlt %lu mwait %lu all %lu\n", hlt, mwait, all);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "readphys")) {
        unsigned long addr = strtoul(argv[2], NULL, 0), len = strtoul(argv[3], NULL, 0);
        unsigned long page = addr & ~0xffful, off = addr - page;
        int fd = open("/dev/mem", O_RDONLY | O_SYNC);
        if (fd < 0 || len == 0 || len > 4096) {
            perror("hvprobe: /dev/mem");
            return 1;
        }
        volatile unsigned char *p = mmap(NULL, off + len, PROT_READ, MAP_SHARED, fd, (off_t)page);
        if (p == MAP_FAILED) {
            perror("hvprobe: mmap");
            return 1;
        }
        for (unsigned long i = 0; i < len; i++) {
            unsigned char c = p[off + i];
            putchar(isprint(c) ? c : '.');
        }
        putchar('\n');
        return 0;
    }
    if ((argc == 3 && !strcmp(argv[1], "peek")) || (argc == 4 && !strcmp(argv[1], "poke"))) {
        unsigned long addr = strtoul(argv[2], NULL, 0), page = addr & ~0xffful;
        int fd = open("/dev/mem", O_RDWR | O_SYNC);
        if (fd < 0 || (addr & 3)) {
            perror("hvprobe: /dev/mem");
            return 1;
        }
        volatile uint32_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)page);
        if (p == MAP_FAILED) {
            perror("hvprobe: mmap");
            return 1;
        }
        if (argc == 4)
            p[(addr - page) / 4] = (uint32_t)strtoul(argv[3], NULL, 0);
        else
            printf("0x%08x\n", p[(addr - page) / 4]);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "gro") && (!strcmp(argv[3], "on") || !strcmp(argv[3], "off")))
        return set_gro(argv[2], !strcmp(argv[3], "on"));
    if (argc == 3 && !strcmp(argv[1], "hwcr"))
        return gcpu("hwcr", argv[2]);
    if (argc == 4 && !strcmp(argv[1], "wrmsr")) {
        char arg[64];
        snprintf(arg, sizeof(arg), "%s %s", argv[2], argv[3]);
        return gcpu("wrmsr", arg);
    }
    if (argc == 4 && !strcmp(argv[1], "outb")) {
        unsigned long port = strtoul(argv[2], NULL, 0), value = strtoul(argv[3], NULL, 0);
        if (port > 0xffff || value > 0xff || ioperm(port, 1, 1)) {
            perror("hvprobe: outb");
            return 1;
        }
        outb((unsigned char)value, (unsigned short)port);
        printf("outb 0x%lx 0x%lx done\n", port, value);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "invd"))
        return gcpu("invd", "1");
    if (argc == 4 && !strcmp(argv[1], "ipi")) {
        char arg[64];
        snprintf(arg, sizeof(arg), "%s %s", argv[2], argv[3]);
        return gcpu("ipi", arg);
    }
    if (argc == 3 && !strcmp(argv[1], "fwpeek")) {
        unsigned long addr = strtoul(argv[2], NULL, 0);
        rbx = addr;
        long rc = hypercall(HC_TEST_FIRMWARE_PEEK, &rbx);
        if (rc) {
            fprintf(stderr, "hvprobe: fwpeek hypercall failed: %ld\n", rc);
            return 1;
        }
        printf("fwpeek 0x%lx 0x%016lx\n", addr, rbx);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "highmem"))
        return highmem();
    if (argc == 4 && !strcmp(argv[1], "barrw"))
        return barrw(argv[2], argv[3]);
    return usage();
}
