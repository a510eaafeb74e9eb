/*
 * Decoder for a file pasted into the admin shell over the serial line (docs/admin-shell.md,
 * "Pasting metadata"; tools/gmeta-paste.sh writes the block):
 *
 *     paste SIZE SUM      the shell command: SIZE in decimal bytes, SUM the first 16 hex digits of
 *                         the SHA-256 of the bytes (either case)
 *     <base64 lines>      standard alphabet, '=' padding; any line length; quanta may span lines;
 *                         blanks (space, tab) anywhere and blank lines are ignored
 *     end                 the block is complete: length and checksum are checked
 *     abort               the block is dropped
 *
 * Pure logic: the output buffer and the SHA-256 function are the caller's (in the hypervisor
 * hv/crypto/sha256.h's sha256(); on the host any implementation), nothing is allocated, and no input line
 * can make it write past the buffer (at most SIZE <= cap bytes are ever stored).
 *
 * The caller's loop: after paste_begin() succeeds, feed every line to paste_line() while
 * paste_active() is true. PASTE_ERROR mid-block kills the block, but the rest of it is still
 * swallowed up to its "end" (or "abort") line, which then gives PASTE_ABORTED: a pasted block that
 * went wrong never spills its remaining lines into the command line. Ctrl-C: paste_cancel().
 * A zeroed struct paste is idle (paste_active() false).
 */
#ifndef POSTERN_PASTE_H
#define POSTERN_PASTE_H

#include "lib/types.h"

#define PASTE_MAX        (1u << 20) /* largest SIZE (GMETA_MAX_SIZE: a whole .gmeta file) */
#define PASTE_SUM_DIGITS 16         /* hex digits of SUM: the first 8 bytes of the SHA-256 */
#define PASTE_ERR_MAX    160        /* an error buffer this big holds every message in full */

enum paste_status {
    PASTE_MORE,    /* keep feeding lines */
    PASTE_DONE,    /* "end": p->len == SIZE bytes in the buffer, checksum verified */
    PASTE_ABORTED, /* "abort", or the "end"/"abort" closing a block that had failed */
    PASTE_ERROR,   /* message in err; see paste_active() for whether lines are still swallowed */
};

/* SHA-256 of data[0..len): hv/crypto/sha256.h's sha256() has this type. */
typedef void (*paste_sha256_fn)(const void *data, u64 len, u8 out[32]);

struct paste {
    u8 *buf; /* the caller's, cap bytes */
    size_t cap;
    size_t size; /* SIZE: bytes expected */
    size_t len;  /* bytes decoded so far, <= size */
    u8 sum[PASTE_SUM_DIGITS / 2];
    paste_sha256_fn sha256;
    u32 line_no; /* lines fed since paste_begin(); the first line after the command is 1 */
    u8 quad[4];  /* 6-bit values of the current base64 quantum */
    u8 nquad;    /* characters of it so far (0..3) */
    u8 npad;     /* '=' characters in it */
    u8 state;    /* enum in paste.c: idle, decoding, padded (only "end" may follow), draining */
};

/* Starts a block: parses SIZE and SUM (the words after "paste"). Returns 0, or -1 with one of
 *   size 'x' is not a decimal number     size must be at least 1
 *   size N is too large (at most M bytes)          (M = min(cap, PASTE_MAX))
 *   checksum 'x' is not 16 hex digits (the start of the file's SHA-256)
 * buf must stay valid until the block ends. */
int paste_begin(struct paste *p, const char *size_arg, const char *sum_arg, u8 *buf, size_t cap, paste_sha256_fn sha256,
                char *err, size_t errsz);

/* Feeds one line (NUL-terminated, without its line end). PASTE_ERROR messages:
 *   line N column C: invalid base64 character 'X'          ('\xHH' for a byte outside 0x21-0x7e)
 *   line N column C: '=' in the first half of a base64 group
 *   line N column C: data after padding
 *   line N column C: base64 padding with non-zero bits     (e.g. "QR==": not base64's own encoding)
 *   line N: more bytes than SIZE (N)
 *   end: incomplete base64 group (K characters left over)
 *   end: fewer bytes than SIZE (got N of M)
 *   end: checksum mismatch (expected 0123456789abcdef, got fedcba9876543210)
 *   no paste in progress
 * After an "end:" error the block is over (paste_active() false); after the others the block is
 * dead but swallows lines until its "end"/"abort". err is always NUL-terminated when errsz > 0. */
enum paste_status paste_line(struct paste *p, const char *line, char *err, size_t errsz);

/* True while lines belong to the block (decoding it, or swallowing the rest of a failed one). */
bool paste_active(const struct paste *p);
/* Ends the block at once (Ctrl-C); the buffer's contents are then meaningless. */
void paste_cancel(struct paste *p);
/* Kills the block as an error in a line would (e.g. the line editor refused an overlong line): the
 * rest is swallowed up to its "end"/"abort". */
void paste_fail(struct paste *p);

#endif
