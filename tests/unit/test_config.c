/* UNIT-SOURCES: boot/config.c drivers/pci/pci_enum.c hv/lib/fmt.c */
/* The postern.cfg parser: a good file, defaults, and every error it reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/config.h"

static struct postern_config cfg;
static char err[CONFIG_ERR_MAX];

static int parse(const char *text)
{
    memset(err, 'X', sizeof(err));
    return config_parse(text, strlen(text), &cfg, err, sizeof(err));
}

/* Parses text, expects failure with exactly this message. */
static void expect_error(const char *text, const char *message)
{
    int r = parse(text);
    if (r != -1 || strcmp(err, message) != 0)
        print_error("input:\n%s\nexpected: %s\ngot (%d): %s\n", text, message, r, err);
    assert_int_equal(r, -1);
    assert_string_equal(err, message);
}

#define MINIMAL "kernel = /postern/vmlinuz\nguest_ram = 512M\n"

static void test_good_config(void **state)
{
    const char *text = "# Postern test machine\n"
                       "\n"
                       "kernel    = /postern/vmlinuz\n"
                       "initrd=/postern/initrd.img\n"
                       "cmdline = console=ttyS0,115200 root=/dev/ram0 quiet  \n"
                       "\tguest_ram\t=\t1G\t\n"
                       "hv_memory = 128M\n"
                       "serial_port = 0x2F8\n"
                       "serial_baud = 57600\n"
                       "   # an indented comment\n"
                       "gmeta = /postern/e1000.gmeta\n"
                       "gmeta = /postern/Other Name.gmeta\n";

    assert_int_equal(parse(text), 0);
    assert_string_equal(err, "");
    assert_string_equal(cfg.kernel, "/postern/vmlinuz");
    assert_string_equal(cfg.initrd, "/postern/initrd.img");
    assert_string_equal(cfg.cmdline, "console=ttyS0,115200 root=/dev/ram0 quiet");
    assert_true(cfg.guest_ram == GiB(1));
    assert_true(cfg.hv_memory == MiB(128));
    assert_int_equal(cfg.serial_port, 0x2f8);
    assert_int_equal(cfg.serial_baud, 57600);
    assert_int_equal(cfg.gmeta_count, 2);
    assert_string_equal(cfg.gmeta[0], "/postern/e1000.gmeta");
    assert_string_equal(cfg.gmeta[1], "/postern/Other Name.gmeta");
}

#define BASE "kernel = /k\nguest_ram = 64M\n"

static void test_bindings(void **state)
{
    assert_int_equal(parse(BASE "bind = testmod test\nbind = e1000 nic\nbind = e1000 idle\n"), 0);
    assert_int_equal(cfg.binding_count, 3);
    assert_string_equal(cfg.bindings[0].module, "testmod");
    assert_string_equal(cfg.bindings[0].privilege, "test");
    assert_string_equal(cfg.bindings[2].module, "e1000");
    assert_string_equal(cfg.bindings[2].privilege, "idle");
    assert_int_equal(parse(BASE "bind =   m.x_1    p-2  \n"), 0);
    assert_string_equal(cfg.bindings[0].module, "m.x_1");
    assert_string_equal(cfg.bindings[0].privilege, "p-2");
}

static void test_binding_errors(void **state)
{
    expect_error(BASE "bind = testmod\n", "postern.cfg:3: bind needs 'MODULE PRIVILEGE', got 'testmod'");
    expect_error(BASE "bind = a b c\n", "postern.cfg:3: bind needs 'MODULE PRIVILEGE', got 'a b c'");
    expect_error(BASE "bind = testmod NIC\n", "postern.cfg:3: bad privilege name 'NIC' ([a-z0-9_-], max 31)");
    expect_error(BASE "bind = testmod test\nbind = testmod test\n", "postern.cfg:4: duplicate bind 'testmod test'");
    expect_error(BASE "bind = m 0123456789012345678901234567890123\n",
                 "postern.cfg:3: bad privilege name '0123456789012345678901234567890123' ([a-z0-9_-], max 31)");
    expect_error(BASE "bind = m2345678901234567890123456789012345678901234567890123456 p\n",
                 "postern.cfg:3: bad module name 'm234567890123456789012345678901234567890...' "
                 "(printable, no spaces, max 55)"); /* long values are quoted shortened */
    char text[2048] = BASE;
    for (int i = 0; i <= BOOT_MAX_BINDINGS; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "bind = m%d p\n", i);
    expect_error(text, "postern.cfg:67: too many bind entries (max 64)");
}

