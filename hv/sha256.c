/*
 * SHA-256 by mbedTLS. The object is Debian's own: the build extracts sha256.c.o from the
 * installed libmbedcrypto.a (package libmbedtls-dev), so no third-party source lives here.
 *
 * That object is ordinary hosted code, and two of its habits collide with the hypervisor:
 *  - it uses SSE registers, while the guest's x87/SSE state is still live in the CPU (Postern
 *    itself is built with -mgeneral-regs-only). Each call saves the guest's state with FXSAVE and
 *    restores it with FXRSTOR. Legacy SSE never touches the upper halves of YMM/ZMM registers,
 *    so the guest's AVX state survives.
 *  - it reads the stack-protector canary at %fs:0x28, and after #VMEXIT the FS base is the
 *    guest's. Each call points FS at a hypervisor page and puts the guest's FS base back after.
 * Hashing happens at module registration, never on the border-crossing hot path.
 */
#include "sha256.h"
#include "arch/x86_64/cpu.h"
#include "lib.h"
#include "guest_mem.h"
#include "page_alloc.h"
#include "panic.h"

#ifndef HOST_TEST
#define MSR_FS_BASE 0xc0000100u

/* mbedTLS 2.28's interface (mbedtls/sha256.h), declared here so the hypervisor build needs no
 * hosted headers. */
typedef struct {
    u32 total[2];
    u32 state[8];
    unsigned char buffer[64];
    int is224;
} mbedtls_sha256_context;
_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(struct sha256_ctx), "sha256_ctx too small");

void mbedtls_sha256_init(mbedtls_sha256_context *ctx);
int mbedtls_sha256_starts_ret(mbedtls_sha256_context *ctx, int is224);
int mbedtls_sha256_update_ret(mbedtls_sha256_context *ctx, const unsigned char *input, size_t ilen);
int mbedtls_sha256_finish_ret(mbedtls_sha256_context *ctx, unsigned char output[32]);

static u8 *fx_area;     /* 512 bytes, 16-byte aligned: the guest's x87/SSE state */
static u8 *fs_page;     /* what %fs points at while mbedTLS runs (canary at +0x28) */

bool sha256_init_once(void)
{
    hpa_t p;
    if (fx_area)
        return true;
    p = page_alloc(&hv_pages, 2, 1);
    if (!p)
        return false;
    fx_area = phys_to_virt(p);
    fs_page = phys_to_virt(p + PAGE_SIZE);
    /* Any value works as a canary; this one is only ever compared with itself. */
    memcpy(fs_page + 0x28, "PSTRcnry", 8);
    return true;
}

struct hosted_call {
    u64 guest_fs;
};

static void enter_hosted(struct hosted_call *h)
{
    if (!fx_area)
        panic("sha256 used before sha256_init_once");
    __asm__ volatile("fxsave64 (%0)" ::"r"(fx_area) : "memory");
    h->guest_fs = rdmsr(MSR_FS_BASE);
    wrmsr(MSR_FS_BASE, (u64)(uintptr_t)fs_page);
}

static void leave_hosted(const struct hosted_call *h)
{
    wrmsr(MSR_FS_BASE, h->guest_fs);
    __asm__ volatile("fxrstor64 (%0)" ::"r"(fx_area) : "memory");
}

void sha256_start(struct sha256_ctx *c)
{
    struct hosted_call h;
    enter_hosted(&h);
    mbedtls_sha256_init((mbedtls_sha256_context *)c);
    mbedtls_sha256_starts_ret((mbedtls_sha256_context *)c, 0);
    leave_hosted(&h);
}

void sha256_update(struct sha256_ctx *c, const void *data, u64 len)
{
    struct hosted_call h;
    enter_hosted(&h);
    mbedtls_sha256_update_ret((mbedtls_sha256_context *)c, data, len);
    leave_hosted(&h);
}

void sha256_finish(struct sha256_ctx *c, u8 out[SHA256_LEN])
{
    struct hosted_call h;
    enter_hosted(&h);
    mbedtls_sha256_finish_ret((mbedtls_sha256_context *)c, out);
    leave_hosted(&h);
}

void sha256(const void *data, u64 len, u8 out[SHA256_LEN])
{
    struct sha256_ctx c;
    sha256_start(&c);
    sha256_update(&c, data, len);
    sha256_finish(&c, out);
}

/* What the rest of sha256.c.o refers to (its self-test and the stack protector). */
void __stack_chk_fail(void);
void __stack_chk_fail(void) { panic("mbedTLS: stack protector tripped"); }
void mbedtls_platform_zeroize(void *buf, size_t len);
void mbedtls_platform_zeroize(void *buf, size_t len)
{
    volatile u8 *p = buf;
    while (len--)
        *p++ = 0;
}
void *calloc(size_t n, size_t size);
void *calloc(size_t n, size_t size) { return NULL; } /* only the self-test allocates */
void free(void *p);
void free(void *p) {}
int puts(const char *s);
int puts(const char *s) { return 0; }
int putchar(int c);
int putchar(int c) { return c; }
int __printf_chk(int flag, const char *fmt, ...);
int __printf_chk(int flag, const char *fmt, ...) { return 0; }
#endif
