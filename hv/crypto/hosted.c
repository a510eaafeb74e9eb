/*
 * Hosted code inside the hypervisor. The mbedTLS objects are Debian's own: the build extracts
 * them from the installed libmbedcrypto.a (package libmbedtls-dev), so no third-party source
 * lives here (Makefile: MBEDTLS_OBJS). They are ordinary hosted code, and three of their habits
 * collide with the hypervisor:
 *  - they use SSE registers, while the guest's x87/SSE state is still live in the CPU (Postern
 *    itself is built with -mgeneral-regs-only). hosted_enter() saves the guest's state with
 *    FXSAVE and hosted_leave() restores it with FXRSTOR. Legacy SSE never touches the upper
 *    halves of YMM/ZMM registers, so the guest's AVX state survives.
 *  - they read the stack-protector canary at %fs:0x28, and after #VMEXIT the FS base is the
 *    guest's. hosted_enter() points FS at a hypervisor page; hosted_leave() puts the guest's FS
 *    base back.
 *  - they call libc: calloc/free (bignum limbs; a bounded arena below), memset/memcpy/strlen
 *    (hv/lib/string.c and GNU-EFI), __memset_chk, and printf-family functions from self-tests and
 *    debug helpers the hypervisor never calls (stubs that panic).
 * Hashing and signature checks happen when metadata is loaded or a module registers, never on
 * the border-crossing hot path.
 */
#include "crypto/hosted.h"
#include "lib/lib.h"
#ifndef HOST_TEST
#include "arch/x86_64/cpu.h"
#include "core/guest_mem.h"
#include "lib/page_alloc.h"
#include "core/panic.h"
#endif

#define ARENA_MIN_SHIFT 5           /* 32-byte blocks */
#define ARENA_MAX_SHIFT 12          /* 4 KiB blocks */
#define ARENA_HDR       16          /* keeps blocks 16-byte aligned, as malloc's are */
#define ARENA_MAGIC     0x50535441u /* "ATSP" */

struct arena_hdr {
    u32 magic;
    u32 shift;
    u64 pad;
};
_Static_assert(sizeof(struct arena_hdr) == ARENA_HDR, "arena header size");

void hosted_arena_init(struct hosted_arena *a, void *mem, u64 size)
{
    memset(a, 0, sizeof(*a));
    a->mem = mem;
    a->size = size;
}

void *hosted_arena_calloc(struct hosted_arena *a, size_t n, size_t size)
{
    u64 want, shift = ARENA_MIN_SHIFT;
    struct arena_hdr *h;

    if (n && size > ((u64)1 << ARENA_MAX_SHIFT) / n)
        return NULL;
    want = (u64)n * size + ARENA_HDR;
    while (((u64)1 << shift) < want)
        shift++;
    if (shift > ARENA_MAX_SHIFT)
        return NULL;
    h = a->free_list[shift - ARENA_MIN_SHIFT];
    if (h) {
        a->free_list[shift - ARENA_MIN_SHIFT] = *(void **)(h + 1);
    } else {
        if (a->size - a->used < ((u64)1 << shift))
            return NULL;
        h = (struct arena_hdr *)(a->mem + a->used);
        a->used += (u64)1 << shift;
    }
    h->magic = ARENA_MAGIC;
    h->shift = (u32)shift;
    memset(h + 1, 0, ((size_t)1 << shift) - ARENA_HDR);
    a->live++;
    a->live_bytes += (u64)1 << shift;
    if (a->live_bytes > a->peak_bytes)
        a->peak_bytes = a->live_bytes;
    return h + 1;
}

bool hosted_arena_free(struct hosted_arena *a, void *p)
{
    struct arena_hdr *h;

    if (!p)
        return true;
    h = (struct arena_hdr *)p - 1;
    if ((u8 *)h < a->mem || (u8 *)h >= a->mem + a->used || h->magic != ARENA_MAGIC || h->shift < ARENA_MIN_SHIFT ||
        h->shift > ARENA_MAX_SHIFT)
        return false;
    h->magic = 0;
    *(void **)(h + 1) = a->free_list[h->shift - ARENA_MIN_SHIFT];
    a->free_list[h->shift - ARENA_MIN_SHIFT] = h;
    a->live--;
    a->live_bytes -= (u64)1 << h->shift;
    return true;
}

bool hosted_arena_reset(struct hosted_arena *a)
{
    if (a->live)
        return false;
    a->used = 0;
    a->live_bytes = 0;
    memset(a->free_list, 0, sizeof(a->free_list));
    return true;
}

#ifdef HOST_TEST
/* Host unit tests link the same callers against the host's libmbedcrypto and libc. */
bool hosted_init_once(void) { return true; }
void hosted_enter(struct hosted_call *h) { h->guest_fs = 0; }
void hosted_leave(const struct hosted_call *h) {}
#else
#define MSR_FS_BASE 0xc0000100u