static void test_pci_policy_keys(void **state)
{
    assert_int_equal(parse(BASE), 0);
    assert_false(cfg.guarded_nic_set);
    assert_string_equal(cfg.guarded_nic_privilege, "nic");
    assert_int_equal(cfg.iommu_mode, BOOT_IOMMU_AUTO);
    assert_int_equal(parse(BASE
                           "guarded_nic = 8086:100e\npci_hide = 00:1f.2\npci_hide = 1af4:1000\niommu = required\n"),
                     0);
    assert_true(cfg.guarded_nic_set);
    assert_false(cfg.guarded_nic.by_bdf);
    assert_int_equal(cfg.guarded_nic.vendor, 0x8086);
    assert_int_equal(cfg.guarded_nic.device, 0x100e);
    assert_string_equal(cfg.guarded_nic_privilege, "nic");
    assert_int_equal(cfg.pci_hide_count, 2);
    assert_true(cfg.pci_hide[0].by_bdf);
    assert_int_equal(cfg.pci_hide[0].bdf, (0 << 8) | (0x1f << 3) | 2);
    assert_int_equal(cfg.pci_hide[1].vendor, 0x1af4);
    assert_int_equal(cfg.iommu_mode, BOOT_IOMMU_REQUIRED);
    assert_int_equal(parse(BASE "guarded_nic =  00:03.0   net-1 \niommu = off\n"), 0);
    assert_true(cfg.guarded_nic.by_bdf);
    assert_int_equal(cfg.guarded_nic.bdf, 3 << 3);
    assert_string_equal(cfg.guarded_nic_privilege, "net-1");
    assert_int_equal(cfg.iommu_mode, BOOT_IOMMU_OFF);
    assert_int_equal(cfg.guarded_more_count, 0);
    /* more guarded_nic lines: further guarded devices, each with its privilege (default nic) */
    assert_int_equal(parse(BASE "guarded_nic = 10ec:8139\nguarded_nic = 10ec:8139\nguarded_nic = 00:05.0 disk\n"), 0);
    assert_int_equal(cfg.guarded_nic.vendor, 0x10ec);
    assert_string_equal(cfg.guarded_nic_privilege, "nic");
    assert_int_equal(cfg.guarded_more_count, 2);
    assert_int_equal(cfg.guarded_more[0].dev.device, 0x8139);
    assert_string_equal(cfg.guarded_more[0].privilege, "nic");
    assert_true(cfg.guarded_more[1].dev.by_bdf);
    assert_int_equal(cfg.guarded_more[1].dev.bdf, 5 << 3);
    assert_string_equal(cfg.guarded_more[1].privilege, "disk");
}

static void test_pci_policy_errors(void **state)
{
    expect_error(BASE "guarded_nic = eth0\n", "postern.cfg:3: guarded_nic device 'eth0' is not a PCI device (expected "
                                              "bus:device.function like 00:03.0, or vendor:device like 8086:100e)");
    expect_error(BASE "guarded_nic = 8086:100e nic extra\n",
                 "postern.cfg:3: guarded_nic needs 'DEVICE [PRIVILEGE]', got '8086:100e nic extra'");
    expect_error(BASE "guarded_nic = 8086:100e NIC\n", "postern.cfg:3: bad privilege name 'NIC' ([a-z0-9_-], max 31)");
    expect_error(BASE "guarded_nic = 00:20.0\n",
                 "postern.cfg:3: guarded_nic device '00:20.0' is not a PCI device (expected bus:device.function like "
                 "00:03.0, or vendor:device like 8086:100e)");
    {
        char text[2048] = BASE;
        for (int i = 0; i < BOOT_MAX_GUARDED_MORE + 2; i++)
            snprintf(text + strlen(text), sizeof(text) - strlen(text), "guarded_nic = 00:%02x.0\n", i);
        expect_error(text, "postern.cfg:19: too many guarded_nic lines (max 16)");
    }
    expect_error(BASE "pci_hide = 00:03.0x\n", "postern.cfg:3: pci_hide '00:03.0x' is not a PCI device (expected "
                                               "bus:device.function like 00:03.0, or vendor:device like 8086:100e)");
    expect_error(BASE "iommu = yes\n", "postern.cfg:3: iommu 'yes' is not one of auto, required, off");
    {
        char text[1024] = BASE;
        for (int i = 0; i < 9; i++)
            snprintf(text + strlen(text), sizeof(text) - strlen(text), "pci_hide = 00:%02x.0\n", i);
        expect_error(text, "postern.cfg:11: too many pci_hide entries (max 8)");
    }
}

/* The two keys of signed metadata (docs/boot.md, docs/gmeta.md). */
static void test_signature_keys(void **state)
{
    assert_int_equal(parse(BASE), 0);
    assert_string_equal(cfg.admin_key, "");
    assert_int_equal(cfg.sig_policy, BOOT_SIG_REQUIRED); /* the default */
    assert_int_equal(parse(BASE "admin_key = /postern/admin.pub\nmetadata_signatures = hash-only\n"), 0);
    assert_string_equal(cfg.admin_key, "/postern/admin.pub");
    assert_int_equal(cfg.sig_policy, BOOT_SIG_HASH_ONLY);
    assert_int_equal(parse(BASE "metadata_signatures = required\n"), 0);
    assert_int_equal(cfg.sig_policy, BOOT_SIG_REQUIRED);
    expect_error(BASE "metadata_signatures = off\n",
                 "postern.cfg:3: metadata_signatures 'off' is not one of required, hash-only");
    expect_error(BASE "metadata_signatures = Required\n",
                 "postern.cfg:3: metadata_signatures 'Required' is not one of required, hash-only");
    expect_error(BASE "admin_key = admin.pub\n",
                 "postern.cfg:3: admin_key path 'admin.pub' must start with '/' (a path on the ESP)");
    expect_error(BASE "admin_key = /a.pub\nadmin_key = /b.pub\n",
                 "postern.cfg:4: duplicate key 'admin_key' (first set on line 3)");
    expect_error(BASE "metadata_signatures = required\nmetadata_signatures = hash-only\n",
                 "postern.cfg:4: duplicate key 'metadata_signatures' (first set on line 3)");
}

