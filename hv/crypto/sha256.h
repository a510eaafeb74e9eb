/* SHA-256 for the hypervisor, computed by mbedTLS (see sha256.c for how it is made safe to call). */
#ifndef POSTERN_SHA256_H
#define POSTERN_SHA256_H

#include "lib/types.h"

#define SHA256_LEN 32

struct sha256_ctx {
    /* Opaque space for mbedtls_sha256_context (108 bytes in mbedTLS 2.28), checked at build time. */
    u64 opaque[16];
};

/* Prepare for hashing: one page for the guest's vector state while mbedTLS runs. */
bool sha256_init_once(void);
void sha256_start(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, u64 len);
void sha256_finish(struct sha256_ctx *c, u8 out[SHA256_LEN]);
void sha256(const void *data, u64 len, u8 out[SHA256_LEN]);

#endif
