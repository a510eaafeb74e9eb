/*
 * Calling Debian's own mbedTLS objects (hosted code, taken from libmbedcrypto.a at build time)
 * from the hypervisor. hv/crypto/hosted.c explains the rules; hv/crypto/sha256.c and hv/guard/sigcheck.c use them.
 *
 *   struct hosted_call h;
 *   hosted_enter(&h);      guest x87/SSE state saved, FS pointed at the hypervisor's canary page
 *   ... mbedtls_*() ...
 *   hosted_leave(&h);      and back; the allocation arena must be empty again (checked)
 *
 * Calls do not nest, and only one CPU makes them (the hypervisor runs on the BSP).
 */
#ifndef POSTERN_HOSTED_H
#define POSTERN_HOSTED_H

#include "lib/types.h"

/* The arena behind mbedTLS's calloc/free: ECDSA P-256 verification keeps at most ~4.4 KiB live
 * (measured with mbedTLS 2.28.3: 8012 allocations, 437 KB in total, none over 576 bytes). */
#define HOSTED_ARENA_SIZE (64 * 1024)

struct hosted_call {
    u64 guest_fs;
};

/* Two pages (vector state, FS page) and the arena; idempotent. False when out of pages. */
bool hosted_init_once(void);
void hosted_enter(struct hosted_call *h);
void hosted_leave(const struct hosted_call *h);

/*
 * The arena allocator itself, separate from the calloc/free symbols so the host unit tests can
 * exercise it: power-of-two blocks of 32 B .. 4 KiB, one free list per size, carved from `mem`.
 * Nothing is ever returned to the carving pointer except by hosted_arena_reset() with no block
 * live. calloc of more than 4 KiB, or with the arena full, returns NULL (mbedTLS then fails with
 * MBEDTLS_ERR_MPI_ALLOC_FAILED, which the caller reports).
 */
struct hosted_arena {
    u8 *mem;
    u64 size;
    u64 used;       /* carved so far */
    u64 live;       /* blocks handed out and not freed */
    u64 peak_bytes; /* most bytes live at once (block sizes) */
    u64 live_bytes;
    void *free_list[8];
};
void hosted_arena_init(struct hosted_arena *a, void *mem, u64 size);
void *hosted_arena_calloc(struct hosted_arena *a, size_t n, size_t size);
/* A pointer not from this arena panics (hypervisor) / returns false (host). */
bool hosted_arena_free(struct hosted_arena *a, void *p);
/* Forget every block; only valid with none live (returns false otherwise). */
bool hosted_arena_reset(struct hosted_arena *a);

#endif