/* border = npt | wrappers (docs/border-control.md, "The border in the nested page tables"). */
static void test_border_key(void **state)
{
    assert_int_equal(parse(BASE), 0);
    assert_true(cfg.border_npt); /* the default */
    assert_int_equal(parse(BASE "border = wrappers\n"), 0);
    assert_false(cfg.border_npt);
    assert_int_equal(parse(BASE "border = npt\n"), 0);
    assert_true(cfg.border_npt);
    expect_error(BASE "border = ept\n", "postern.cfg:3: border 'ept' is not one of npt, wrappers");
    expect_error(BASE "border = npt\nborder = wrappers\n",
                 "postern.cfg:4: duplicate key 'border' (first set on line 3)");
}

static void test_defaults(void **state)
{
    assert_int_equal(parse(MINIMAL), 0);
    assert_string_equal(cfg.initrd, "");
    assert_string_equal(cfg.cmdline, "");
    assert_true(cfg.guest_ram == MiB(512));
    assert_true(cfg.hv_memory == CONFIG_HV_MEMORY_DEFAULT);
    assert_int_equal(cfg.serial_port, 0x3f8);
    assert_int_equal(cfg.serial_baud, 115200);
    assert_int_equal(cfg.gmeta_count, 0);
}

static void test_no_trailing_newline(void **state)
{
    assert_int_equal(parse("guest_ram = 64M\nkernel = /k"), 0);
    assert_string_equal(cfg.kernel, "/k");
    assert_true(cfg.guest_ram == MiB(64));
}

static void test_crlf_and_bom(void **state)
{
    assert_int_equal(parse("\xef\xbb\xbf# windows\r\nkernel = /EFI/postern/bzImage\r\n\r\nguest_ram = 2G\r\n"
                           "cmdline = quiet\r\n"),
                     0);
    assert_string_equal(cfg.kernel, "/EFI/postern/bzImage");
    assert_string_equal(cfg.cmdline, "quiet");
    assert_true(cfg.guest_ram == GiB(2));
    /* A bare CR inside a line is not a line ending. */
    expect_error("kernel = /k\rguest_ram = 64M\n",
                 "postern.cfg:1: invalid character 0x0d (postern.cfg is plain ASCII)");
}

static void test_comments_and_blank_lines(void **state)
{
    assert_int_equal(parse("#kernel = /wrong\n   \n\t\n" MINIMAL "# end"), 0);
    assert_string_equal(cfg.kernel, "/postern/vmlinuz");
    /* '#' inside a value is literal, so a trailing comment on a size is an error. */
    expect_error("kernel = /k\nguest_ram = 64M # RAM\n",
                 "postern.cfg:2: malformed size '64M # RAM' for guest_ram (expected a number with an optional K, M or "
                 "G suffix, e.g. 512M)");
}

static void test_sizes(void **state)
{
    assert_int_equal(parse("kernel = /k\nguest_ram = 65536k\nhv_memory = 16384K\n"), 0);
    assert_true(cfg.guest_ram == MiB(64));
    assert_true(cfg.hv_memory == MiB(16));
    assert_int_equal(parse("kernel = /k\nguest_ram = 134217728\nhv_memory = 1g\n"), 0);
    assert_true(cfg.guest_ram == MiB(128));
    assert_true(cfg.hv_memory == GiB(1));
    assert_int_equal(parse("kernel = /k\nguest_ram = 1024G\n"), 0);
    assert_true(cfg.guest_ram == GiB(1024));
}

static void test_malformed_size(void **state)
{
    expect_error("kernel = /k\nguest_ram = abc\n", "postern.cfg:2: malformed size 'abc' for guest_ram (expected a "
                                                   "number with an optional K, M or G suffix, e.g. 512M)");
    expect_error("kernel = /k\nguest_ram = 512 M\n", "postern.cfg:2: malformed size '512 M' for guest_ram (expected a "
                                                     "number with an optional K, M or G suffix, e.g. 512M)");
    expect_error("kernel = /k\nguest_ram = M\n", "postern.cfg:2: malformed size 'M' for guest_ram (expected a number "
                                                 "with an optional K, M or G suffix, e.g. 512M)");
    expect_error("kernel = /k\nguest_ram = 512MB\n", "postern.cfg:2: malformed size '512MB' for guest_ram (expected a "
                                                     "number with an optional K, M or G suffix, e.g. 512M)");
    expect_error("kernel = /k\nguest_ram = -64M\n", "postern.cfg:2: malformed size '-64M' for guest_ram (expected a "
                                                    "number with an optional K, M or G suffix, e.g. 512M)");
    expect_error("kernel = /k\nguest_ram = 512M\nhv_memory = 0x1000000\n",
                 "postern.cfg:3: malformed size '0x1000000' for hv_memory (expected a number with an optional K, M or "
                 "G suffix, e.g. 512M)");
}

