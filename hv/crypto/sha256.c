/*
 * SHA-256 by mbedTLS: Debian's own sha256.c.o, extracted at build time from libmbedcrypto.a.
 * Every call into it goes through hosted_enter()/hosted_leave() (hv/crypto/hosted.c explains why).
 * Hashing happens at module registration and metadata loading, never on the border-crossing
 * hot path. Host unit tests link the same file against the host's libmbedcrypto.
 */
#include "crypto/sha256.h"
#include "crypto/hosted.h"
#include "lib/lib.h"

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

bool sha256_init_once(void) { return hosted_init_once(); }

void sha256_start(struct sha256_ctx *c)
{
    struct hosted_call h;
    hosted_enter(&h);
    mbedtls_sha256_init((mbedtls_sha256_context *)c);
    mbedtls_sha256_starts_ret((mbedtls_sha256_context *)c, 0);
    hosted_leave(&h);
}

void sha256_update(struct sha256_ctx *c, const void *data, u64 len)
{
    struct hosted_call h;
    hosted_enter(&h);
    mbedtls_sha256_update_ret((mbedtls_sha256_context *)c, data, len);
    hosted_leave(&h);
}

void sha256_finish(struct sha256_ctx *c, u8 out[SHA256_LEN])
{
    struct hosted_call h;
    hosted_enter(&h);
    mbedtls_sha256_finish_ret((mbedtls_sha256_context *)c, out);
    hosted_leave(&h);
}

void sha256(const void *data, u64 len, u8 out[SHA256_LEN])
{
    struct sha256_ctx c;
    sha256_start(&c);
    sha256_update(&c, data, len);
    sha256_finish(&c, out);
}
