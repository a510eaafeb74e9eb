/*
 * Metadata intake and the signature policy (docs/gmeta.md "Signatures", docs/border-control.md
 * "In the exit path"): the one way a module's .gmeta enters border control, at boot (postern.cfg's
 * gmeta and bind lines) and from the admin shell (load, paste).
 */
#include "guard/border_state.h"
#include "core/guest_mem.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/page_alloc.h"
#include "lib/timebase.h"

/* The signature policy (docs/gmeta.md "Signatures"). Returns true when m may be loaded; note says
 * what was found, for the log line. */
static bool signature_allows(const struct border *b, const u8 *buf, const struct gmeta *m, const char *origin,
                             char *note, size_t notesz, char *err, size_t errsz)
{
    char why[120], id[2 * GMETA_KEY_ID_LEN + 1];
    bool required = b->sig.policy == BOOT_SIG_REQUIRED;

    sigcheck_key_id_hex(m->key_id, id);
    if (!b->sig.have_key) {
        if (required && b->sig.key_path[0]) {
            fmt_snprintf(err, errsz,
                         "metadata %s refused: no administrator's key to check it against "
                         "(admin_key %s could not be used, as said above)",
                         origin, b->sig.key_path);
            return false;
        }
        if (required) {
            fmt_snprintf(err, errsz,
                         "metadata %s refused: no administrator's key to check it against "
                         "(metadata_signatures = required needs admin_key in postern.cfg)",
                         origin);
            return false;
        }
        if (m->sig_alg == GMETA_SIG_NONE)
            fmt_snprintf(note, notesz, "unsigned, accepted (metadata_signatures = hash-only)");
        else
            fmt_snprintf(note, notesz, "signed by key %s, not checked: no admin_key (metadata_signatures = hash-only)",
                         id);
        return true;
    }
    u64 t0 = timebase_ms();
    enum sigcheck_result r = sigcheck_gmeta(&b->sig.key, buf, m, why, sizeof(why));
    switch (r) {
    case SIGCHECK_OK:
        fmt_snprintf(note, notesz, "signature verified with the administrator's key %s (%llu ms)", b->sig.key_hex,
                     (unsigned long long)(timebase_ms() - t0));
        return true;
    case SIGCHECK_UNSIGNED:
        if (!required) {
            fmt_snprintf(note, notesz, "unsigned, accepted (metadata_signatures = hash-only)");
            return true;
        }
        fmt_snprintf(err, errsz, "metadata %s refused: unsigned (metadata_signatures = required)", origin);
        return false;
    case SIGCHECK_OTHER_KEY:
        fmt_snprintf(err, errsz, "metadata %s refused: signed by key %s, not the administrator's key %s", origin, id,
                     b->sig.key_hex);
        return false;
    case SIGCHECK_BAD:
        fmt_snprintf(err, errsz, "metadata %s refused: signature does not verify with the administrator's key %s",
                     origin, b->sig.key_hex);
        return false;
    case SIGCHECK_ERROR:
        break;
    }
    fmt_snprintf(err, errsz, "metadata %s refused: signature not checked: %s", origin, why);
    return false;
}

/* A module already loaded under the same name or with the same text: the second is refused (the
 * registration hypercall finds a module by its hash; two names for one text would be ambiguous). */
static bool is_duplicate(const struct border *b, const struct gmeta *m, const char *origin, char *err, size_t errsz)
{
    for (int i = 0; i < (int)guard_module_count(&b->guard); i++) {
        const struct guard_module *g = b->guard.mod[i];
        if (strcmp(g->name, m->name) == 0) {
            fmt_snprintf(err, errsz, "metadata %s refused: module %s is already loaded (from %s)", origin, m->name,
                         border_mod(b, (int)i)->origin);
            return true;
        }
        if (memcmp(g->hash, m->text_sha256, GUARD_HASH_LEN) == 0) {
            fmt_snprintf(err, errsz, "metadata %s refused: module %s has the same text hash as module %s (from %s)",
                         origin, m->name, g->name, border_mod(b, (int)i)->origin);
            return true;
        }
    }
    return false;
}

