/*
 * The postern.cfg parser. Strict on purpose: a typo must stop the boot with a message naming the
 * line, never silently fall back to a default. Format and keys: docs/boot.md.
 *
 * Freestanding: no libc beyond hv/lib/lib.h's memset; error text is built with the small appenders
 * below rather than a printf.
 */
#include "boot/config.h"
#include "lib/lib.h"

/* ---- error text ---- */

struct errbuf {
    char *buf;
    size_t size;
    size_t len;
};

static void eb_char(struct errbuf *e, char c)
{
    if (e->size && e->len + 1 < e->size) {
        e->buf[e->len++] = c;
        e->buf[e->len] = 0;
    }
}

static void eb_str(struct errbuf *e, const char *s)
{
    while (*s)
        eb_char(e, *s++);
}

static void eb_u64(struct errbuf *e, u64 v)
{
    char digits[20];
    int n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        eb_char(e, digits[--n]);
}

/* A value quoted for a message, shortened so the message stays one readable line. */
#define EB_QUOTE_MAX 40
static void eb_quoted(struct errbuf *e, const char *p, size_t n)
{
    eb_char(e, '\'');
    for (size_t i = 0; i < n && i < EB_QUOTE_MAX; i++)
        eb_char(e, p[i]);
    if (n > EB_QUOTE_MAX)
        eb_str(e, "...");
    eb_char(e, '\'');
}

/* "postern.cfg:LINE: " */
static void eb_line(struct errbuf *e, unsigned line)
{
    eb_str(e, "postern.cfg:");
    eb_u64(e, line);
    eb_str(e, ": ");
}

/* ---- values ---- */

static bool is_space(char c) { return c == ' ' || c == '\t'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool span_is(const char *p, size_t n, const char *word)
{
    size_t i = 0;
    for (; i < n; i++)
        if (word[i] != p[i])
            return false;
    return word[i] == 0;
}

enum parse_result { PARSE_OK, PARSE_MALFORMED, PARSE_TOO_LARGE };

/* Decimal digits, then an optional K, M or G (either case), no space between. */
static enum parse_result parse_size(const char *p, size_t n, u64 *out)
{
    unsigned shift = 0;
    u64 v = 0;
    bool big = false;
    size_t i;

    if (n && (p[n - 1] == 'K' || p[n - 1] == 'k'))
        shift = 10;
    else if (n && (p[n - 1] == 'M' || p[n - 1] == 'm'))
        shift = 20;
    else if (n && (p[n - 1] == 'G' || p[n - 1] == 'g'))
        shift = 30;
    if (shift)
        n--;
    if (n == 0)
        return PARSE_MALFORMED;
    for (i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return PARSE_MALFORMED;
        if (!big) {
            v = v * 10 + (u64)(p[i] - '0');
            if (v > (CONFIG_SIZE_MAX >> shift))
                big = true;
        }
    }
    if (big)
        return PARSE_TOO_LARGE;
    *out = v << shift;
    return PARSE_OK;
}

/* Decimal, or hexadecimal after 0x/0X. Values above limit report PARSE_TOO_LARGE. */
static enum parse_result parse_number(const char *p, size_t n, u64 limit, u64 *out)
{
    unsigned base = 10;
    u64 v = 0;
    bool big = false;

    if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
        n -= 2;
    }
    if (n == 0)
        return PARSE_MALFORMED;
    for (size_t i = 0; i < n; i++) {
        int d = base == 16 ? hex_value(p[i]) : (is_digit(p[i]) ? p[i] - '0' : -1);
        if (d < 0)
            return PARSE_MALFORMED;
        if (!big) {
            v = v * base + (u64)d;
            if (v > limit)
                big = true;
        }
    }
    if (big)
        return PARSE_TOO_LARGE;
    *out = v;
    return PARSE_OK;
}

/* ---- keys ---- */

static const u32 bauds[] = { 9600, 19200, 38400, 57600, 115200 };