static void test_oversized(void **state)
{
    expect_error("kernel = /k\nguest_ram = 1026G\n", "postern.cfg:2: guest_ram '1026G' is too large (max 1024G)");
    expect_error("kernel = /k\nguest_ram = 99999999999999999999999999G\n",
                 "postern.cfg:2: guest_ram '99999999999999999999999999G' is too large (max 1024G)");
    expect_error("kernel = /k\nguest_ram = 64M\nhv_memory = 18446744073709551616\n",
                 "postern.cfg:3: hv_memory '18446744073709551616' is too large (max 1024G)");
}

static void test_undersized(void **state)
{
    expect_error("kernel = /k\nguest_ram = 62M\n", "postern.cfg:2: guest_ram '62M' is too small (min 64M)");
    expect_error("kernel = /k\nguest_ram = 0\n", "postern.cfg:2: guest_ram '0' is too small (min 64M)");
    expect_error("kernel = /k\nguest_ram = 64M\nhv_memory = 15M\n",
                 "postern.cfg:3: hv_memory '15M' is too small (min 16M)");
}

static void test_misaligned(void **state)
{
    expect_error("kernel = /k\nguest_ram = 65M\n", "postern.cfg:2: guest_ram '65M' is not a multiple of 2M");
    expect_error("kernel = /k\nguest_ram = 66560K\n", "postern.cfg:2: guest_ram '66560K' is not a multiple of 2M");
    expect_error("kernel = /k\nguest_ram = 64M\nhv_memory = 16385K\n",
                 "postern.cfg:3: hv_memory '16385K' is not a multiple of 4K");
}

static void test_serial_port(void **state)
{
    assert_int_equal(parse(MINIMAL "serial_port = 760\n"), 0);
    assert_int_equal(cfg.serial_port, 0x2f8);
    assert_int_equal(parse(MINIMAL "serial_port = 0xfff8\n"), 0);
    assert_int_equal(cfg.serial_port, 0xfff8);
    assert_int_equal(parse(MINIMAL "serial_port = 1\n"), 0);
    assert_int_equal(cfg.serial_port, 1);
    expect_error(MINIMAL "serial_port = 0\n", "postern.cfg:3: serial_port '0' is out of range (0x1..0xfff8)");
    expect_error(MINIMAL "serial_port = 0xfff9\n", "postern.cfg:3: serial_port '0xfff9' is out of range (0x1..0xfff8)");
    expect_error(MINIMAL "serial_port = 0x100000000000000000000\n",
                 "postern.cfg:3: serial_port '0x100000000000000000000' is out of range (0x1..0xfff8)");
    expect_error(MINIMAL "serial_port = COM1\n",
                 "postern.cfg:3: malformed number 'COM1' for serial_port (expected e.g. 0x3f8 or 1016)");
    expect_error(MINIMAL "serial_port = 0x\n",
                 "postern.cfg:3: malformed number '0x' for serial_port (expected e.g. 0x3f8 or 1016)");
    expect_error(MINIMAL "serial_port = 0x3g8\n",
                 "postern.cfg:3: malformed number '0x3g8' for serial_port (expected e.g. 0x3f8 or 1016)");
}

/* serial = io:PORT | auto (docs/boot.md); serial_port stays the older spelling of io:PORT. */
static void test_serial_key(void **state)
{
    assert_int_equal(parse(MINIMAL "serial = io:0x2f8\n"), 0);
    assert_int_equal(cfg.serial_port, 0x2f8);
    assert_false(cfg.serial_auto);
    assert_int_equal(cfg.serial_baud, 115200);
    assert_false(cfg.serial_baud_set);
    assert_int_equal(parse(MINIMAL "serial = io:1016\nserial_baud = 9600\n"), 0);
    assert_int_equal(cfg.serial_port, 0x3f8);
    assert_int_equal(cfg.serial_baud, 9600);
    assert_true(cfg.serial_baud_set);
    assert_int_equal(parse(MINIMAL "serial = auto\n"), 0);
    assert_true(cfg.serial_auto);
    assert_int_equal(cfg.serial_port, 0x3f8); /* until the loader reads SPCR */
    assert_int_equal(parse(MINIMAL), 0);
    assert_false(cfg.serial_auto);
    assert_false(cfg.serial_set);
    expect_error(MINIMAL "serial = io:0\n", "postern.cfg:3: serial io:PORT '0' is out of range (0x1..0xfff8)");
    expect_error(MINIMAL "serial = io:0x10000\n",
                 "postern.cfg:3: serial io:PORT '0x10000' is out of range (0x1..0xfff8)");
    expect_error(MINIMAL "serial = io:COM2\n",
                 "postern.cfg:3: malformed number 'COM2' for serial io:PORT (expected e.g. 0x3f8 or 1016)");
    expect_error(MINIMAL "serial = io:\n", "postern.cfg:3: serial 'io:' is not io:PORT (e.g. io:0x2f8), mmio8:ADDR, "
                                           "mmio32:ADDR, pci BB:DD.F or auto");
    expect_error(MINIMAL "serial = 0x2f8\n", "postern.cfg:3: serial '0x2f8' is not io:PORT (e.g. io:0x2f8), "
                                             "mmio8:ADDR, mmio32:ADDR, pci BB:DD.F or auto");
    expect_error(MINIMAL "serial = Auto\n", "postern.cfg:3: serial 'Auto' is not io:PORT (e.g. io:0x2f8), mmio8:ADDR, "
                                            "mmio32:ADDR, pci BB:DD.F or auto");
    expect_error(MINIMAL "serial = auto\nserial_port = 0x3f8\n",
                 "postern.cfg:4: serial and serial_port both name the UART: keep one (serial = io:PORT is the same as "
                 "serial_port = PORT)");
    expect_error(MINIMAL "serial_port = 0x3f8\nserial = io:0x2f8\n",
                 "postern.cfg:4: serial and serial_port both name the UART: keep one (serial = io:PORT is the same as "
                 "serial_port = PORT)");
    expect_error(MINIMAL "serial = auto\nserial = io:0x2f8\n",
                 "postern.cfg:4: duplicate key 'serial' (first set on line 3)");
}

