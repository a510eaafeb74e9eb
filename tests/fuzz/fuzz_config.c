/* FUZZ-SOURCES: boot/config.c drivers/pci/pci_enum.c hv/lib/fmt.c */
/*
 * libFuzzer harness for the postern.cfg parser (boot/config.c): config_parse() on arbitrary text.
 *
 * Always: the return value is 0 or -1 and the error buffer is NUL-terminated; on failure the message
 * starts with "postern.cfg". On acceptance every documented constraint (docs/boot.md) is asserted:
 * kernel path non-empty and starting with '/', paths well-formed, every string NUL-terminated within
 * its field, sizes in range and aligned, counts within limits, bindings well-formed and distinct.
 * Any violation calls abort(), which libFuzzer reports as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/config.h"

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "fuzz_config: invariant violated: %s (line %d)\n", #c, __LINE__);                          \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* NUL-terminated inside a field of `cap` bytes; returns the length. */
static size_t str_in(const char *s, size_t cap)
{
    const char *z = memchr(s, 0, cap);
    CHECK(z != NULL);
    return (size_t)(z - s);
}

static void check_path(const char *p, bool required)
{
    size_t l = str_in(p, BOOT_NAME_MAX);
    if (!required && l == 0)
        return;
    CHECK(l >= 2 && l <= 127);
    CHECK(p[0] == '/');
    CHECK(p[l - 1] != '/');
    CHECK(strstr(p, "//") == NULL);
    for (size_t i = 0; i < l; i++) {
        unsigned char c = (unsigned char)p[i];
        CHECK(c >= 0x20 && c < 0x7f);
        CHECK(strchr("\\\"*:<>?|", c) == NULL);
    }
}

static void check_word(const char *s, size_t cap, size_t max, bool priv)
{
    size_t l = str_in(s, cap);
    CHECK(l >= 1 && l <= max);
    for (size_t i = 0; i < l; i++) {
        unsigned char c = (unsigned char)s[i];
        if (priv)
            CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
        else
            CHECK(c >= 0x21 && c <= 0x7e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > CONFIG_FILE_MAX)
        return 0; /* the loader refuses a bigger file before parsing */
    /* Exact-size heap copy, not NUL-terminated: ASan catches any read past `len`. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);

    static struct postern_config cfg;
    memset(&cfg, 0xa5, sizeof(cfg));
    char err[CONFIG_ERR_MAX];
    memset(err, 'X', sizeof(err));
    int rc = config_parse(text, size, &cfg, err, sizeof(err));
    CHECK(rc == 0 || rc == -1);
    CHECK(memchr(err, 0, sizeof(err)) != NULL);

    /* A tiny error buffer must still be respected (and NUL-terminated). */
    char small[8];
    memset(small, 'X', sizeof(small));
    static struct postern_config cfg2;
    int rc2 = config_parse(text, size, &cfg2, small, 5);
    CHECK(rc2 == rc);
    CHECK(memchr(small, 0, 5) != NULL);
    CHECK(small[5] == 'X' && small[6] == 'X' && small[7] == 'X');

    if (rc != 0) {
        CHECK(strncmp(err, "postern.cfg", 11) == 0);
        free(text);
        return 0;
    }

    check_path(cfg.kernel, true);
    check_path(cfg.initrd, false);
    size_t cl = str_in(cfg.cmdline, BOOT_CMDLINE_MAX);
    CHECK(cl < BOOT_CMDLINE_MAX);
    for (size_t i = 0; i < cl; i++)
        CHECK(cfg.cmdline[i] == '\t' ||
              ((unsigned char)cfg.cmdline[i] >= 0x20 && (unsigned char)cfg.cmdline[i] < 0x7f));

    CHECK(cfg.guest_ram % MiB(2) == 0);
    /* guest_ram is an optional cap (0: all of the machine's RAM) */
    CHECK(cfg.guest_ram == 0 || (cfg.guest_ram >= CONFIG_GUEST_RAM_MIN && cfg.guest_ram <= CONFIG_SIZE_MAX));
    CHECK(cfg.hv_memory % 4096 == 0);
    CHECK(cfg.hv_memory >= CONFIG_HV_MEMORY_MIN && cfg.hv_memory <= CONFIG_SIZE_MAX);
    CHECK(cfg.serial_port >= 1 && cfg.serial_port <= CONFIG_SERIAL_PORT_MAX);
    CHECK(cfg.serial_baud == 9600 || cfg.serial_baud == 19200 || cfg.serial_baud == 38400 || cfg.serial_baud == 57600 ||
          cfg.serial_baud == 115200);

    CHECK(cfg.gmeta_count <= BOOT_MAX_GMETA);
    for (u32 i = 0; i < cfg.gmeta_count; i++)
        check_path(cfg.gmeta[i], true);
    CHECK(cfg.binding_count <= BOOT_MAX_BINDINGS);
    for (u32 i = 0; i < cfg.binding_count; i++) {
        check_word(cfg.bindings[i].module, BOOT_MODULE_NAME_MAX, BOOT_MODULE_NAME_MAX - 1, false);
        check_word(cfg.bindings[i].privilege, BOOT_PRIVILEGE_NAME_MAX, BOOT_PRIVILEGE_NAME_MAX - 1, true);
        for (u32 j = 0; j < i; j++)
            CHECK(strcmp(cfg.bindings[i].module, cfg.bindings[j].module) != 0 ||
                  strcmp(cfg.bindings[i].privilege, cfg.bindings[j].privilege) != 0);
    }

    /* Determinism: parsing the same text again gives the same result. */
    CHECK(strcmp(cfg.kernel, cfg2.kernel) == 0 && cfg.guest_ram == cfg2.guest_ram);
    free(text);
    return 0;
}
