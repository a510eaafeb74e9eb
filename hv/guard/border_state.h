/*
 * Border control's state (struct border, hv/guard/border.h) and what its files share. Only the
 * files that make up border control include this: border.c (the exit path), gm_load.c (metadata
 * intake, signature policy), border_report.c (reports); text_protect.c and park.c keep tables
 * of their own that struct border holds.
 */
#ifndef POSTERN_BORDER_STATE_H
#define POSTERN_BORDER_STATE_H

#include "guard/border.h"
#include "guard/gmeta.h"
#include "guard/park.h"
#include "guard/sigcheck.h"
#include "guard/text_protect.h"

/* The VM's border control: the state machine, and what the exit path keeps beside it. Reached
 * through the VM (vm->border); border_init sets it up once per boot. */
struct border {
    struct guard guard; /* ~250 KiB: static storage, never the stack */
    /* gm_load.c: each module's parsed metadata, in the copy border_load_metadata made (meta[]
     * points into it), and where it came from */
    struct gmeta meta[GUARD_MAX_MODULES];
    struct {
        hpa_t pages;
        u64 npages;
        char origin[BOOT_NAME_MAX];
    } meta_copy[GUARD_MAX_MODULES];
    struct guard_site_desc site_desc[GUARD_MAX_MODULES][GUARD_MAX_SITES];
    /* gm_load.c: the administrator's signature policy and key, from postern.cfg */
    struct {
        u32 policy; /* enum boot_sig_policy */
        const char *key_path; /* postern.cfg's admin_key, "" when absent */
        bool have_key;
        struct sigcheck_key key;
        char key_hex[2 * GMETA_KEY_ID_LEN + 1];
    } sig;
    struct text_protect text; /* registered modules' write-protected text */
    struct park park;         /* return addresses held across crossings */
    u64 intra_calls;          /* make bench: a module's calls to its own entries, straight to the function */
    u64 fetch_faults;         /* make bench: fetch faults taken by the nested-paging border */
    u64 leaves_logged, private_logged, remap_logged; /* LOG_RATELIMITED counters of three log lines */
};

/* gm_load.c, for border_init: admin_key and metadata_signatures as the loader passed them; then
 * the metadata postern.cfg names, each with the administrator's bindings. */
void gm_signature_init(struct border *b, const struct boot_info *bi);
void gm_load_configured(struct border *b, const struct boot_info *bi);

#endif
