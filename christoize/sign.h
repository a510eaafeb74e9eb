/* christoize/sign.h — the administrator's key and signed .gmeta (docs/gmeta.md "Signatures").
 *   christoize keygen --out DIR            DIR/admin.key (PEM, 0600) + DIR/admin.pub (hv/guard/sigcheck.h)
 *   christoize build ... --sign KEY        the .gmeta it writes is signed
 *   christoize sign --key KEY FILE.gmeta   (re)signs a file in place
 * Signatures are ECDSA P-256 over SHA-256 of the bytes before the trailer, made deterministically
 * (RFC 6979 via mbedTLS, blinded with a CTR_DRBG seeded from the system's entropy): the same key
 * and the same file give the same signature, so signed builds stay reproducible. */
#ifndef CHRISTOIZE_SIGN_H
#define CHRISTOIZE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define CS_KEY_FILE "admin.key"
#define CS_PUB_FILE "admin.pub"

struct cs_key;

/* Writes DIR/admin.key and DIR/admin.pub (creating DIR if needed; never overwriting a key). */
int cs_keygen(const char *dir, char *err, size_t errlen);

/* Loads a private key (PEM or DER); refuses anything but an ECDSA P-256 key, naming the file and
 * what it holds instead. */
int cs_key_load(const char *path, struct cs_key **out, char *err, size_t errlen);
void cs_key_free(struct cs_key *k);

/* The public key file's 81 bytes (hv/guard/sigcheck.h) and the key ID a signed trailer carries. */
void cs_key_pubfile(const struct cs_key *k, uint8_t out[81]);
void cs_key_id(const struct cs_key *k, uint8_t id[16]);

/* Signs a .gmeta held in memory (already valid, signed or not): patches its trailer. */
int cs_sign_buf(const struct cs_key *k, uint8_t *buf, uint64_t len, char *err, size_t errlen);

/* Reads PATH, signs it, replaces it (write to PATH.tmp, then rename). */
int cs_sign_file(const struct cs_key *k, const char *path, char *err, size_t errlen);

#endif