/* Values shared by several keys (the key's name is for the message). */

static int set_path(struct errbuf *e, const char *name, const char *v, size_t n, char *dst)
{
    if (v[0] != '/') {
        eb_str(e, name);
        eb_str(e, " path ");
        eb_quoted(e, v, n);
        eb_str(e, " must start with '/' (a path on the ESP)");
        return -1;
    }
    if (n > BOOT_NAME_MAX - 1) {
        eb_str(e, name);
        eb_str(e, " path is too long (");
        eb_u64(e, n);
        eb_str(e, " characters, max ");
        eb_u64(e, BOOT_NAME_MAX - 1);
        eb_str(e, ")");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        bool bad =
            c == '\\' || c == '\t' || c == '"' || c == '*' || c == ':' || c == '<' || c == '>' || c == '?' || c == '|';
        if (bad) {
            eb_str(e, name);
            eb_str(e, " path ");
            eb_quoted(e, v, n);
            eb_str(e, c == '\t' ? " contains a tab" : " contains a character FAT does not allow: '");
            if (c != '\t') {
                eb_char(e, c);
                eb_char(e, '\'');
            }
            return -1;
        }
        if (c == '/' && (i + 1 == n || v[i + 1] == '/')) {
            eb_str(e, name);
            eb_str(e, " path ");
            eb_quoted(e, v, n);
            eb_str(e, " has an empty component");
            return -1;
        }
    }
    memset(dst, 0, BOOT_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        dst[i] = v[i];
    return 0;
}

static int set_size(struct errbuf *e, const char *name, const char *v, size_t n, u64 min, u64 align,
                    const char *align_text, u64 *dst)
{
    u64 size = 0;

    switch (parse_size(v, n, &size)) {
    case PARSE_MALFORMED:
        eb_str(e, "malformed size ");
        eb_quoted(e, v, n);
        eb_str(e, " for ");
        eb_str(e, name);
        eb_str(e, " (expected a number with an optional K, M or G suffix, e.g. 512M)");
        return -1;
    case PARSE_TOO_LARGE:
        eb_str(e, name);
        eb_str(e, " ");
        eb_quoted(e, v, n);
        eb_str(e, " is too large (max ");
        eb_u64(e, CONFIG_SIZE_MAX >> 30);
        eb_str(e, "G)");
        return -1;
    case PARSE_OK:
        break;
    }
    if (size < min) {
        eb_str(e, name);
        eb_str(e, " ");
        eb_quoted(e, v, n);
        eb_str(e, " is too small (min ");
        eb_u64(e, min >> 20);
        eb_str(e, "M)");
        return -1;
    }
    if (!IS_ALIGNED(size, align)) {
        eb_str(e, name);
        eb_str(e, " ");
        eb_quoted(e, v, n);
        eb_str(e, " is not a multiple of ");
        eb_str(e, align_text);
        return -1;
    }
    *dst = size;
    return 0;
}

/* An I/O port of a 16550 (decimal or 0x hex); key names the key or value form for the messages. */
static int parse_serial_port(struct errbuf *e, const char *key, const char *v, size_t n, u16 *out)
{
    u64 port = 0;
    enum parse_result r = parse_number(v, n, CONFIG_SERIAL_PORT_MAX, &port);

    if (r == PARSE_MALFORMED) {
        eb_str(e, "malformed number ");
        eb_quoted(e, v, n);
        eb_str(e, " for ");
        eb_str(e, key);
        eb_str(e, " (expected e.g. 0x3f8 or 1016)");
        return -1;
    }
    if (r == PARSE_TOO_LARGE || port == 0) {
        eb_str(e, key);
        eb_str(e, " ");
        eb_quoted(e, v, n);
        eb_str(e, " is out of range (0x1..0xfff8)");
        return -1;
    }
    *out = (u16)port;
    return 0;
}

/* "mmio32:ADDR" (registers 4 bytes apart, 32-bit accesses), "mmio8:ADDR" or "mmio:ADDR" (byte
 * registers, as Linux's earlycon spells them). */
static int parse_serial_mmio(struct errbuf *e, const char *v, size_t n, struct postern_config *c)
{
    bool wide = span_is(v, 7, "mmio32:");
    size_t skip = wide ? 7 : span_is(v, 6, "mmio8:") ? 6 : 5;
    u64 addr = 0;
    enum parse_result r = parse_number(v + skip, n - skip, CONFIG_SERIAL_MMIO_MAX, &addr);

    if (r == PARSE_MALFORMED) {
        eb_str(e, "malformed address ");
        eb_quoted(e, v + skip, n - skip);
        eb_str(e, " for serial ");
        eb_quoted(e, v, n);
        eb_str(e, " (expected e.g. mmio32:0xfedc9000)");
        return -1;
    }
    if (r == PARSE_TOO_LARGE || addr == 0 || (wide && (addr & 3))) {
        eb_str(e, "serial ");
        eb_quoted(e, v, n);
        eb_str(e, wide ? ": the address must be non-zero, 4-byte aligned and below 2^52"
                       : ": the address must be non-zero and below 2^52");
        return -1;
    }
    c->serial_space = wide ? UART_MMIO32 : UART_MMIO8;
    c->serial_mmio = addr;
    return 0;
}

static void eb_serial_conflict(struct errbuf *e)
{
    eb_str(e,
           "serial and serial_port both name the UART: keep one (serial = io:PORT is the same as serial_port = PORT)");
}

static int set_serial_port(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    if (c->serial_set) {
        eb_serial_conflict(e);
        return -1;
    }
    if (parse_serial_port(e, "serial_port", v, n, &c->serial_port) != 0)
        return -1;
    c->serial_port_set = true;
    return 0;
}

/* "serial = io:PORT | mmio8:ADDR | mmio32:ADDR | pci BB:DD.F | auto" (docs/boot.md, docs/console.md "Which UART"). */
static int set_serial(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    if (c->serial_port_set) {
        eb_serial_conflict(e);
        return -1;
    }
    if (span_is(v, n, "auto")) {
        c->serial_auto = true;
    } else if (n > 3 && span_is(v, 3, "io:")) {
        if (parse_serial_port(e, "serial io:PORT", v + 3, n - 3, &c->serial_port) != 0)
            return -1;
    } else if (n > 4 && span_is(v, 4, "pci ")) {
        struct pci_match m;
        size_t i = 4;
        char text[16];

        while (i < n && is_space(v[i]))
            i++;
        if (n - i >= sizeof(text))
            i = n; /* too long to be BB:DD.F */
        memcpy(text, v + i, n - i);
        text[n - i] = 0;
        if (i == n || !pci_match_parse(text, &m) || !m.by_bdf) {
            eb_str(e, "serial ");
            eb_quoted(e, v, n);
            eb_str(e, ": expected pci BB:DD.F (hex bus:device.function, e.g. pci 03:00.0)");
            return -1;
        }
        c->serial_pci = true;
        c->serial_pci_bdf = m.bdf;
    } else if ((n > 7 && span_is(v, 7, "mmio32:")) || (n > 6 && span_is(v, 6, "mmio8:")) ||
               (n > 5 && span_is(v, 5, "mmio:"))) {
        if (parse_serial_mmio(e, v, n, c) != 0)
            return -1;
    } else {
        eb_str(e, "serial ");
        eb_quoted(e, v, n);
        eb_str(e, " is not io:PORT (e.g. io:0x2f8), mmio8:ADDR, mmio32:ADDR, pci BB:DD.F or auto");
        return -1;
    }
    c->serial_set = true;
    return 0;
}

static int set_serial_baud(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    u64 baud = 0;

    if (parse_number(v, n, 1000000000, &baud) == PARSE_OK && v[0] != '0') {
        for (size_t i = 0; i < ARRAY_SIZE(bauds); i++) {
            if (baud == bauds[i]) {
                c->serial_baud = bauds[i];
                c->serial_baud_set = true;
                return 0;
            }
        }
    }
    eb_str(e, "serial_baud ");
    eb_quoted(e, v, n);
    eb_str(e, " is not one of 9600, 19200, 38400, 57600, 115200");
    return -1;
}

static int set_cmdline(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    if (n > BOOT_CMDLINE_MAX - 1) {
        eb_str(e, "cmdline is too long (");
        eb_u64(e, n);
        eb_str(e, " bytes, max ");
        eb_u64(e, BOOT_CMDLINE_MAX - 1);
        eb_str(e, ")");
        return -1;
    }
    memset(c->cmdline, 0, BOOT_CMDLINE_MAX);
    memcpy(c->cmdline, v, n);
    return 0;
}

/* Names follow the .gmeta rules (docs/gmeta.md): a module name is printable ASCII without spaces,
 * a privilege name is [a-z0-9_-]. */
static bool module_char(char ch) { return ch > ' ' && ch <= '~'; }
static bool privilege_char(char ch) { return (ch >= 'a' && ch <= 'z') || is_digit(ch) || ch == '_' || ch == '-'; }

/* Split "FIRST [SECOND]" (spaces between): the lengths and where the second word starts (length 0 when absent).
 * False when a third word follows. */
static bool split_two(const char *v, size_t n, size_t *first_len, size_t *second, size_t *second_len)
{
    size_t f = 0, p0, p = 0;

    while (f < n && !is_space(v[f]))
        f++;
    p0 = f;
    while (p0 < n && is_space(v[p0]))
        p0++;
    while (p0 + p < n && !is_space(v[p0 + p]))
        p++;
    *first_len = f;
    *second = p0;
    *second_len = p;
    return p0 + p == n;
}

/* A privilege name as .gmeta has it; on error the message is appended. */
static int check_privilege_name(struct errbuf *e, const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!privilege_char(v[i]) || n > BOOT_PRIVILEGE_NAME_MAX - 1) {
            eb_str(e, "bad privilege name ");
            eb_quoted(e, v, n);
            eb_str(e, " ([a-z0-9_-], max 31)");
            return -1;
        }
    }
    return 0;
}