/* serial = mmio32:ADDR | mmio8:ADDR | mmio:ADDR: a memory-mapped 16550 (AMD's FCH UART, a BMC's
 * virtual UART), its registers 4 bytes apart with 32-bit accesses, or byte registers. */
static void test_serial_mmio(void **state)
{
    assert_int_equal(parse(MINIMAL "serial = mmio32:0xfedc9000\n"), 0);
    assert_int_equal(cfg.serial_space, UART_MMIO32);
    assert_int_equal(cfg.serial_mmio, 0xfedc9000ull);
    assert_false(cfg.serial_auto);
    assert_false(cfg.serial_pci);
    assert_int_equal(parse(MINIMAL "serial = mmio8:0xfe000000\nserial_baud = 57600\n"), 0);
    assert_int_equal(cfg.serial_space, UART_MMIO8);
    assert_int_equal(cfg.serial_mmio, 0xfe000000ull);
    assert_int_equal(cfg.serial_baud, 57600);
    assert_int_equal(parse(MINIMAL "serial = mmio:0x3fe001003\n"), 0); /* byte registers: any address */
    assert_int_equal(cfg.serial_space, UART_MMIO8);
    assert_int_equal(cfg.serial_mmio, 0x3fe001003ull);
    assert_int_equal(parse(MINIMAL "serial = io:0x2f8\n"), 0);
    assert_int_equal(cfg.serial_space, UART_IO);
    assert_int_equal(parse(MINIMAL), 0);
    assert_int_equal(cfg.serial_space, UART_IO);
    expect_error(MINIMAL "serial = mmio32:0xfedc9002\n", "postern.cfg:3: serial 'mmio32:0xfedc9002': the address must "
                                                         "be non-zero, 4-byte aligned and below 2^52");
    expect_error(MINIMAL "serial = mmio32:0\n",
                 "postern.cfg:3: serial 'mmio32:0': the address must be non-zero, 4-byte aligned and below 2^52");
    expect_error(MINIMAL "serial = mmio8:0x10000000000000\n",
                 "postern.cfg:3: serial 'mmio8:0x10000000000000': the address must be non-zero and below 2^52");
    expect_error(MINIMAL "serial = mmio32:fedc9000\n", "postern.cfg:3: malformed address 'fedc9000' for serial "
                                                       "'mmio32:fedc9000' (expected e.g. mmio32:0xfedc9000)");
    expect_error(MINIMAL "serial = mmio32:\n", "postern.cfg:3: serial 'mmio32:' is not io:PORT (e.g. io:0x2f8), "
                                               "mmio8:ADDR, mmio32:ADDR, pci BB:DD.F or auto");
    expect_error(MINIMAL "serial = mmio16:0xfe000000\n",
                 "postern.cfg:3: serial 'mmio16:0xfe000000' is not io:PORT (e.g. "
                 "io:0x2f8), mmio8:ADDR, mmio32:ADDR, pci BB:DD.F or auto");
    expect_error(MINIMAL "serial_port = 0x3f8\nserial = mmio32:0xfedc9000\n",
                 "postern.cfg:4: serial and serial_port both name the UART: keep one (serial = io:PORT is the same as "
                 "serial_port = PORT)");
}

