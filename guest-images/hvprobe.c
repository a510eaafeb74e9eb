/*
 * hvprobe: the guest side of the tests' hypercalls and physical-memory probes.
 *
 *   hvprobe canary              print the host-physical address of the hypervisor's canary page
 *   hvprobe hypercall NR        issue hypercall NR, print RAX and RBX
 *   hvprobe mark LABEL          HC_STATS_MARK: the hypervisor logs its crossing counts so far (make bench)
 *   hvprobe exits               HC_STATS_EXITS: print "hlt H mwait M all A", the HLT exits, MWAIT exits
 *                               and all VM exits so far (the idle tests take the difference)
 *   hvprobe readphys ADDR LEN   map /dev/mem at ADDR and print LEN bytes ('.' for unprintables)
 *   hvprobe gro IFACE on|off    switch the interface's GRO (ethtool -K IFACE gro; busybox has no
 *                               ethtool): the absorbed napi_gro_receive needs it off (make bench)
 *   hvprobe hwcr VALUE          write HWCR (MSR C001_0015h) and read it back, at CPL 0 through the
 *                               gcpu module (loaded if needed), which prints "gcpu: hwcr ..."
 *   hvprobe invd                execute INVD at CPL 0 through gcpu, which prints "gcpu: invd ..."
 *   hvprobe ipi xapic|x2apic ICR  write the 64-bit interrupt command ICR (hex) to the local APIC's
 *                               ICR at CPL 0 through gcpu (xAPIC page or MSR 830h): "gcpu: ipi ..."
 *                               (both are CPL-0 instructions: from here they would only #GP)
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define HC_TEST_CANARY 0x50530001ul

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
    fprintf(stderr, "usage: hvprobe canary | hypercall NR | mark LABEL | exits | readphys ADDR LEN | gro IFACE on|off"
                    " | hwcr VALUE | invd | ipi xapic|x2apic ICR\n");
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
    if (argc == 4 && !strcmp(argv[1], "gro") && (!strcmp(argv[3], "on") || !strcmp(argv[3], "off")))
        return set_gro(argv[2], !strcmp(argv[3], "on"));
    if (argc == 3 && !strcmp(argv[1], "hwcr"))
        return gcpu("hwcr", argv[2]);
    if (argc == 2 && !strcmp(argv[1], "invd"))
        return gcpu("invd", "1");
    if (argc == 4 && !strcmp(argv[1], "ipi")) {
        char arg[64];
        snprintf(arg, sizeof(arg), "%s %s", argv[2], argv[3]);
        return gcpu("ipi", arg);
    }
    return usage();
}
