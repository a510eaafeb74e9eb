/* The host's ACPI tables: see acpi_host.h. */
#include "platform/acpi_host.h"
#include "lib/bytes.h"
#include "core/guest_mem.h"
#include "lib/lib.h"
#include "lib/log.h"

#define RSDP_MAX_LEN 4096

u8 acpi_sum8(const u8 *p, u64 len)
{
    u8 s = 0;
    while (len--)
        s = (u8)(s + *p++);
    return s;
}

static bool printable(u8 c) { return c >= 0x20 && c < 0x7f; }

void acpi_sig_str(const void *sig, char out[5])
{
    const u8 *s = sig;
    for (int i = 0; i < 4; i++)
        out[i] = printable(s[i]) ? (char)s[i] : '?';
    out[4] = 0;
}

static bool sig_ok(const void *sig)
{
    const u8 *s = sig;
    return printable(s[0]) && printable(s[1]) && printable(s[2]) && printable(s[3]);
}

const u8 *acpi_host_table(hpa_t pa, const char *expect, const char *from, u32 *len, char *err, size_t errsz)
{
    char sig[5];

    if (pa == 0 || pa > ~0ull - ACPI_MAX_TABLE_LEN) {
        fmt_snprintf(err, errsz, "ACPI: %s points to an invalid table address 0x%lx", from, pa);
        return NULL;
    }
    const struct acpi_hdr *h = phys_to_virt(pa);
    acpi_sig_str(h->sig, sig);
    if (expect ? memcmp(h->sig, expect, 4) != 0 : !sig_ok(h->sig)) {
        fmt_snprintf(err, errsz, "ACPI: %s points to a table with signature '%s' at 0x%lx, expected %s", from, sig, pa,
                     expect ? expect : "a printable signature");
        return NULL;
    }
    if (h->length < ACPI_HDR_LEN || h->length > ACPI_MAX_TABLE_LEN) {
        fmt_snprintf(err, errsz, "ACPI: table %s at 0x%lx has implausible length %u", sig, pa, h->length);
        return NULL;
    }
    if (acpi_sum8((const u8 *)h, h->length) != 0) {
        fmt_snprintf(err, errsz, "ACPI: table %s at 0x%lx has a bad checksum", sig, pa);
        return NULL;
    }
    *len = h->length;
    return (const u8 *)h;
}

/* The RSDP: signature, ACPI 1.0 checksum, and for revision >= 2 the length and extended checksum. */
static const struct acpi_rsdp *rsdp_check(hpa_t pa, char *err, size_t errsz)
{
    if (pa == 0 || pa > ~0ull - RSDP_MAX_LEN) {
        fmt_snprintf(err, errsz, "ACPI: no RSDP (address 0x%lx)", pa);
        return NULL;
    }
    const struct acpi_rsdp *r = phys_to_virt(pa);
    if (memcmp(r->sig, "RSD PTR ", 8) != 0) {
        fmt_snprintf(err, errsz, "ACPI: RSDP at 0x%lx has a bad signature", pa);
        return NULL;
    }
    if (acpi_sum8((const u8 *)r, RSDP_V1_LEN) != 0) {
        fmt_snprintf(err, errsz, "ACPI: RSDP at 0x%lx has a bad checksum", pa);
        return NULL;
    }
    if (r->revision >= 2) {
        if (r->length < RSDP_V2_LEN || r->length > RSDP_MAX_LEN) {
            fmt_snprintf(err, errsz, "ACPI: RSDP at 0x%lx has implausible length %u", pa, r->length);
            return NULL;
        }
        if (acpi_sum8((const u8 *)r, r->length) != 0) {
            fmt_snprintf(err, errsz, "ACPI: RSDP at 0x%lx has a bad extended checksum", pa);
            return NULL;
        }
    }
    return r;
}