/* "bind = MODULE PRIVILEGE": the administrator lets one module's metadata hold one privilege. */
static int set_bind(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    size_t m, p0, p;
    struct boot_binding *b;

    if (!split_two(v, n, &m, &p0, &p) || m == 0 || p == 0) {
        eb_str(e, "bind needs 'MODULE PRIVILEGE', got ");
        eb_quoted(e, v, n);
        return -1;
    }
    if (c->binding_count == BOOT_MAX_BINDINGS) {
        eb_str(e, "too many bind entries (max ");
        eb_u64(e, BOOT_MAX_BINDINGS);
        eb_str(e, ")");
        return -1;
    }
    for (size_t i = 0; i < m; i++) {
        if (!module_char(v[i]) || m > BOOT_MODULE_NAME_MAX - 1) {
            eb_str(e, "bad module name ");
            eb_quoted(e, v, m);
            eb_str(e, " (printable, no spaces, max 55)");
            return -1;
        }
    }
    if (check_privilege_name(e, v + p0, p) != 0)
        return -1;
    for (u32 i = 0; i < c->binding_count; i++) {
        b = &c->bindings[i];
        if (strnlen(b->module, BOOT_MODULE_NAME_MAX) == m && !memcmp(b->module, v, m) &&
            strnlen(b->privilege, BOOT_PRIVILEGE_NAME_MAX) == p && !memcmp(b->privilege, v + p0, p)) {
            eb_str(e, "duplicate bind ");
            eb_quoted(e, v, n);
            return -1;
        }
    }
    b = &c->bindings[c->binding_count++];
    memset(b, 0, sizeof(*b));
    memcpy(b->module, v, m);
    memcpy(b->privilege, v + p0, p);
    return 0;
}