/* serial = pci BB:DD.F: the loader takes that function's I/O BAR 0 and hides the function. */
static void test_serial_pci(void **state)
{
    assert_int_equal(parse(MINIMAL "serial = pci 00:16.3\n"), 0);
    assert_true(cfg.serial_pci);
    assert_false(cfg.serial_auto);
    assert_int_equal(cfg.serial_pci_bdf, 0x00b3);
    assert_int_equal(parse(MINIMAL "serial = pci   c1:1f.7\n"), 0);
    assert_int_equal(cfg.serial_pci_bdf, 0xc1ff);
    assert_int_equal(parse(MINIMAL "serial = io:0x2f8\n"), 0);
    assert_false(cfg.serial_pci);
    static const char *bad[] = { "pci 8086:9d3d", "pci 00:20.0",           "pci 00:16.8", "pci 0:16.3",
                                 "pci 00:16.3 x", "pci 00:16.3.1.2.3.4.5", "pci 100:00.0" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128], msg[160];
        snprintf(text, sizeof(text), MINIMAL "serial = %s\n", bad[i]);
        snprintf(msg, sizeof(msg),
                 "postern.cfg:3: serial '%s': expected pci BB:DD.F (hex bus:device.function, e.g. pci 03:00.0)",
                 bad[i]);
        expect_error(text, msg);
    }
    expect_error(MINIMAL "serial = pci \n", "postern.cfg:3: serial 'pci' is not io:PORT (e.g. io:0x2f8), mmio8:ADDR, "
                                            "mmio32:ADDR, pci BB:DD.F or auto");
    expect_error(MINIMAL "serial = pci 00:16.3\nserial_port = 0x3f8\n",
                 "postern.cfg:4: serial and serial_port both name the UART: keep one (serial = io:PORT is the same as "
                 "serial_port = PORT)");
}

static void test_serial_baud(void **state)
{
    static const unsigned good[] = { 9600, 19200, 38400, 57600, 115200 };
    char text[128];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), MINIMAL "serial_baud = %u\n", good[i]);
        assert_int_equal(parse(text), 0);
        assert_int_equal(cfg.serial_baud, good[i]);
    }
    expect_error(MINIMAL "serial_baud = 14400\n",
                 "postern.cfg:3: serial_baud '14400' is not one of 9600, 19200, 38400, 57600, 115200");
    expect_error(MINIMAL "serial_baud = fast\n",
                 "postern.cfg:3: serial_baud 'fast' is not one of 9600, 19200, 38400, 57600, 115200");
    expect_error(MINIMAL "serial_baud = 0x1c200\n",
                 "postern.cfg:3: serial_baud '0x1c200' is not one of 9600, 19200, 38400, 57600, 115200");
    expect_error(MINIMAL "serial_baud = 0115200\n",
                 "postern.cfg:3: serial_baud '0115200' is not one of 9600, 19200, 38400, 57600, 115200");
}

static void test_unknown_key(void **state)
{
    expect_error(MINIMAL "foo = bar\n", "postern.cfg:3: unknown key 'foo'");
    expect_error("Kernel = /k\n", "postern.cfg:1: unknown key 'Kernel'");
    expect_error("guest ram = 64M\n", "postern.cfg:1: unknown key 'guest ram'");
}

static void test_duplicate_key(void **state)
{
    expect_error(MINIMAL "\nkernel = /other\n", "postern.cfg:4: duplicate key 'kernel' (first set on line 1)");
    expect_error(MINIMAL "serial_baud = 9600\nserial_baud = 9600\n",
                 "postern.cfg:4: duplicate key 'serial_baud' (first set on line 3)");
}

static void test_gmeta_limit(void **state)
{
    char text[4096] = MINIMAL;

    for (int i = 0; i < BOOT_MAX_GMETA; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "gmeta = /postern/g%d.gmeta\n", i);
    assert_int_equal(parse(text), 0);
    assert_int_equal(cfg.gmeta_count, BOOT_MAX_GMETA);
    assert_string_equal(cfg.gmeta[BOOT_MAX_GMETA - 1], "/postern/g63.gmeta");
    strcat(text, "gmeta = /postern/one-too-many.gmeta\n");
    expect_error(text, "postern.cfg:67: too many gmeta entries (max 64)");
}

static void test_line_too_long(void **state)
{
    size_t n = 2 + CONFIG_LINE_MAX + 2;
    char *text = malloc(n + 64);

    /* Exactly CONFIG_LINE_MAX characters is fine (a comment here)... */
    strcpy(text, MINIMAL "#");
    memset(text + strlen(text), 'c', CONFIG_LINE_MAX - 1);
    text[strlen(MINIMAL) + CONFIG_LINE_MAX] = 0;
    strcat(text, "\r\n");
    assert_int_equal(parse(text), 0);
    /* ...one more is not. */
    text[strlen(MINIMAL) + CONFIG_LINE_MAX] = 'c';
    text[strlen(MINIMAL) + CONFIG_LINE_MAX + 1] = '\n';
    text[strlen(MINIMAL) + CONFIG_LINE_MAX + 2] = 0;
    expect_error(text, "postern.cfg:3: line too long (max 4096 characters)");
    free(text);
}

static void test_cmdline_length(void **state)
{
    char text[BOOT_CMDLINE_MAX + 128];
    size_t base;

    strcpy(text, MINIMAL "cmdline = ");
    base = strlen(text);
    memset(text + base, 'a', BOOT_CMDLINE_MAX - 1);
    text[base + BOOT_CMDLINE_MAX - 1] = 0;
    assert_int_equal(parse(text), 0);
    assert_int_equal(strlen(cfg.cmdline), BOOT_CMDLINE_MAX - 1);
    text[base + BOOT_CMDLINE_MAX - 1] = 'a';
    text[base + BOOT_CMDLINE_MAX] = 0;
    expect_error(text, "postern.cfg:3: cmdline is too long (2048 bytes, max 2047)");
}

