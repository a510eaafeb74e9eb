/* Fixed-width types for the freestanding hypervisor and its host-side tests. */
#ifndef POSTERN_TYPES_H
#define POSTERN_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

/* A guest-physical address: never dereferenced directly, always translated and bounds-checked. */
typedef u64 gpa_t;
/* A host-physical address (identity-mapped in the hypervisor's own page tables). */
typedef u64 hpa_t;

#define PAGE_SIZE       4096ull
#define PAGE_SHIFT      12
#define LARGE_PAGE_SIZE (2ull << 20)
#define HUGE_PAGE_SIZE  (1ull << 30)

#define KiB(x) ((u64)(x) << 10)
#define MiB(x) ((u64)(x) << 20)
#define GiB(x) ((u64)(x) << 30)

#define ALIGN_UP(x, a)   (((x) + ((a)-1)) & ~((u64)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a)-1)) == 0)
#define ARRAY_SIZE(a)    (sizeof(a) / sizeof((a)[0]))
#define BIT(n)           (1ull << (n))

#define PACKED            __attribute__((packed))
#define NORETURN          __attribute__((noreturn))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

#endif
