/* Unaligned little-endian field access at a byte offset, for firmware and boot-protocol tables
 * (ACPI, boot_params, the bzImage header). x86 is little-endian; memcpy keeps it alignment-safe. */
#ifndef POSTERN_BYTES_H
#define POSTERN_BYTES_H

#include "lib/types.h"
#include "lib/lib.h"

static inline u8 rd8(const u8 *p, u64 off) { return p[off]; }
static inline u16 rd16(const u8 *p, u64 off)
{
    u16 v;
    memcpy(&v, p + off, sizeof(v));
    return v;
}
static inline u32 rd32(const u8 *p, u64 off)
{
    u32 v;
    memcpy(&v, p + off, sizeof(v));
    return v;
}
static inline u64 rd64(const u8 *p, u64 off)
{
    u64 v;
    memcpy(&v, p + off, sizeof(v));
    return v;
}
static inline void wr8(u8 *p, u64 off, u8 v) { p[off] = v; }
static inline void wr16(u8 *p, u64 off, u16 v) { memcpy(p + off, &v, sizeof(v)); }
static inline void wr32(u8 *p, u64 off, u32 v) { memcpy(p + off, &v, sizeof(v)); }
static inline void wr64(u8 *p, u64 off, u64 v) { memcpy(p + off, &v, sizeof(v)); }

#endif