/* A PCI device: "BB:DD.F" or "VVVV:DDDD" (hex), parsed by drivers/pci (one parser for both). */
static int set_pci_match(struct errbuf *e, const char *key, const char *v, size_t n, struct pci_match *m)
{
    char text[16];

    if (n < sizeof(text)) {
        memcpy(text, v, n);
        text[n] = 0;
        if (pci_match_parse(text, m))
            return 0;
    }
    eb_str(e, key);
    eb_str(e, " ");
    eb_quoted(e, v, n);
    eb_str(e, " is not a PCI device (expected bus:device.function like 00:03.0, or vendor:device like 8086:100e)");
    return -1;
}

/* "guarded_nic = DEVICE [PRIVILEGE]", repeatable: the first line is the guarded NIC, the others
 * further guarded devices (docs/pci.md, "More than one guarded device"). */
static int set_guarded_nic(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    size_t d, p0, p;
    struct pci_match *m = &c->guarded_nic;
    char *priv = c->guarded_nic_privilege;

    if (!split_two(v, n, &d, &p0, &p)) {
        eb_str(e, "guarded_nic needs 'DEVICE [PRIVILEGE]', got ");
        eb_quoted(e, v, n);
        return -1;
    }
    if (c->guarded_nic_set) {
        if (c->guarded_more_count == BOOT_MAX_GUARDED_MORE) {
            eb_str(e, "too many guarded_nic lines (max ");
            eb_u64(e, BOOT_MAX_GUARDED_MORE + 1);
            eb_str(e, ")");
            return -1;
        }
        m = &c->guarded_more[c->guarded_more_count].dev;
        priv = c->guarded_more[c->guarded_more_count].privilege;
        memcpy(priv, CONFIG_NIC_PRIVILEGE_DEFAULT, sizeof(CONFIG_NIC_PRIVILEGE_DEFAULT));
    }
    if (set_pci_match(e, "guarded_nic device", v, d, m) != 0)
        return -1;
    if (p) {
        if (check_privilege_name(e, v + p0, p) != 0)
            return -1;
        memset(priv, 0, BOOT_PRIVILEGE_NAME_MAX);
        memcpy(priv, v + p0, p);
    }
    if (c->guarded_nic_set)
        c->guarded_more_count++;
    c->guarded_nic_set = true;
    return 0;
}

