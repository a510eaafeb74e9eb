/* UNIT-SOURCES: hv/guard/sigcheck.c hv/crypto/sha256.c hv/crypto/hosted.c hv/guard/gmeta.c hv/lib/fmt.c christoize/sign.c */
/* UNIT-LIBS: -lmbedcrypto */
/* Signed metadata (hv/guard/sigcheck.c, docs/gmeta.md "Signatures"): christoize's signing code (the
 * host's mbedTLS) against the hypervisor's verifier, compiled for the host with the same source;
 * a known answer made by OpenSSL; bad signatures, the wrong key, every flipped byte of the
 * signed region, out-of-range r and s, malformed public-key files; and the arena allocator that
 * backs mbedTLS in the hypervisor. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>

#include "christoize/sign.h"
#include "guard/gmeta.h"
#include "crypto/hosted.h"
#include "crypto/sha256.h"
#include "guard/sigcheck.h"

_Static_assert(sizeof(mbedtls_ecp_group) <= SIGCHECK_MBEDTLS_GROUP_SIZE, "ecp_group space");
_Static_assert(sizeof(mbedtls_ecp_point) <= SIGCHECK_MBEDTLS_POINT_SIZE, "ecp_point space");
_Static_assert(sizeof(mbedtls_mpi) <= SIGCHECK_MBEDTLS_MPI_SIZE, "mpi space");

/* ------------------------------------------------------------------ fixtures */
static const char *const privs[] = { "test" };
static const char *const funcs[] = { "gtest_init", "gtest_open" };
static const struct gmeta_site sites[] = {
    { 0x0010, 0, GMETA_SITE_INIT },
    { 0x0100, 1, GMETA_SITE_BORDER_IN_CALL },
};

static struct {
    char dir[64], dir2[64];
    struct cs_key *key, *key2;
    struct sigcheck_key hv, hv2; /* the same keys as the hypervisor loads them from admin.pub */
    u8 *unsigned_buf;
    u64 len;
} S;

static void read_file(const char *path, u8 *buf, u64 cap, u64 *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(buf, 1, cap, f);
    fclose(f);
}

