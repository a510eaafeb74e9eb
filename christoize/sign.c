/* christoize/sign.c — key generation and .gmeta signing with the host's mbedTLS (sign.h). */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>

#include "../hv/guard/gmeta.h"
#include "../hv/guard/sigcheck.h"

_Static_assert(SIGCHECK_PUB_FILE_LEN == 81, "sign.h promises 81 bytes");

struct cs_key {
    mbedtls_pk_context pk;
};

static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *mbed_err(int rc)
{
    static char buf[160];
    mbedtls_strerror(rc, buf, sizeof(buf));
    return buf;
}

/* A CTR_DRBG seeded from the system's entropy sources (getrandom / /dev/urandom). */
struct rng {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
};

static int rng_init(struct rng *r, char *err, size_t n)
{
    static const char pers[] = "christoize";
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    int rc = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy, (const unsigned char *)pers,
                                   sizeof(pers) - 1);
    return rc ? fail(err, n, "cannot seed the random generator: %s", mbed_err(rc)) : 0;
}

static void rng_free(struct rng *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
}

static void point_bytes(const mbedtls_ecp_keypair *ec, uint8_t point[SIGCHECK_POINT_LEN])
{
    size_t olen = 0;
    mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, point, SIGCHECK_POINT_LEN);
}

void cs_key_pubfile(const struct cs_key *k, uint8_t out[81])
{
    memset(out, 0, SIGCHECK_PUB_FILE_LEN);
    memcpy(out, SIGCHECK_PUB_MAGIC, 8);
    out[8] = SIGCHECK_ALG_P256;
    out[10] = SIGCHECK_POINT_LEN;
    point_bytes(mbedtls_pk_ec(k->pk), out + SIGCHECK_PUB_HDR);
}

void cs_key_id(const struct cs_key *k, uint8_t id[16])
{
    uint8_t point[SIGCHECK_POINT_LEN], h[32];
    point_bytes(mbedtls_pk_ec(k->pk), point);
    mbedtls_sha256_ret(point, sizeof(point), h, 0);
    memcpy(id, h, GMETA_KEY_ID_LEN);
}

void cs_key_free(struct cs_key *k)
{
    if (!k)
        return;
    mbedtls_pk_free(&k->pk);
    free(k);
}

int cs_key_load(const char *path, struct cs_key **out, char *err, size_t n)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, n, "%s: cannot read the signing key: %s", path, strerror(errno));
    char head[8] = { 0 };
    size_t got = fread(head, 1, sizeof(head), f);
    fclose(f);
    if (got == 8 && !memcmp(head, SIGCHECK_PUB_MAGIC, 8))
        return fail(err, n, "%s is a public key (admin.pub); signing needs the private key (admin.key)", path);

    struct cs_key *k = calloc(1, sizeof(*k));
    if (!k)
        return fail(err, n, "out of memory");
    mbedtls_pk_init(&k->pk);
    int rc = mbedtls_pk_parse_keyfile(&k->pk, path, NULL);
    if (rc) {
        cs_key_free(k);
        if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED)
            return fail(err, n, "%s: the key is encrypted; christoize needs an unencrypted one (christoize keygen)",
                        path);
        return fail(err, n, "%s: not a private key in PEM or DER form (%s)", path, mbed_err(rc));
    }
    if (mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECKEY && mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECDSA) {
        fail(err, n, "%s: the key is of type %s; .gmeta signatures are ECDSA P-256 (christoize keygen makes one)", path,
             mbedtls_pk_get_name(&k->pk));
        cs_key_free(k);
        return -1;
    }
    if (mbedtls_pk_ec(k->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        const mbedtls_ecp_curve_info *ci = mbedtls_ecp_curve_info_from_grp_id(mbedtls_pk_ec(k->pk)->grp.id);
        fail(err, n, "%s: an EC key on curve %s; .gmeta signatures need P-256 (secp256r1)", path, ci ? ci->name : "?");
        cs_key_free(k);
        return -1;
    }
    *out = k;
    return 0;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode, char *err, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0)
        return fail(err, n, "%s: %s", path, errno == EEXIST ? "exists; refusing to overwrite a key" : strerror(errno));
    if (fchmod(fd, mode) || write(fd, data, len) != (ssize_t)len || close(fd)) {
        int e = errno;
        unlink(path);
        return fail(err, n, "%s: cannot write: %s", path, strerror(e));
    }
    return 0;
}

