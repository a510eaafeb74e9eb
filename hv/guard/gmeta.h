/*
 * Guarded-module metadata (".gmeta"): the binary file christoize writes next to a guarded .ko and
 * the hypervisor reads (preloaded from the ESP by the loader, or pasted into the admin shell).
 * One source, hv/guard/gmeta.c, is compiled into both: freestanding C11, no libc beyond hv/lib/lib.h, no
 * allocation, no floating point. The byte layout, limits and error messages are in docs/gmeta.md.
 *
 * Parsing is strict and zero-copy: gmeta_parse() checks every byte of the file (lengths, counts,
 * offsets, strings, ordering, reserved fields, padding, trailer) and never reads past `len`; on
 * success struct gmeta holds copies of the small fields and pointers into `buf` for the tables.
 * The buffer must therefore outlive the struct and must not change after parsing: the hypervisor
 * keeps it in memory the guest cannot reach (the loader's pages, or its own copy).
 *
 * All multi-byte fields are little-endian and read byte by byte: `buf` needs no alignment.
 */
#ifndef POSTERN_GMETA_H
#define POSTERN_GMETA_H

#include "lib/types.h"

/* ------------------------------------------------------------------ format constants */
#define GMETA_MAGIC         "PSTGMETA" /* 8 bytes, no NUL in the file */
#define GMETA_MAGIC_LEN     8
#define GMETA_VERSION       1 /* the only version this build reads and writes */
#define GMETA_HEADER_SIZE   144
#define GMETA_TRAILER_MAGIC "GMETASIG"
#define GMETA_TRAILER_SIZE  96
#define GMETA_PRIV_SLOT     32
#define GMETA_SITE_SIZE     8
#define GMETA_HOLE_SIZE     8

/* ------------------------------------------------------------------ limits */
#define GMETA_MAX_SIZE      (1u << 20)  /* whole file, trailer included */
#define GMETA_MAX_TEXT_LEN  (64u << 20) /* hashed text region */
#define GMETA_NAME_MAX      55          /* module name, printable ASCII 0x21-0x7e */
#define GMETA_MAX_PRIVS     8           /* privilege names per module */
#define GMETA_PRIV_NAME_MAX 31          /* [a-z0-9_-] */
#define GMETA_MAX_FUNCS     65536       /* function-name table entries */
#define GMETA_FUNC_NAME_MAX 127         /* [A-Za-z0-9_.$], not starting with a digit */
#define GMETA_MAX_SITES     65536
#define GMETA_MAX_HOLES     65536
#define GMETA_HOLE_MAX_LEN  8
#define GMETA_SITE_INSN_LEN 3 /* VMMCALL 0F 01 D9 / VMCALL 0F 01 C1 */

/* ------------------------------------------------------------------ site kinds */
/* A site is the offset, from the start of the hashed text, of the first byte of one hypercall
 * instruction. Kind numbers are part of the file format. */
enum gmeta_site_kind {
    GMETA_SITE_INIT = 1,            /* registration: the module's first act (exactly one) */
    GMETA_SITE_DEINIT = 2,          /* its last act (at most one: a module without exit has none) */
    GMETA_SITE_BORDER_IN_CALL = 3,  /* entry wrapper, before calling the original */
    GMETA_SITE_BORDER_OUT_RET = 4,  /* entry wrapper, after the original returned */
    GMETA_SITE_BORDER_OUT_CALL = 5, /* exit wrapper, before calling the kernel */
    GMETA_SITE_BORDER_IN_RET = 6,   /* exit wrapper, after the kernel returned */
};
#define GMETA_SITE_KIND_MIN 1
#define GMETA_SITE_KIND_MAX 6

/* ------------------------------------------------------------------ relocation-hole kinds */
/* Text bytes the kernel may rewrite at load time. The verifier decides what to do with them
 * (docs/gmeta.md); this format only carries them. Kind numbers are part of the file format. */
enum gmeta_hole_kind {
    GMETA_HOLE_ABS64 = 1,        /* R_X86_64_64: length 8 */
    GMETA_HOLE_ABS32 = 2,        /* R_X86_64_32: length 4 */
    GMETA_HOLE_ABS32S = 3,       /* R_X86_64_32S: length 4 */
    GMETA_HOLE_PC32 = 4,         /* R_X86_64_PC32 / PLT32: length 4 */
    GMETA_HOLE_FENTRY = 5,       /* ftrace __fentry__ call / NOP: length 5 */
    GMETA_HOLE_JUMP_LABEL = 6,   /* static key jump / NOP: length 2 or 5 */
    GMETA_HOLE_STATIC_CALL = 7,  /* static_call site: length 5 */
    GMETA_HOLE_ALTERNATIVE = 8,  /* alternatives patch site: length 1-8 */
    GMETA_HOLE_RETPOLINE = 9,    /* call/jmp to __x86_indirect_thunk_*: length 1-8 */
    GMETA_HOLE_RETURN_THUNK = 10 /* jmp __x86_return_thunk / ret: length 5 */
};
#define GMETA_HOLE_KIND_MIN 1
#define GMETA_HOLE_KIND_MAX 10