static void test_missing_equals(void **state)
{
    expect_error(MINIMAL "initrd /postern/initrd\n",
                 "postern.cfg:3: expected 'key = value', got 'initrd /postern/initrd'");
    expect_error("= /k\n", "postern.cfg:1: missing key before '='");
}

static void test_missing_required(void **state)
{
    expect_error("guest_ram = 64M\n", "postern.cfg: missing required key 'kernel'");
    assert_int_equal(parse("kernel = /k\n"), 0); /* guest_ram is optional: all of the machine's RAM */
    assert_true(cfg.guest_ram == 0);
    expect_error("", "postern.cfg: missing required key 'kernel'");
    expect_error("# nothing\n\n", "postern.cfg: missing required key 'kernel'");
}

static void test_empty_value(void **state)
{
    expect_error("kernel =\n", "postern.cfg:1: empty value for 'kernel'");
    expect_error(MINIMAL "cmdline =   \t\n", "postern.cfg:3: empty value for 'cmdline'");
    expect_error(MINIMAL "initrd=\r\n", "postern.cfg:3: empty value for 'initrd'");
}

static void test_bad_paths(void **state)
{
    char text[512];

    expect_error("kernel = vmlinuz\n", "postern.cfg:1: kernel path 'vmlinuz' must start with '/' (a path on the ESP)");
    expect_error("kernel = \\EFI\\vmlinuz\n",
                 "postern.cfg:1: kernel path '\\EFI\\vmlinuz' must start with '/' (a path on the ESP)");
    expect_error("kernel = /EFI\\vmlinuz\n",
                 "postern.cfg:1: kernel path '/EFI\\vmlinuz' contains a character FAT does not allow: '\\'");
    expect_error(MINIMAL "initrd = /postern/\n", "postern.cfg:3: initrd path '/postern/' has an empty component");
    expect_error(MINIMAL "initrd = //initrd\n", "postern.cfg:3: initrd path '//initrd' has an empty component");
    expect_error(MINIMAL "gmeta = /a*b\n",
                 "postern.cfg:3: gmeta path '/a*b' contains a character FAT does not allow: '*'");
    expect_error(MINIMAL "gmeta = /a\tb\n", "postern.cfg:3: gmeta path '/a\tb' contains a tab");
    expect_error("kernel = /k\xc3\xa9\n", "postern.cfg:1: invalid character 0xc3 (postern.cfg is plain ASCII)");
    expect_error("guest_ram = 64M\0kernel = /k\n",
                 "postern.cfg: missing required key 'kernel'"); /* strlen stops at NUL */
    assert_int_equal(config_parse("kernel = /k\0x\nguest_ram = 64M\n", 28, &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "postern.cfg:1: invalid character 0x00 (postern.cfg is plain ASCII)");

    /* BOOT_NAME_MAX - 1 characters fit, one more does not. */
    strcpy(text, "guest_ram = 64M\nkernel = /");
    memset(text + strlen(text), 'k', BOOT_NAME_MAX - 2);
    text[strlen("guest_ram = 64M\nkernel = ") + BOOT_NAME_MAX - 1] = 0;
    assert_int_equal(parse(text), 0);
    assert_int_equal(strlen(cfg.kernel), BOOT_NAME_MAX - 1);
    strcat(text, "k");
    expect_error(text, "postern.cfg:2: kernel path is too long (128 characters, max 127)");
}

static void test_long_value_quoted_short(void **state)
{
    expect_error("kernel = /k\nguest_ram = 0123456789012345678901234567890123456789012345678901234567890123456789x\n",
                 "postern.cfg:2: malformed size '0123456789012345678901234567890123456789...' for guest_ram (expected "
                 "a number with an optional K, M or G suffix, e.g. 512M)");
}

static void test_small_err_buffer(void **state)
{
    char small[16];

    memset(small, 'X', sizeof(small));
    assert_int_equal(config_parse("foo = 1\n", 8, &cfg, small, sizeof(small)), -1);
    assert_string_equal(small, "postern.cfg:1: ");
    assert_int_equal(config_parse("foo = 1\n", 8, &cfg, NULL, 0), -1);
    /* Success clears err. */
    assert_int_equal(config_parse(MINIMAL, strlen(MINIMAL), &cfg, small, sizeof(small)), 0);
    assert_string_equal(small, "");
}

/* ---- docs/boot.md's key table and the parser's keys ---- */

#define DOC_PATH     "docs/boot.md" /* tests run from the top of the tree */
#define DOC_KEYS_MAX 64

/* The first column of the table under "## postern.cfg" whose header starts "| key |": the names
 * between backticks. Returns how many, or -1 (with a message) when the table is not found. */
static int doc_keys(char names[][64], int max)
{
    FILE *f = fopen(DOC_PATH, "r");
    char line[4096];
    bool in_section = false, in_table = false;
    int n = 0;

    if (!f) {
        print_error("cannot open %s (the unit tests run from the top of the tree)\n", DOC_PATH);
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "## ", 3) == 0) {
            if (in_section)
                break;
            in_section = strncmp(line, "## postern.cfg", 14) == 0;
            continue;
        }
        if (!in_section)
            continue;
        if (!in_table) {
            in_table = strncmp(line, "| key |", 7) == 0;
            continue;
        }
        if (line[0] != '|')
            break; /* the table ends at its first non-row line */
        if (strncmp(line, "|---", 4) == 0)
            continue;
        const char *p = line + 1, *end = strchr(p, '|');
        while (*p == ' ')
            p++;
        if (!end || *p != '`' || n == max) {
            print_error("%s: a row of the key table without a `key` in its first cell: %s", DOC_PATH, line);
            fclose(f);
            return -1;
        }
        const char *q = strchr(p + 1, '`');
        if (!q || q > end || q - p - 1 >= 64) {
            print_error("%s: unterminated key in: %s", DOC_PATH, line);
            fclose(f);
            return -1;
        }
        memcpy(names[n], p + 1, (size_t)(q - p - 1));
        names[n][q - p - 1] = 0;
        n++;
    }
    fclose(f);
    if (!in_table)
        print_error("%s: no table with a '| key |' header under '## postern.cfg'\n", DOC_PATH);
    return in_table ? n : -1;
}