int cs_keygen(const char *dir, char *err, size_t n)
{
    char key_path[4096], pub_path[4096];
    struct rng r;
    struct cs_key k;
    unsigned char pem[1024];
    uint8_t pub[SIGCHECK_PUB_FILE_LEN];
    int rc = -1, mrc;

    if (snprintf(key_path, sizeof(key_path), "%s/%s", dir, CS_KEY_FILE) >= (int)sizeof(key_path) ||
        snprintf(pub_path, sizeof(pub_path), "%s/%s", dir, CS_PUB_FILE) >= (int)sizeof(pub_path))
        return fail(err, n, "%s: path too long", dir);
    if (mkdir(dir, 0700) && errno != EEXIST)
        return fail(err, n, "%s: cannot create the directory: %s", dir, strerror(errno));
    if (!access(key_path, F_OK) || !access(pub_path, F_OK))
        return fail(err, n, "%s: exists; refusing to overwrite a key", !access(key_path, F_OK) ? key_path : pub_path);
    if (rng_init(&r, err, n))
        return -1;
    mbedtls_pk_init(&k.pk);
    if ((mrc = mbedtls_pk_setup(&k.pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) ||
        (mrc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k.pk), mbedtls_ctr_drbg_random, &r.drbg)) ||
        (mrc = mbedtls_pk_write_key_pem(&k.pk, pem, sizeof(pem)))) {
        fail(err, n, "cannot generate an ECDSA P-256 key: %s", mbed_err(mrc));
        goto out;
    }
    cs_key_pubfile(&k, pub);
    if (write_file(key_path, pem, strlen((char *)pem), 0600, err, n))
        goto out;
    if (write_file(pub_path, pub, sizeof(pub), 0644, err, n)) {
        unlink(key_path);
        goto out;
    }
    rc = 0;
out:
    mbedtls_platform_zeroize(pem, sizeof(pem));
    mbedtls_pk_free(&k.pk);
    rng_free(&r);
    return rc;
}

int cs_sign_buf(const struct cs_key *k, uint8_t *buf, uint64_t len, char *err, size_t n)
{
    struct gmeta m;
    char gerr[300];
    uint8_t digest[32], sig[GMETA_SIG_LEN], id[GMETA_KEY_ID_LEN];
    mbedtls_mpi r, s;
    struct rng rng;
    int rc = -1, mrc;

    if (gmeta_parse(buf, len, &m, gerr, sizeof(gerr)))
        return fail(err, n, "%s", gerr);
    mbedtls_sha256_ret(buf, m.signed_len, digest, 0);
    if (rng_init(&rng, err, n))
        return -1;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    mbedtls_ecp_keypair *ec = mbedtls_pk_ec(k->pk);
    /* RFC 6979: k derived from the key and the digest; the DRBG only blinds the computation. */
    mrc = mbedtls_ecdsa_sign_det_ext(&ec->grp, &r, &s, &ec->d, digest, sizeof(digest), MBEDTLS_MD_SHA256,
                                     mbedtls_ctr_drbg_random, &rng.drbg);
    if (!mrc)
        mrc = mbedtls_mpi_write_binary(&r, sig, 32);
    if (!mrc)
        mrc = mbedtls_mpi_write_binary(&s, sig + 32, 32);
    if (mrc) {
        fail(err, n, "ECDSA signing failed: %s", mbed_err(mrc));
        goto out;
    }
    cs_key_id(k, id);
    if (gmeta_set_signature(buf, len, id, sig, gerr, sizeof(gerr))) {
        fail(err, n, "%s", gerr);
        goto out;
    }
    rc = 0;
out:
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    rng_free(&rng);
    return rc;
}

int cs_sign_file(const struct cs_key *k, const char *path, char *err, size_t n)
{
    char tmp[4096];
    uint8_t *buf = NULL;
    long len;
    int rc = -1;
    FILE *f = fopen(path, "rb");

    if (!f)
        return fail(err, n, "%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return fail(err, n, "%s: cannot read: %s", path, strerror(errno));
    }
    if (len > GMETA_MAX_SIZE) {
        fclose(f);
        return fail(err, n, "%s: %ld bytes, more than a .gmeta may have (%u)", path, len, GMETA_MAX_SIZE);
    }
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(buf);
        return fail(err, n, "%s: cannot read: %s", path, buf ? strerror(errno) : "out of memory");
    }
    fclose(f);
    char serr[400];
    if (cs_sign_buf(k, buf, (uint64_t)len, serr, sizeof(serr))) {
        fail(err, n, "%s: %s", path, serr);
        goto out;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        fail(err, n, "%s: path too long", path);
        goto out;
    }
    f = fopen(tmp, "wb");
    int ok = f && fwrite(buf, 1, (size_t)len, f) == (size_t)len;
    if (f && fclose(f))
        ok = 0;
    if (!ok || rename(tmp, path)) {
        fail(err, n, "%s: cannot write: %s", ok ? path : tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}