int border_load_metadata(struct border *b, const u8 *buf, u64 len, const char *origin, char *err, size_t errsz)
{
    char perr[160], note[160];
    struct border_module *bm;
    struct guard_site_desc *sites = NULL;
    u64 sites_bytes = 0;
    struct guard_module_desc d;
    u64 npages;
    hpa_t pages;
    u8 *copy;
    int idx;

    if (len == 0 || len > GMETA_MAX_SIZE) {
        fmt_snprintf(err, errsz, "metadata %s refused: %llu bytes (a .gmeta has 1 to %u)", origin,
                     (unsigned long long)len, GMETA_MAX_SIZE);
        return -1;
    }
    /* No fixed number of modules: each one's state is allocated here, from the hypervisor's pages
     * (this record, and guard_module_add's), as long as there are pages. */
    bm = guard_mem_alloc(sizeof(*bm));
    if (!bm) {
        fmt_snprintf(err, errsz, "metadata %s refused: out of hypervisor memory for another module", origin);
        return -1;
    }
    /* Parse and verify a copy in hypervisor pages, never the caller's buffer: whatever checks pass
     * hold for the bytes the module is then run with. */
    npages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
    pages = page_alloc(&hv_pages, npages, 1);
    if (!pages) {
        fmt_snprintf(err, errsz, "metadata %s refused: out of hypervisor memory for its %llu bytes", origin,
                     (unsigned long long)len);
        guard_mem_free(bm, sizeof(*bm));
        return -1;
    }
    copy = phys_to_virt(pages);
    memcpy(copy, buf, len);

    struct gmeta *m = &bm->meta;
    if (gmeta_parse(copy, len, m, perr, sizeof(perr)) != 0) {
        fmt_snprintf(err, errsz, "metadata %s refused: %s", origin, perr);
        goto refused;
    }
    if (m->site_count > GUARD_MAX_SITES) {
        fmt_snprintf(err, errsz, "metadata %s refused: %u sites, at most %u", origin, m->site_count, GUARD_MAX_SITES);
        goto refused;
    }
    if (!signature_allows(b, copy, m, origin, note, sizeof(note), err, errsz) || is_duplicate(b, m, origin, err, errsz))
        goto refused;
    /* The site list as the state machine takes it: only for guard_module_add, which copies it. */
    sites_bytes = (u64)m->site_count * sizeof(*sites);
    sites = guard_mem_alloc(sites_bytes ? sites_bytes : 1);
    if (!sites) {
        fmt_snprintf(err, errsz, "metadata %s refused: out of hypervisor memory for its %u sites", origin,
                     m->site_count);
        goto refused;
    }
    for (u32 i = 0; i < m->site_count; i++) {
        struct gmeta_site s;
        gmeta_site_at(m, i, &s);
        sites[i].offset = s.offset;
        sites[i].kind = (enum gmeta_site_kind)s.kind; /* gmeta_parse checked the range */
    }
    d.name = m->name;
    d.hash = m->text_sha256;
    d.text_len = m->text_len;
    d.sites = sites;
    d.nsites = m->site_count;
    idx = guard_module_add(&b->guard, &d);
    guard_mem_free(sites, sites_bytes ? sites_bytes : 1);
    if (idx == GUARD_EFULL) {
        fmt_snprintf(err, errsz,
                     "metadata %s refused: out of hypervisor memory for module %s's state (%u modules loaded)", origin,
                     m->name, guard_module_count(&b->guard));
        goto refused;
    }
    if (idx < 0) {
        fmt_snprintf(err, errsz, "metadata %s refused by border control (error %d)", origin, idx);
        goto refused;
    }
    bm->pages = pages;
    bm->npages = npages;
    fmt_snprintf(bm->origin, sizeof(bm->origin), "%s", origin);
    b->guard.mod[idx]->owner = bm;
    LOG("guard: module %s from %s: text %u bytes, %u sites, %u holes; %s", m->name, origin, m->text_len, m->site_count,
        m->hole_count, note);
    return idx;

refused:
    page_free(&hv_pages, pages, npages);
    guard_mem_free(bm, sizeof(*bm));
    return -1;
}

/* The administrator's bindings for a module just loaded. Only these grant anything; the
 * metadata's own list is a request. */