static int set_iommu(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    if (span_is(v, n, "auto"))
        c->iommu_mode = BOOT_IOMMU_AUTO;
    else if (span_is(v, n, "required"))
        c->iommu_mode = BOOT_IOMMU_REQUIRED;
    else if (span_is(v, n, "off"))
        c->iommu_mode = BOOT_IOMMU_OFF;
    else {
        eb_str(e, "iommu ");
        eb_quoted(e, v, n);
        eb_str(e, " is not one of auto, required, off");
        return -1;
    }
    return 0;
}

static int set_metadata_signatures(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    if (span_is(v, n, "required"))
        c->sig_policy = BOOT_SIG_REQUIRED;
    else if (span_is(v, n, "hash-only"))
        c->sig_policy = BOOT_SIG_HASH_ONLY;
    else {
        eb_str(e, "metadata_signatures ");
        eb_quoted(e, v, n);
        eb_str(e, " is not one of required, hash-only");
        return -1;
    }
    return 0;
}

static int set_border(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    if (span_is(v, n, "npt"))
        c->border_npt = true;
    else if (span_is(v, n, "wrappers"))
        c->border_npt = false;
    else {
        eb_str(e, "border ");
        eb_quoted(e, v, n);
        eb_str(e, " is not one of npt, wrappers");
        return -1;
    }
    return 0;
}

static int set_kernel(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    return set_path(e, "kernel", v, n, c->kernel);
}

static int set_initrd(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    return set_path(e, "initrd", v, n, c->initrd);
}

