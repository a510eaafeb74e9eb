/*
 * ECDSA P-256 verification for signed metadata (sigcheck.h has the key file format). The curve
 * arithmetic is Debian's mbedTLS 2.28 (ecdsa.c.o, ecp.c.o, ecp_curves.c.o, bignum.c.o and
 * constant_time.c.o from libmbedcrypto.a, linked as one partial object whose only global
 * symbols are the functions declared below: Makefile, MBEDTLS_ECDSA). Every call runs inside
 * hosted_enter()/hosted_leave(); bignum limbs come from hv/crypto/hosted.c's arena. Host unit tests
 * (tests/unit/test_sigcheck.c) link this same file against the host's libmbedcrypto.
 */
#include "guard/sigcheck.h"
#include "lib/bytes.h"
#include "crypto/hosted.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "crypto/sha256.h"

/* mbedTLS 2.28's interface (mbedtls/ecp.h, ecdsa.h, bignum.h), declared here so the hypervisor
 * build needs no hosted headers. The structures are only ever handled through pointers; the unit
 * test checks the space reserved (sigcheck.h) against the real headers. */
#define MBEDTLS_ECP_DP_SECP256R1      3
#define MBEDTLS_ERR_ECP_VERIFY_FAILED -0x4E00
#define MBEDTLS_ERR_MPI_ALLOC_FAILED  -0x0010

typedef struct {
    u64 opaque[SIGCHECK_MBEDTLS_GROUP_SIZE / 8];
} ecp_group;
typedef struct {
    u64 opaque[SIGCHECK_MBEDTLS_POINT_SIZE / 8];
} ecp_point;
typedef struct {
    u64 opaque[SIGCHECK_MBEDTLS_MPI_SIZE / 8];
} mpi;

void mbedtls_ecp_group_init(ecp_group *grp);
void mbedtls_ecp_group_free(ecp_group *grp);
int mbedtls_ecp_group_load(ecp_group *grp, int id);
void mbedtls_ecp_point_init(ecp_point *pt);
void mbedtls_ecp_point_free(ecp_point *pt);
int mbedtls_ecp_point_read_binary(const ecp_group *grp, ecp_point *pt, const unsigned char *buf, size_t ilen);
int mbedtls_ecp_check_pubkey(const ecp_group *grp, const ecp_point *pt);
void mbedtls_mpi_init(mpi *x);
void mbedtls_mpi_free(mpi *x);
int mbedtls_mpi_read_binary(mpi *x, const unsigned char *buf, size_t buflen);
int mbedtls_ecdsa_verify(ecp_group *grp, const unsigned char *buf, size_t blen, const ecp_point *q, const mpi *r,
                         const mpi *s);

void sigcheck_key_id(const u8 point[SIGCHECK_POINT_LEN], u8 id[GMETA_KEY_ID_LEN])
{
    u8 h[SHA256_LEN];
    sha256(point, SIGCHECK_POINT_LEN, h);
    memcpy(id, h, GMETA_KEY_ID_LEN);
}