static void load_pair(const char *dir, struct cs_key **k, struct sigcheck_key *hv)
{
    char path[128], err[300];
    u8 pub[200];
    u64 len;
    snprintf(path, sizeof(path), "%s/admin.key", dir);
    assert_int_equal(cs_key_load(path, k, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/admin.pub", dir);
    read_file(path, pub, sizeof(pub), &len);
    assert_int_equal(len, SIGCHECK_PUB_FILE_LEN);
    if (sigcheck_load_key(pub, len, hv, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

static int setup(void **state)
{
    char err[300];
    struct gmeta_builder b;

    strcpy(S.dir, "/tmp/test_sigcheck.XXXXXX");
    strcpy(S.dir2, "/tmp/test_sigcheck.XXXXXX");
    if (!mkdtemp(S.dir) || !mkdtemp(S.dir2))
        return -1;
    if (cs_keygen(S.dir, err, sizeof(err)) || cs_keygen(S.dir2, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    load_pair(S.dir, &S.key, &S.hv);
    load_pair(S.dir2, &S.key2, &S.hv2);

    memset(&b, 0, sizeof(b));
    b.name = "gtest";
    b.privs = privs;
    b.priv_count = 1;
    b.text_len = 0x1000;
    for (int i = 0; i < 32; i++)
        b.text_sha256[i] = (u8)(0x30 + i);
    b.funcs = funcs;
    b.func_count = 2;
    b.sites = sites;
    b.site_count = 2;
    S.len = gmeta_size(&b);
    S.unsigned_buf = malloc(S.len);
    u64 len = 0;
    return gmeta_write(&b, S.unsigned_buf, S.len, &len, err, sizeof(err)) || len != S.len ? -1 : 0;
}

static void rm_dir(const char *dir)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/admin.key", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/admin.pub", dir);
    unlink(path);
    rmdir(dir);
}

static int teardown(void **state)
{
    cs_key_free(S.key);
    cs_key_free(S.key2);
    free(S.unsigned_buf);
    rm_dir(S.dir);
    rm_dir(S.dir2);
    return 0;
}

/* A signed copy of the reference file, malloc'd at its exact length. */
static u8 *signed_copy(struct cs_key *k)
{
    char err[300];
    u8 *buf = malloc(S.len);
    memcpy(buf, S.unsigned_buf, S.len);
    if (cs_sign_buf(k, buf, S.len, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return buf;
}

static enum sigcheck_result check(const struct sigcheck_key *k, const u8 *buf, u64 len)
{
    struct gmeta m;
    char err[300];
    if (gmeta_parse(buf, len, &m, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    err[0] = 0;
    enum sigcheck_result r = sigcheck_gmeta(k, buf, &m, err, sizeof(err));
    if (r == SIGCHECK_ERROR)
        fail_msg("sigcheck error: %s", err);
    return r;
}

/* ------------------------------------------------------------------ tests */
static void test_key_files(void **state)
{
    u8 id[GMETA_KEY_ID_LEN], pub[SIGCHECK_PUB_FILE_LEN];
    cs_key_id(S.key, id);
    assert_memory_equal(id, S.hv.key_id, GMETA_KEY_ID_LEN);
    cs_key_pubfile(S.key, pub);
    assert_memory_equal(pub + SIGCHECK_PUB_HDR, S.hv.point, SIGCHECK_POINT_LEN);
    assert_memory_not_equal(S.hv.key_id, S.hv2.key_id, GMETA_KEY_ID_LEN);

    /* keygen never overwrites a key */
    char err[300];
    assert_int_equal(cs_keygen(S.dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "refusing to overwrite"));
}

static void test_sign_verify(void **state)
{
    u8 *a = signed_copy(S.key), *b = signed_copy(S.key);
    assert_int_equal(check(&S.hv, a, S.len), SIGCHECK_OK);
    /* deterministic (RFC 6979): signing twice gives the same bytes */
    assert_memory_equal(a, b, S.len);
    /* re-signing with another key replaces the signature */
    char err[300];
    assert_int_equal(cs_sign_buf(S.key2, b, S.len, err, sizeof(err)), 0);
    assert_int_equal(check(&S.hv2, b, S.len), SIGCHECK_OK);
    assert_int_equal(check(&S.hv, b, S.len), SIGCHECK_OTHER_KEY);
    free(a);
    free(b);
}

static void test_unsigned(void **state) { assert_int_equal(check(&S.hv, S.unsigned_buf, S.len), SIGCHECK_UNSIGNED); }

static void test_wrong_key(void **state)
{
    u8 *buf = signed_copy(S.key2);
    assert_int_equal(check(&S.hv, buf, S.len), SIGCHECK_OTHER_KEY);
    /* the key ID is not signed: claiming the administrator's ID does not make it verify */
    struct gmeta m;
    assert_int_equal(gmeta_parse(buf, S.len, &m, NULL, 0), 0);
    memcpy(buf + S.len - 96 + 16, S.hv.key_id, GMETA_KEY_ID_LEN);
    assert_int_equal(check(&S.hv, buf, S.len), SIGCHECK_BAD);
    free(buf);
}

/* Every byte of the signed region, flipped: either the parser refuses the file or the
 * signature does not verify. Every byte of r and s likewise. */
static void test_flipped_bytes(void **state)
{
    u8 *buf = signed_copy(S.key);
    u64 signed_len = S.len - 96;
    unsigned parsed = 0;
    for (u64 i = 0; i < S.len; i++) {
        if (i >= signed_len && i < signed_len + 32)
            continue; /* trailer magic, alg, flags, key ID: parser or key-ID checks, below */
        struct gmeta m;
        buf[i] ^= 0x01;
        if (gmeta_parse(buf, S.len, &m, NULL, 0) == 0) {
            char err[200];
            parsed++;
            enum sigcheck_result r = sigcheck_gmeta(&S.hv, buf, &m, err, sizeof(err));
            if (r != SIGCHECK_BAD)
                fail_msg("byte %llu flipped: result %d, expected SIGCHECK_BAD", (unsigned long long)i, r);
        }
        buf[i] ^= 0x01;
    }
    assert_true(parsed > 64 + 32); /* at least the signature and the hash were tried */
    /* a key-ID byte flipped: another key */
    buf[signed_len + 16] ^= 0x80;
    assert_int_equal(check(&S.hv, buf, S.len), SIGCHECK_OTHER_KEY);
    buf[signed_len + 16] ^= 0x80;
    assert_int_equal(check(&S.hv, buf, S.len), SIGCHECK_OK);
    free(buf);
}

/* r or s outside [1, n-1] is a bad signature, never an error or a crash. */
static void test_out_of_range(void **state)
{
    static const u8 n[32] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                              0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
    u8 hash[32] = { 1 }, sig[64];
    char err[200];
    memcpy(sig, n, 32);
    memcpy(sig + 32, n, 32);
    assert_int_equal(sigcheck_verify(&S.hv, hash, sig, err, sizeof(err)), SIGCHECK_BAD);
    memset(sig, 0xff, sizeof(sig));
    assert_int_equal(sigcheck_verify(&S.hv, hash, sig, err, sizeof(err)), SIGCHECK_BAD);
    memset(sig, 0, sizeof(sig));
    sig[31] = sig[63] = 1;
    assert_int_equal(sigcheck_verify(&S.hv, hash, sig, err, sizeof(err)), SIGCHECK_BAD);
}

static void hex(const char *s, u8 *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sscanf(s + 2 * i, "%2hhx", &out[i]);
}

/* A signature made by OpenSSL 3 (openssl dgst -sha256 -sign, prime256v1), an implementation
 * independent of mbedTLS, over "postern sigcheck known answer". */
static void test_openssl_known_answer(void **state)
{
    static const char point[] = "046e2270c27b198a3a092a5019aad85196a51916f14b850891adb3851af879bfe9"
                                "acddb3d2ad529de10b5e00caf6ce211cebd3f3a871d95951faf57d5d552eb0e6";
    static const char rs[] = "c0589726ce605da7943a55fc206f6fbcf1ee03e95efeb2c0fe9b2953f3f2c905"
                             "47cf55a9d72a890a317c706fcaee6061a8d491679b8222a3dfcb0d9eb7063e9d";
    static const char msg[] = "postern sigcheck known answer";
    u8 file[SIGCHECK_PUB_FILE_LEN] = "PSTPUBK1", hash[32], sig[64];
    struct sigcheck_key k;
    char err[200];

    file[8] = 1;
    file[10] = 65;
    hex(point, file + SIGCHECK_PUB_HDR, 65);
    hex(rs, sig, 64);
    assert_int_equal(sigcheck_load_key(file, sizeof(file), &k, err, sizeof(err)), 0);
    sha256(msg, strlen(msg), hash);
    assert_int_equal(sigcheck_verify(&k, hash, sig, err, sizeof(err)), SIGCHECK_OK);
    hash[0] ^= 1;
    assert_int_equal(sigcheck_verify(&k, hash, sig, err, sizeof(err)), SIGCHECK_BAD);
}

static void expect_bad_pubfile(const u8 *buf, u64 len, const char *what)
{
    struct sigcheck_key k;
    char err[200];
    assert_int_equal(sigcheck_load_key(buf, len, &k, err, sizeof(err)), -1);
    if (!strstr(err, what))
        fail_msg("message '%s' lacks '%s'", err, what);
}

static void test_bad_pubfiles(void **state)
{
    u8 good[SIGCHECK_PUB_FILE_LEN], b[SIGCHECK_PUB_FILE_LEN + 1];
    cs_key_pubfile(S.key, good);

    expect_bad_pubfile(good, 4, "not a Postern public key");
    memcpy(b, good, sizeof(good));
    b[0] = 'X';
    expect_bad_pubfile(b, sizeof(good), "not a Postern public key");
    expect_bad_pubfile(good, sizeof(good) - 1, "80 bytes, a public key file has 81");
    memcpy(b, good, sizeof(good));
    b[sizeof(good)] = 0;
    expect_bad_pubfile(b, sizeof(good) + 1, "82 bytes");
    memcpy(b, good, sizeof(good));
    b[8] = 2;
    expect_bad_pubfile(b, sizeof(good), "algorithm 2 is unknown");
    memcpy(b, good, sizeof(good));
    b[10] = 33;
    expect_bad_pubfile(b, sizeof(good), "point length 33");
    memcpy(b, good, sizeof(good));
    b[12] = 1;
    expect_bad_pubfile(b, sizeof(good), "reserved 0x1");
    memcpy(b, good, sizeof(good));
    b[SIGCHECK_PUB_HDR] = 0x02;
    expect_bad_pubfile(b, sizeof(good), "does not start with 0x04");
    memcpy(b, good, sizeof(good));
    b[SIGCHECK_PUB_FILE_LEN - 1] ^= 1; /* Y no longer matches X: off the curve */
    expect_bad_pubfile(b, sizeof(good), "not a valid P-256 public key");
}

/* The private key keygen writes beside admin.pub, given as admin_key by mistake: named as such,
 * whatever its size; another PEM file is called a PEM file. */
static void test_private_key_as_pubfile(void **state)
{
    char path[128], pem[1024];
    snprintf(path, sizeof(path), "%s/admin.key", S.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(pem, 1, sizeof(pem), f);
    fclose(f);
    assert_true(n > SIGCHECK_PUB_FILE_LEN);
    expect_bad_pubfile((const u8 *)pem, n, "a private key (PEM); give the public key admin.pub");
    expect_bad_pubfile((const u8 *)pem, SIGCHECK_PUB_FILE_LEN, "a private key (PEM)");

    const char *pkcs8 = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n";
    expect_bad_pubfile((const u8 *)pkcs8, strlen(pkcs8), "a private key (PEM)");
    const char *pub = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PRIVATE KEY-----\n";
    expect_bad_pubfile((const u8 *)pub, strlen(pub), "a PEM file, not a Postern public key");
}

static void test_key_load_errors(void **state)
{
    struct cs_key *k = NULL;
    char err[300], path[128];
    snprintf(path, sizeof(path), "%s/admin.pub", S.dir);
    assert_int_equal(cs_key_load(path, &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is a public key"));
    assert_int_equal(cs_key_load("/nonexistent/admin.key", &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot read the signing key: No such file"));
    assert_null(k);
}

/* ------------------------------------------------------------------ the arena */
static void test_arena(void **state)
{
    static u8 mem[8192] __attribute__((aligned(16)));
    struct hosted_arena a;
    hosted_arena_init(&a, mem, sizeof(mem));

    u8 *p = hosted_arena_calloc(&a, 10, 10); /* 100 + 16 -> 128-byte block */
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(p[i], 0);
    memset(p, 0xaa, 100);
    assert_false(hosted_arena_reset(&a)); /* a block is live */
    assert_true(hosted_arena_free(&a, p));
    u8 *q = hosted_arena_calloc(&a, 1, 100); /* reused, and zeroed again */
    assert_ptr_equal(p, q);
    for (int i = 0; i < 100; i++)
        assert_int_equal(q[i], 0);
    assert_false(hosted_arena_free(&a, mem + 4000)); /* never handed out */
    assert_false(hosted_arena_free(&a, (u8 *)&a));
    assert_true(hosted_arena_free(&a, NULL));
    assert_null(hosted_arena_calloc(&a, 1, 4096));            /* over the largest block */
    assert_null(hosted_arena_calloc(&a, (size_t)1 << 62, 8)); /* n * size overflows */
    assert_true(hosted_arena_free(&a, q));
    assert_true(hosted_arena_reset(&a));
    /* exhaustion: 8 KiB holds two 4 KiB blocks */
    void *x = hosted_arena_calloc(&a, 1, 4000), *y = hosted_arena_calloc(&a, 1, 3000);
    assert_non_null(x);
    assert_non_null(y);
    assert_null(hosted_arena_calloc(&a, 1, 4000));
    assert_true(hosted_arena_free(&a, x));
    assert_true(hosted_arena_free(&a, y));
    assert_true(hosted_arena_reset(&a));
    assert_int_equal(a.used, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_openssl_known_answer),
        cmocka_unit_test(test_bad_pubfiles),
        cmocka_unit_test(test_private_key_as_pubfile),
        cmocka_unit_test(test_key_load_errors),
        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