static u8 *fx_area; /* 512 bytes, 16-byte aligned: the guest's x87/SSE state */
static u8 *fs_page; /* what %fs points at while mbedTLS runs (canary at +0x28) */
static struct hosted_arena arena;
static bool inside;

bool hosted_init_once(void)
{
    hpa_t p, m;
    if (fx_area)
        return true;
    p = page_alloc(&hv_pages, 2, 1);
    if (!p)
        return false;
    m = page_alloc(&hv_pages, HOSTED_ARENA_SIZE / PAGE_SIZE, 1);
    if (!m) {
        page_free(&hv_pages, p, 2);
        return false;
    }
    fx_area = phys_to_virt(p);
    fs_page = phys_to_virt(p + PAGE_SIZE);
    /* Any value works as a canary; this one is only ever compared with itself. */
    memcpy(fs_page + 0x28, "PSTRcnry", 8);
    hosted_arena_init(&arena, phys_to_virt(m), HOSTED_ARENA_SIZE);
    return true;
}

void hosted_enter(struct hosted_call *h)
{
    if (!fx_area)
        panic("mbedTLS called before hosted_init_once");
    if (inside)
        panic("nested call into mbedTLS");
    __asm__ volatile("fxsave64 (%0)" ::"r"(fx_area) : "memory");
    h->guest_fs = rdmsr(MSR_FS_BASE);
    wrmsr(MSR_FS_BASE, (u64)(uintptr_t)fs_page);
    inside = true;
}

void hosted_leave(const struct hosted_call *h)
{
    inside = false;
    wrmsr(MSR_FS_BASE, h->guest_fs);
    __asm__ volatile("fxrstor64 (%0)" ::"r"(fx_area) : "memory");
    /* Every caller frees what mbedTLS allocated before leaving: start the next call clean. */
    if (!hosted_arena_reset(&arena))
        panic("mbedTLS left %llu blocks allocated", (unsigned long long)arena.live);
}

/* ------------------------------------------------------------------ libc, as the objects see it */
void *calloc(size_t n, size_t size);
void *calloc(size_t n, size_t size)
{
    if (!inside)
        panic("calloc outside a hosted call");
    return hosted_arena_calloc(&arena, n, size);
}

void free(void *p);
void free(void *p)
{
    if (!hosted_arena_free(&arena, p))
        panic("mbedTLS freed %p, which the arena never gave out", p);
}

void __stack_chk_fail(void);
void __stack_chk_fail(void) { panic("mbedTLS: stack protector tripped"); }

void *__memset_chk(void *dst, int c, size_t n, size_t dstlen);
void *__memset_chk(void *dst, int c, size_t n, size_t dstlen)
{
    if (n > dstlen)
        panic("mbedTLS: memset of %zu bytes into %zu", n, dstlen);
    return memset(dst, c, n);
}

void mbedtls_platform_zeroize(void *buf, size_t len);
void mbedtls_platform_zeroize(void *buf, size_t len)
{
    volatile u8 *p = buf;
    while (len--)
        *p++ = 0;
}

/* Referenced by the self-tests and debug helpers in the same objects; never called. */
#define NEVER_CALLED(name)                                                                                             \
    void name(void);                                                                                                   \
    void name(void) { panic("mbedTLS called " #name ", which the hypervisor does not provide"); }
NEVER_CALLED(puts)
NEVER_CALLED(putchar)
NEVER_CALLED(__printf_chk)
NEVER_CALLED(fgets)
NEVER_CALLED(fwrite)
NEVER_CALLED(fopen)
NEVER_CALLED(fread)
NEVER_CALLED(fclose)
NEVER_CALLED(ferror)
/* ECDSA signing and the DER signature format: only verification of a raw r||s is used. */
NEVER_CALLED(mbedtls_asn1_get_mpi)
NEVER_CALLED(mbedtls_asn1_get_tag)
NEVER_CALLED(mbedtls_asn1_write_len)
NEVER_CALLED(mbedtls_asn1_write_mpi)
NEVER_CALLED(mbedtls_asn1_write_tag)

/* Debian builds mbedTLS with MBEDTLS_THREADING_PTHREAD: the HMAC_DRBG that blinds the scalar
 * multiplication takes its lock through these pointers. One CPU, no nesting: nothing to lock. */
static void mutex_nop(void *m) {}
static int mutex_nop_rc(void *m) { return 0; }
void (*mbedtls_mutex_init)(void *) = mutex_nop;
void (*mbedtls_mutex_free)(void *) = mutex_nop;
int (*mbedtls_mutex_lock)(void *) = mutex_nop_rc;
int (*mbedtls_mutex_unlock)(void *) = mutex_nop_rc;
#endif