static void apply_bindings(struct border *b, const struct boot_info *bi, int idx)
{
    const struct gmeta *m = &border_mod(b, idx)->meta;

    for (u32 n = 0; n < bi->binding_count; n++) {
        const struct boot_binding *bind = &bi->bindings[n];
        int rc;
        if (strcmp(bind->module, m->name) != 0)
            continue;
        if (privilege_lookup(b->guard.privs, bind->privilege) < 0) {
            char why[PRIV_WHY_MAX];
            privilege_unknown_why(b->guard.privs, bind->privilege, why, sizeof(why));
            LOG("guard: bind %s %s: %s", bind->module, bind->privilege, why);
            continue;
        }
        if (!border_module_asks_for(b, idx, bind->privilege)) {
            LOG("guard: bind %s %s ignored: the module's metadata does not ask for %s", bind->module, bind->privilege,
                bind->privilege);
            continue;
        }
        rc = guard_bind_privilege(&b->guard, idx, bind->privilege);
        if (rc != 0)
            LOG("guard: bind %s %s failed (error %d)", bind->module, bind->privilege, rc);
        else
            LOG("guard: module %s may hold %s", m->name, bind->privilege);
    }
}

/* admin_key and metadata_signatures, as the loader passed them. */
void gm_signature_init(struct border *b, const struct boot_info *bi)
{
    char err[160];

    b->sig.policy = bi->sig_policy;
    b->sig.key_path = bi->admin_key_path;
    if (bi->admin_key_len) {
        if (sigcheck_load_key(bi->admin_key, bi->admin_key_len, &b->sig.key, err, sizeof(err)) == 0) {
            b->sig.have_key = true;
            sigcheck_key_id_hex(b->sig.key.key_id, b->sig.key_hex);
        } else {
            LOG("guard: admin_key %s refused: %s", bi->admin_key_path, err);
        }
    }
    if (b->sig.have_key)
        LOG("guard: administrator's key %s from %s; metadata_signatures = %s", b->sig.key_hex, bi->admin_key_path,
            b->sig.policy == BOOT_SIG_REQUIRED ? "required" : "hash-only");
    else if (b->sig.policy == BOOT_SIG_REQUIRED)
        LOG("guard: no administrator's key (admin_key): metadata_signatures = required refuses every metadata");
    else
        LOG("guard: no administrator's key (admin_key): metadata_signatures = hash-only accepts unsigned metadata");
}

/* The metadata postern.cfg names, each with the administrator's bindings; the others are listed
 * for the admin shell's `load`. */
void gm_load_configured(struct border *b, const struct boot_info *bi)
{
    char err[240];
    u32 waiting = 0;

    for (u32 i = 0; i < bi->gmeta_count; i++) {
        const struct boot_file *f = &bi->gmeta[i];
        int idx;
        if (!bi->gmeta_configured[i]) {
            waiting++;
            continue;
        }
        idx = border_load_metadata(b, phys_to_virt(f->addr), f->size, f->path, err, sizeof(err));
        if (idx < 0)
            LOG("guard: %s", err);
        else
            apply_bindings(b, bi, idx);
    }
    if (waiting) {
        LOG("guard: %u more metadata preloaded, not named in postern.cfg (the admin shell's load):", waiting);
        for (u32 i = 0; i < bi->gmeta_count; i++)
            if (!bi->gmeta_configured[i])
                LOG("guard:   %s (%llu bytes)", bi->gmeta[i].path, (unsigned long long)bi->gmeta[i].size);
    }
    for (u32 n = 0; n < bi->binding_count; n++) {
        bool known = false;
        for (int m = 0; m < (int)guard_module_count(&b->guard); m++)
            known |= strcmp(b->guard.mod[m]->name, bi->bindings[n].module) == 0;
        if (!known)
            LOG("guard: bind %s %s: no metadata for module %s", bi->bindings[n].module, bi->bindings[n].privilege,
                bi->bindings[n].module);
    }
}

bool border_module_asks_for(const struct border *b, int module, const char *priv)
{
    if (!guard_module(&b->guard, module))
        return false;
    for (u32 p = 0; p < border_mod(b, module)->meta.priv_count; p++)
        if (strcmp(border_mod(b, module)->meta.privs[p], priv) == 0)
            return true;
    return false;
}

void border_module_requests(const struct border *b, int module, char *buf, size_t size)
{
    size_t n = 0;
    if (size)
        buf[0] = 0;
    if (!guard_module(&b->guard, module))
        return;
    for (u32 p = 0; p < border_mod(b, module)->meta.priv_count && n < size; p++)
        n += (size_t)fmt_snprintf(buf + n, size - n, "%s%s", p ? " " : "", border_mod(b, module)->meta.privs[p]);
}