/* The commented config `make usb` puts on the stick (tools/postern-usb.cfg) parses, as a real machine
 * will read it. */
static void test_usb_stick_config(void **state)
{
    FILE *f = fopen("tools/postern-usb.cfg", "r");
    static char text[CONFIG_FILE_MAX];
    size_t n;

    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = 0;
    if (parse(text) != 0)
        print_error("tools/postern-usb.cfg: %s\n", err);
    assert_int_equal(parse(text), 0);
    assert_true(cfg.serial_auto);
    assert_string_equal(cfg.kernel, "/postern/vmlinuz");
    assert_string_equal(cfg.admin_key, "/postern/admin.pub");
    assert_false(cfg.guarded_nic_set); /* a real machine's NIC is the administrator's to name */
}

static void test_doc_lists_every_key(void **state)
{
    char doc[DOC_KEYS_MAX][64];
    int ndoc = doc_keys(doc, DOC_KEYS_MAX), bad = 0;
    const char *k;

    assert_true(ndoc > 0);
    for (size_t i = 0; (k = config_key_name(i)); i++) {
        bool found = false;
        for (int d = 0; d < ndoc; d++)
            found |= strcmp(doc[d], k) == 0;
        if (!found) {
            print_error("key '%s' is accepted by boot/config.c but missing from %s's postern.cfg table\n", k, DOC_PATH);
            bad++;
        }
    }
    for (int d = 0; d < ndoc; d++) {
        bool found = false;
        for (size_t i = 0; (k = config_key_name(i)); i++)
            found |= strcmp(doc[d], k) == 0;
        if (!found) {
            print_error("key '%s' is in %s's postern.cfg table but boot/config.c does not accept it\n", doc[d],
                        DOC_PATH);
            bad++;
        }
        for (int e = 0; e < d; e++)
            if (strcmp(doc[d], doc[e]) == 0) {
                print_error("key '%s' is in %s's postern.cfg table twice\n", doc[d], DOC_PATH);
                bad++;
            }
    }
    assert_int_equal(bad, 0);
}

/* config_key_name lists what the parser accepts: no name in it is an unknown key. */
static void test_key_names_are_the_parsers(void **state)
{
    const char *k;
    char text[128];
    size_t i;

    for (i = 0; (k = config_key_name(i)); i++) {
        snprintf(text, sizeof(text), "%s = ?\n", k);
        parse(text);
        assert_null(strstr(err, "unknown key"));
    }
    assert_true(i >= 15);
    expect_error("nosuch = 1\n", "postern.cfg:1: unknown key 'nosuch'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bindings),
        cmocka_unit_test(test_binding_errors),
        cmocka_unit_test(test_pci_policy_keys),
        cmocka_unit_test(test_pci_policy_errors),
        cmocka_unit_test(test_signature_keys),
        cmocka_unit_test(test_border_key),
        cmocka_unit_test(test_no_trailing_newline),
        cmocka_unit_test(test_crlf_and_bom),
        cmocka_unit_test(test_comments_and_blank_lines),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_malformed_size),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_undersized),
        cmocka_unit_test(test_misaligned),
        cmocka_unit_test(test_serial_port),
        cmocka_unit_test(test_serial_key),
        cmocka_unit_test(test_serial_mmio),
        cmocka_unit_test(test_serial_pci),
        cmocka_unit_test(test_serial_baud),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_gmeta_limit),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_cmdline_length),
        cmocka_unit_test(test_missing_equals),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_empty_value),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_long_value_quoted_short),
        cmocka_unit_test(test_small_err_buffer),
        cmocka_unit_test(test_usb_stick_config),
        cmocka_unit_test(test_doc_lists_every_key),
        cmocka_unit_test(test_key_names_are_the_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