/* ------------------------------------------------------------------ signature trailer */
#define GMETA_SIG_NONE       0       /* sig_alg: unsigned */
#define GMETA_SIG_ECDSA_P256 1       /* sig_alg: ECDSA P-256 over SHA-256 of bytes [0, signed_len) */
#define GMETA_SIGF_UNSIGNED  0x0001u /* sig_flags: set exactly when sig_alg is GMETA_SIG_NONE */
#define GMETA_KEY_ID_LEN     16      /* first 16 bytes of SHA-256 of the signer's SEC1 public key */
#define GMETA_SIG_LEN        64      /* r || s, 32 bytes each, big-endian */

/* One site or hole, decoded (also the writer's input). */
struct gmeta_site {
    u32 offset; /* from the start of the hashed text */
    u16 func;   /* index into the function-name table */
    u8 kind;    /* enum gmeta_site_kind */
};

struct gmeta_hole {
    u32 offset;
    u8 len;  /* 1..8 */
    u8 kind; /* enum gmeta_hole_kind */
};

/* A parsed file. Small fields are copied; tables point into the parsed buffer. */
struct gmeta {
    u16 version;
    u32 total_size;
    u32 text_len;
    u8 text_sha256[32];
    char name[GMETA_NAME_MAX + 1];

    u32 priv_count;
    char privs[GMETA_MAX_PRIVS][GMETA_PRIV_NAME_MAX + 1];

    u32 func_count;
    const u8 *func_offsets; /* func_count little-endian u32 */
    const char *strtab;     /* every name NUL-terminated, checked */
    u32 strtab_size;

    u32 site_count;
    const u8 *sites;                         /* site_count entries of GMETA_SITE_SIZE bytes, sorted by (kind, offset) */
    u32 kind_first[GMETA_SITE_KIND_MAX + 1]; /* index of each kind's first site */
    u32 kind_count[GMETA_SITE_KIND_MAX + 1]; /* [0] unused */
    u32 init_offset;                         /* the one INIT site */
    bool has_deinit;
    u32 deinit_offset;

    u32 hole_count;
    const u8 *holes; /* sorted by offset, disjoint */

    u16 sig_alg;
    u16 sig_flags;
    u8 key_id[GMETA_KEY_ID_LEN];
    const u8 *signature; /* GMETA_SIG_LEN bytes */
    u32 signed_len;      /* the signature covers bytes [0, signed_len): everything before the trailer */
};

/* Validates the whole file and fills *out (untouched on failure). Returns 0, or -1 with a
 * NUL-terminated message "gmeta: ..." naming the field in err (when err && errsz). */
int gmeta_parse(const u8 *buf, u64 len, struct gmeta *out, char *err, size_t errsz);

/* ------------------------------------------------------------------ writer (christoize) */
struct gmeta_builder {
    const char *name;
    const char *const *privs;
    u32 priv_count;
    u32 text_len;
    u8 text_sha256[32];
    const char *const *funcs; /* names, in index order */
    u32 func_count;
    const struct gmeta_site *sites; /* must already be sorted by (kind, offset) */
    u32 site_count;
    const struct gmeta_hole *holes; /* must already be sorted by offset */
    u32 hole_count;
    u16 sig_alg; /* GMETA_SIG_NONE, or GMETA_SIG_ECDSA_P256 with the two below */
    u8 key_id[GMETA_KEY_ID_LEN];
    u8 signature[GMETA_SIG_LEN];
};

/* The exact size gmeta_write() will produce, or 0 when the builder's counts or string lengths
 * are out of range (gmeta_write() then says which). */
u64 gmeta_size(const struct gmeta_builder *b);

/* Encodes b into buf[0..cap) and sets *len. The output is then run through gmeta_parse(), so the
 * writer never produces a file the parser rejects; errors carry the parser's messages. Returns 0
 * or -1 (buf contents unspecified, *len 0). */
int gmeta_write(const struct gmeta_builder *b, u8 *buf, u64 cap, u64 *len, char *err, size_t errsz);

/* Signing (christoize --sign): write unsigned, sign bytes [0, m.signed_len) with ECDSA P-256 /
 * SHA-256, then patch the trailer in place. The file is re-validated before and after. */
int gmeta_set_signature(u8 *buf, u64 len, const u8 key_id[GMETA_KEY_ID_LEN], const u8 sig[GMETA_SIG_LEN], char *err,
                        size_t errsz);

/* ------------------------------------------------------------------ runtime lookups */
/* Site i (0 <= i < site_count) in file order; hole i likewise. */
void gmeta_site_at(const struct gmeta *m, u32 i, struct gmeta_site *out);
void gmeta_hole_at(const struct gmeta *m, u32 i, struct gmeta_hole *out);

/* The INIT site's offset: the hypervisor derives the text base as (init hypercall RIP - offset). */
static inline u32 gmeta_init_offset(const struct gmeta *m) { return m->init_offset; }

/* The sites of one kind are the contiguous file indices [*first, *first + return value). */
u32 gmeta_sites_of_kind(const struct gmeta *m, u32 kind, u32 *first);

/* Binary search within a kind; returns the file index, or -1 when offset is not a site of that kind. */
s64 gmeta_find_site(const struct gmeta *m, u32 kind, u32 offset);

/* Function name by index ("?" when out of range); points into the parsed buffer. */
const char *gmeta_func_name(const struct gmeta *m, u32 idx);

/* "INIT", "BORDER_IN_CALL", ... and "ABS64", "FENTRY", ...; "?" for unknown numbers. */
const char *gmeta_site_kind_name(u32 kind);
const char *gmeta_hole_kind_name(u32 kind);

#endif