void sigcheck_key_id_hex(const u8 id[GMETA_KEY_ID_LEN], char out[2 * GMETA_KEY_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < GMETA_KEY_ID_LEN; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[2 * GMETA_KEY_ID_LEN] = 0;
}

/* Whether the first line of a PEM file ("-----BEGIN ... -----") contains what. */
static bool pem_label_has(const u8 *buf, u64 len, const char *what)
{
    size_t n = strlen(what);
    for (u64 i = 0; i + n <= len && buf[i] != '\n'; i++)
        if (memcmp(buf + i, what, n) == 0)
            return true;
    return false;
}

int sigcheck_parse_pubfile(const u8 *buf, u64 len, u8 point[SIGCHECK_POINT_LEN], char *err, size_t errsz)
{
    /* The likely mistake: admin_key names the private admin.key that keygen wrote beside admin.pub. */
    if (len >= 11 && memcmp(buf, "-----BEGIN ", 11) == 0) {
        if (pem_label_has(buf, len, "PRIVATE KEY"))
            fmt_snprintf(err, errsz,
                         "a private key (PEM); give the public key admin.pub that christoize keygen "
                         "wrote beside it");
        else
            fmt_snprintf(err, errsz,
                         "a PEM file, not a Postern public key (give the admin.pub that christoize "
                         "keygen wrote)");
        return -1;
    }
    if (len < 8 || memcmp(buf, SIGCHECK_PUB_MAGIC, 8) != 0) {
        fmt_snprintf(err, errsz,
                     "not a Postern public key (expected the magic \"%s\" of christoize keygen's admin.pub)",
                     SIGCHECK_PUB_MAGIC);
        return -1;
    }
    if (len != SIGCHECK_PUB_FILE_LEN) {
        fmt_snprintf(err, errsz, "%llu bytes, a public key file has %u", (unsigned long long)len,
                     (unsigned)SIGCHECK_PUB_FILE_LEN);
        return -1;
    }
    if (rd16(buf, 8) != SIGCHECK_ALG_P256) {
        fmt_snprintf(err, errsz, "algorithm %u is unknown (1 = ECDSA P-256)", rd16(buf, 8));
        return -1;
    }
    if (rd16(buf, 10) != SIGCHECK_POINT_LEN || rd32(buf, 12) != 0) {
        fmt_snprintf(err, errsz, "point length %u / reserved 0x%x: expected 65 / 0", rd16(buf, 10), rd32(buf, 12));
        return -1;
    }
    if (buf[SIGCHECK_PUB_HDR] != 0x04) {
        fmt_snprintf(err, errsz, "the point does not start with 0x04 (SEC1 uncompressed)");
        return -1;
    }
    memcpy(point, buf + SIGCHECK_PUB_HDR, SIGCHECK_POINT_LEN);
    return 0;
}

int sigcheck_load_key(const u8 *buf, u64 len, struct sigcheck_key *k, char *err, size_t errsz)
{
    struct hosted_call h;
    ecp_group grp;
    ecp_point q;
    int rc;

    if (sigcheck_parse_pubfile(buf, len, k->point, err, errsz) != 0)
        return -1;
    hosted_enter(&h);
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1);
    if (rc == 0)
        rc = mbedtls_ecp_point_read_binary(&grp, &q, k->point, SIGCHECK_POINT_LEN);
    if (rc == 0)
        rc = mbedtls_ecp_check_pubkey(&grp, &q);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    hosted_leave(&h);
    if (rc != 0) {
        fmt_snprintf(err, errsz, "the point is not a valid P-256 public key (mbedTLS error -0x%04x)", -rc);
        return -1;
    }
    sigcheck_key_id(k->point, k->key_id);
    return 0;
}

enum sigcheck_result sigcheck_verify(const struct sigcheck_key *k, const u8 hash[32], const u8 sig[GMETA_SIG_LEN],
                                     char *err, size_t errsz)
{
    struct hosted_call h;
    ecp_group grp;
    ecp_point q;
    mpi r, s;
    int rc;

    hosted_enter(&h);
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1);
    if (rc == 0)
        rc = mbedtls_ecp_point_read_binary(&grp, &q, k->point, SIGCHECK_POINT_LEN);
    if (rc == 0)
        rc = mbedtls_mpi_read_binary(&r, sig, 32);
    if (rc == 0)
        rc = mbedtls_mpi_read_binary(&s, sig + 32, 32);
    if (rc == 0)
        rc = mbedtls_ecdsa_verify(&grp, hash, 32, &q, &r, &s);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    hosted_leave(&h);
    if (rc == 0)
        return SIGCHECK_OK;
    /* r or s out of [1, n-1] is MBEDTLS_ERR_ECP_VERIFY_FAILED too: a bad signature, not an error. */
    if (rc == MBEDTLS_ERR_ECP_VERIFY_FAILED)
        return SIGCHECK_BAD;
    fmt_snprintf(err, errsz, "%s (mbedTLS error -0x%04x)",
                 rc == MBEDTLS_ERR_MPI_ALLOC_FAILED ? "out of arena memory while verifying" : "cannot verify", -rc);
    return SIGCHECK_ERROR;
}

enum sigcheck_result sigcheck_gmeta(const struct sigcheck_key *k, const u8 *buf, const struct gmeta *m, char *err,
                                    size_t errsz)
{
    u8 digest[SHA256_LEN];

    if (m->sig_alg == GMETA_SIG_NONE)
        return SIGCHECK_UNSIGNED;
    if (m->sig_alg != GMETA_SIG_ECDSA_P256) { /* the parser refuses these; kept for a later version */
        fmt_snprintf(err, errsz, "signature algorithm %u is unknown", m->sig_alg);
        return SIGCHECK_ERROR;
    }
    if (memcmp(m->key_id, k->key_id, GMETA_KEY_ID_LEN) != 0)
        return SIGCHECK_OTHER_KEY;
    sha256(buf, m->signed_len, digest);
    return sigcheck_verify(k, digest, m->signature, err, errsz);
}
