/*
 * ECDSA P-256 signatures on guarded-module metadata (docs/gmeta.md "Signatures").
 *
 * The administrator's public key travels in a small file (christoize keygen writes it as
 * admin.pub; the loader puts its bytes in boot_info):
 *
 *   offset size
 *        0    8  magic "PSTPUBK1"
 *        8    2  algorithm, little-endian: 1 = ECDSA P-256 (as GMETA_SIG_ECDSA_P256)
 *       10    2  point length, little-endian: 65
 *       12    4  reserved, zero
 *       16   65  the public key: SEC1 uncompressed point 04 || X || Y (big-endian)
 *   81 bytes in all. Its key ID is the first 16 bytes of SHA-256 of the 65-byte point, the value
 *   a signed .gmeta's trailer carries.
 *
 * Verification is mbedTLS's (Debian's ecdsa/ecp/ecp_curves/bignum objects, hv/crypto/hosted.c).
 */
#ifndef POSTERN_SIGCHECK_H
#define POSTERN_SIGCHECK_H

#include "lib/types.h"
#include "guard/gmeta.h"

#define SIGCHECK_PUB_MAGIC    "PSTPUBK1"
#define SIGCHECK_PUB_HDR      16
#define SIGCHECK_POINT_LEN    65
#define SIGCHECK_PUB_FILE_LEN (SIGCHECK_PUB_HDR + SIGCHECK_POINT_LEN)
#define SIGCHECK_ALG_P256     1

/* Stack space for mbedTLS 2.28's mbedtls_ecp_group (248 bytes on x86-64), mbedtls_ecp_point (72)
 * and mbedtls_mpi (24); tests/unit/test_sigcheck.c checks them against the real headers. */
#define SIGCHECK_MBEDTLS_GROUP_SIZE 256
#define SIGCHECK_MBEDTLS_POINT_SIZE 80
#define SIGCHECK_MBEDTLS_MPI_SIZE   24

struct sigcheck_key {
    u8 point[SIGCHECK_POINT_LEN];
    u8 key_id[GMETA_KEY_ID_LEN];
};

/* The 16-byte key ID of a point (SHA-256, first half). */
void sigcheck_key_id(const u8 point[SIGCHECK_POINT_LEN], u8 id[GMETA_KEY_ID_LEN]);

/* An admin.pub file's form only (magic, fields, lengths, the 0x04 prefix): no curve arithmetic, so
 * the loader can check it too. 0, or -1 with a message in err. */
int sigcheck_parse_pubfile(const u8 *buf, u64 len, u8 point[SIGCHECK_POINT_LEN], char *err, size_t errsz);

/* sigcheck_parse_pubfile, then the point must lie on P-256 (mbedTLS); fills *k with the key ID. */
int sigcheck_load_key(const u8 *buf, u64 len, struct sigcheck_key *k, char *err, size_t errsz);

enum sigcheck_result {
    SIGCHECK_OK = 0,    /* signed with k's private key over exactly these bytes */
    SIGCHECK_UNSIGNED,  /* the trailer says unsigned */
    SIGCHECK_OTHER_KEY, /* signed, but its key ID is not k's */
    SIGCHECK_BAD,       /* k's key ID, but the signature does not verify */
    SIGCHECK_ERROR,     /* could not check (out of arena memory, unknown algorithm): err says why */
};

/* ECDSA P-256 verification of r||s over a 32-byte SHA-256 digest. */
enum sigcheck_result sigcheck_verify(const struct sigcheck_key *k, const u8 hash[32], const u8 sig[GMETA_SIG_LEN],
                                     char *err, size_t errsz);

/* The signature of a metadata file gmeta_parse() accepted: m was parsed from buf, the bytes
 * checked are buf[0, m->signed_len). */
enum sigcheck_result sigcheck_gmeta(const struct sigcheck_key *k, const u8 *buf, const struct gmeta *m, char *err,
                                    size_t errsz);

/* "0123456789abcdef0123456789abcdef": 32 hex digits and a NUL. */
void sigcheck_key_id_hex(const u8 id[GMETA_KEY_ID_LEN], char out[2 * GMETA_KEY_ID_LEN + 1]);

#endif