int acpi_table_check(const u8 *t, u32 len, const char sig[4], u32 min_len, char *err, size_t errsz)
{
    if (len < min_len || len < ACPI_HDR_LEN || memcmp(t, sig, 4) != 0 || rd32(t, 4) != len) {
        fmt_snprintf(err, errsz, "%.4s: malformed table header (%u bytes given, at least %u needed)", sig, len,
                     min_len);
        return -1;
    }
    if (acpi_sum8(t, len) != 0) {
        fmt_snprintf(err, errsz, "%.4s: bad checksum", sig);
        return -1;
    }
    return 0;
}

int acpi_host_root(hpa_t rsdp_pa, struct acpi_host_root *root, char *err, size_t errsz)
{
    memset(root, 0, sizeof(*root));
    root->rsdp = rsdp_check(rsdp_pa, err, errsz);
    if (!root->rsdp)
        return -1;
    root->xsdt = root->rsdp->revision >= 2 && root->rsdp->xsdt != 0;
    root->table = acpi_host_table(root->xsdt ? root->rsdp->xsdt : root->rsdp->rsdt, root->xsdt ? "XSDT" : "RSDT",
                                  "RSDP", &root->len, err, errsz);
    if (!root->table)
        return -1;
    root->count = (root->len - ACPI_HDR_LEN) / (root->xsdt ? 8 : 4);
    return 0;
}

hpa_t acpi_host_entry(const struct acpi_host_root *root, u32 i)
{
    return root->xsdt ? rd64(root->table, ACPI_HDR_LEN + (u64)i * 8) : rd32(root->table, ACPI_HDR_LEN + (u64)i * 4);
}

int acpi_host_find(hpa_t rsdp_pa, const char sig[4], const u8 **table, u32 *len, char *err, size_t errsz)
{
    struct acpi_host_root root;

    if (acpi_host_root(rsdp_pa, &root, err, errsz))
        return -1;
    for (u32 i = 0; i < root.count; i++) {
        hpa_t pa = acpi_host_entry(&root, i);
        if (pa == 0)
            continue; /* seen in the wild */
        const u8 *t = acpi_host_table(pa, NULL, root.xsdt ? "XSDT" : "RSDT", len, err, errsz);
        if (!t)
            return -1;
        if (memcmp(t, sig, 4) == 0) {
            *table = t;
            return 1;
        }
    }
    *table = NULL;
    *len = 0;
    return 0;
}

/* FADT (5.2.9): PM_TMR_BLK (u32 port) at 76, PM_TMR_LEN at 91, FLAGS at 112 (bit 8 TMR_VAL_EXT),
 * X_PM_TMR_BLK (a GAS: space at +0, address at +4) at 208. */
#define FADT_PM_TMR_BLK     76
#define FADT_PM_TMR_LEN     91
#define FADT_FLAGS_OFF      112
#define FADT_TMR_VAL_EXT    BIT(8)
#define FADT_X_PM_TMR_BLK   208
#define FADT_GAS_LEN        12
#define GAS_SPACE_SYSTEM_IO 1

u16 acpi_host_pm_timer(hpa_t rsdp_pa, bool *is_32bit)
{
    const u8 *t;
    u32 len;
    u64 port;
    char err[120];

    *is_32bit = false;
    if (!rsdp_pa || acpi_host_find(rsdp_pa, "FACP", &t, &len, err, sizeof(err)) != 1 || len < FADT_FLAGS_OFF + 4)
        return 0;
    port = rd32(t, FADT_PM_TMR_BLK);
    if (len >= FADT_X_PM_TMR_BLK + FADT_GAS_LEN && rd64(t, FADT_X_PM_TMR_BLK + 4) != 0) {
        if (t[FADT_X_PM_TMR_BLK] != GAS_SPACE_SYSTEM_IO)
            return 0; /* a memory-mapped PM timer: not used */
        port = rd64(t, FADT_X_PM_TMR_BLK + 4);
    } else if (t[FADT_PM_TMR_LEN] < 4) {
        return 0;
    }
    if (port == 0 || port > 0xfffc)
        return 0;
    *is_32bit = (rd32(t, FADT_FLAGS_OFF) & FADT_TMR_VAL_EXT) != 0;
    return (u16)port;
}