static int set_admin_key(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    return set_path(e, "admin_key", v, n, c->admin_key);
}

static int set_guest_ram(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    return set_size(e, "guest_ram", v, n, CONFIG_GUEST_RAM_MIN, LARGE_PAGE_SIZE, "2M", &c->guest_ram);
}

static int set_hv_memory(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    return set_size(e, "hv_memory", v, n, CONFIG_HV_MEMORY_MIN, PAGE_SIZE, "4K", &c->hv_memory);
}

static int set_gmeta(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    if (c->gmeta_count == BOOT_MAX_GMETA) {
        eb_str(e, "too many gmeta entries (max ");
        eb_u64(e, BOOT_MAX_GMETA);
        eb_str(e, ")");
        return -1;
    }
    if (set_path(e, "gmeta", v, n, c->gmeta[c->gmeta_count]) != 0)
        return -1;
    c->gmeta_count++;
    return 0;
}

static int set_pci_hide(struct errbuf *e, struct postern_config *c, const char *v, size_t n)
{
    if (c->pci_hide_count == BOOT_MAX_PCI_HIDE) {
        eb_str(e, "too many pci_hide entries (max ");
        eb_u64(e, BOOT_MAX_PCI_HIDE);
        eb_str(e, ")");
        return -1;
    }
    if (set_pci_match(e, "pci_hide", v, n, &c->pci_hide[c->pci_hide_count]) != 0)
        return -1;
    c->pci_hide_count++;
    return 0;
}

/*
 * Every key config_parse accepts: docs/boot.md's postern.cfg table lists the same names (checked by
 * tests/unit/test_config.c). A setter checks one value (non-empty, already trimmed) and stores it;
 * on error it appends the message after "postern.cfg:LINE: " and returns -1.
 */
#define KEY_REQUIRED   1u /* config_parse fails without it */
#define KEY_REPEATABLE 2u /* may appear on more than one line */

static const struct config_key {
    const char *name;
    unsigned flags;
    int (*set)(struct errbuf *e, struct postern_config *c, const char *v, size_t n);
} keys[] = {
    { "kernel", KEY_REQUIRED, set_kernel },
    { "initrd", 0, set_initrd },
    { "cmdline", 0, set_cmdline },
    { "guest_ram", 0, set_guest_ram },
    { "hv_memory", 0, set_hv_memory },
    { "serial", 0, set_serial },
    { "serial_port", 0, set_serial_port },
    { "serial_baud", 0, set_serial_baud },
    { "gmeta", KEY_REPEATABLE, set_gmeta },
    { "admin_key", 0, set_admin_key },
    { "metadata_signatures", 0, set_metadata_signatures },
    { "border", 0, set_border },
    { "bind", KEY_REPEATABLE, set_bind },
    { "guarded_nic", KEY_REPEATABLE, set_guarded_nic },
    { "pci_hide", KEY_REPEATABLE, set_pci_hide },
    { "iommu", 0, set_iommu },
};
#define KEY_COUNT ARRAY_SIZE(keys)

const char *config_key_name(size_t i) { return i < KEY_COUNT ? keys[i].name : NULL; }

/* ---- lines ---- */

