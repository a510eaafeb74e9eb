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
    struct guard guard; /* the modules' state is allocated as their metadata is added (guard.h) */
    /* gm_load.c: the administrator's signature policy and key, from postern.cfg */
    struct {
        u32 policy;           /* enum boot_sig_policy */
        const char *key_path; /* postern.cfg's admin_key, "" when absent */
        bool have_key;
        struct sigcheck_key key;
        char key_hex[2 * GMETA_KEY_ID_LEN + 1];
    } sig;
    struct text_protect text; /* registered modules' write-protected text */
    /* the guarded device's privilege (postern.cfg's guarded_nic), "" without one: a module that
     * asks for it needs the device's copy of its in view */
    char device_priv[BOOT_PRIVILEGE_NAME_MAX];
    struct park park; /* return addresses held across crossings */
    u64 intra_calls;  /* make bench: a module's calls to its own entries, straight to the function */
    u64 fetch_faults; /* make bench: fetch faults taken by the nested-paging border */
    u64 leaves_logged, private_logged, remap_logged; /* LOG_RATELIMITED counters of three log lines */
};

/* gm_load.c: what border control keeps of each module beside the state machine's, allocated from
 * the hypervisor's pages with it when its metadata is loaded, reached through guard_module.owner:
 * the parsed metadata (pointing into the copy border_load_metadata made) and where it came from. */
struct border_module {
    struct gmeta meta;
    hpa_t pages;
    u64 npages;
    char origin[BOOT_NAME_MAX];
};

static inline struct border_module *border_mod(const struct border *b, int m)
{
    return (struct border_module *)b->guard.mod[m]->owner;
}

/* gm_load.c, for border_init: admin_key and metadata_signatures as the loader passed them; then
 * the metadata postern.cfg names, each with the administrator's bindings. */
void gm_signature_init(struct border *b, const struct boot_info *bi);
void gm_load_configured(struct border *b, const struct boot_info *bi);

#endif