/* One line, without its line ending. Returns 0 or -1 with the message in e. */
static int parse_line(struct errbuf *e, struct postern_config *c, unsigned line, const char *p, size_t n,
                      unsigned seen[KEY_COUNT])
{
    const char *key, *val;
    size_t key_len, val_len, eq, k;

    if (n > CONFIG_LINE_MAX) {
        eb_line(e, line);
        eb_str(e, "line too long (max ");
        eb_u64(e, CONFIG_LINE_MAX);
        eb_str(e, " characters)");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if ((ch < 0x20 && ch != '\t') || ch >= 0x7f) {
            static const char hex[] = "0123456789abcdef";
            eb_line(e, line);
            eb_str(e, "invalid character 0x");
            eb_char(e, hex[ch >> 4]);
            eb_char(e, hex[ch & 15]);
            eb_str(e, " (postern.cfg is plain ASCII)");
            return -1;
        }
    }
    while (n && is_space(*p)) {
        p++;
        n--;
    }
    while (n && is_space(p[n - 1]))
        n--;
    if (n == 0 || p[0] == '#')
        return 0;

    for (eq = 0; eq < n && p[eq] != '='; eq++)
        ;
    if (eq == n) {
        eb_line(e, line);
        eb_str(e, "expected 'key = value', got ");
        eb_quoted(e, p, n);
        return -1;
    }
    key = p;
    key_len = eq;
    while (key_len && is_space(key[key_len - 1]))
        key_len--;
    val = p + eq + 1;
    val_len = n - eq - 1;
    while (val_len && is_space(*val)) {
        val++;
        val_len--;
    }
    if (key_len == 0) {
        eb_line(e, line);
        eb_str(e, "missing key before '='");
        return -1;
    }
    for (k = 0; k < KEY_COUNT; k++)
        if (span_is(key, key_len, keys[k].name))
            break;
    if (k == KEY_COUNT) {
        eb_line(e, line);
        eb_str(e, "unknown key ");
        eb_quoted(e, key, key_len);
        return -1;
    }
    if (seen[k] && !(keys[k].flags & KEY_REPEATABLE)) {
        eb_line(e, line);
        eb_str(e, "duplicate key '");
        eb_str(e, keys[k].name);
        eb_str(e, "' (first set on line ");
        eb_u64(e, seen[k]);
        eb_str(e, ")");
        return -1;
    }
    if (val_len == 0) {
        eb_line(e, line);
        eb_str(e, "empty value for '");
        eb_str(e, keys[k].name);
        eb_str(e, "'");
        return -1;
    }
    eb_line(e, line);
    if (keys[k].set(e, c, val, val_len) != 0)
        return -1;
    e->len = 0; /* drop the speculative "postern.cfg:LINE: " */
    if (e->size)
        e->buf[0] = 0;
    if (!seen[k])
        seen[k] = line;
    return 0;
}

int config_parse(const char *text, size_t len, struct postern_config *out, char *err, size_t errsize)
{
    struct errbuf e = { err, errsize, 0 };
    unsigned seen[KEY_COUNT] = { 0 };
    unsigned line = 0;
    size_t pos = 0;

    if (errsize)
        err[0] = 0;
    memset(out, 0, sizeof(*out));
    out->hv_memory = CONFIG_HV_MEMORY_DEFAULT;
    out->serial_port = CONFIG_SERIAL_PORT_DEFAULT;
    out->serial_baud = CONFIG_SERIAL_BAUD_DEFAULT;
    memcpy(out->guarded_nic_privilege, CONFIG_NIC_PRIVILEGE_DEFAULT, sizeof(CONFIG_NIC_PRIVILEGE_DEFAULT));
    out->sig_policy = BOOT_SIG_REQUIRED;
    out->border_npt = true;

    /* A UTF-8 byte-order mark, as some Windows editors write one. */
    if (len >= 3 && (u8)text[0] == 0xef && (u8)text[1] == 0xbb && (u8)text[2] == 0xbf)
        pos = 3;

    while (pos < len) {
        size_t end = pos, n;

        while (end < len && text[end] != '\n')
            end++;
        n = end - pos;
        if (n && text[pos + n - 1] == '\r') /* CRLF */
            n--;
        line++;
        if (parse_line(&e, out, line, text + pos, n, seen) != 0)
            return -1;
        pos = end + 1;
    }

    for (size_t k = 0; k < KEY_COUNT; k++) {
        if ((keys[k].flags & KEY_REQUIRED) && !seen[k]) {
            eb_str(&e, "postern.cfg: missing required key '");
            eb_str(&e, keys[k].name);
            eb_str(&e, "'");
            return -1;
        }
    }
    return 0;
}
