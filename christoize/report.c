/* christoize/report.c — see report.h. The JSON is versioned ("format": "christoize-analysis/1"). */
#include "report.h"

#include <string.h>

static void site_text(FILE *f, const struct ca_site *s)
{
    if (s->func)
        fprintf(f, "%s+0x%llx", s->func, (unsigned long long)s->func_off);
    else
        fprintf(f, "%s+0x%llx", s->sec, (unsigned long long)s->off);
}

static void ref_text(FILE *f, const struct ca_ref *x)
{
    switch (x->kind) {
    case CA_REF_MODULE_INIT:
        fprintf(f, "module_init (init_module)");
        return;
    case CA_REF_MODULE_EXIT:
        fprintf(f, "module_exit (cleanup_module)");
        return;
    case CA_REF_USER:
        fprintf(f, "added by the developer");
        return;
    case CA_REF_DATA:
        fprintf(f, "pointer in %s+0x%llx", x->from_sec, (unsigned long long)x->from_off);
        break;
    case CA_REF_TEXT_ADDR:
        fprintf(f, "address taken in code at ");
        if (x->from_func)
            fprintf(f, "%s+0x%llx", x->from_func, (unsigned long long)x->from_func_off);
        else
            fprintf(f, "%s+0x%llx", x->from_sec, (unsigned long long)x->from_off);
        break;
    }
    fprintf(f, " (%s %s%c0x%llx)", x->rtype, x->via, x->addend < 0 ? '-' : '+',
            (unsigned long long)(x->addend < 0 ? -(unsigned long long)x->addend : (unsigned long long)x->addend));
}

void report_text(FILE *f, const struct ca_result *r)
{
    const struct co_object *o = r->obj;
    fprintf(f, "%s: module %s (x86-64 ET_REL)\n", o->path, o->modname);

    fprintf(f, "\nentry points (%zu): functions the kernel can call\n", r->nentries);
    for (size_t i = 0; i < r->nentries; i++) {
        const struct ca_entry *e = &r->entries[i];
        fprintf(f, "  %-28s %s+0x%llx size %llu%s%s%s", e->name, e->section, (unsigned long long)e->offset,
                (unsigned long long)e->size, e->global ? " global" : " static", e->alias ? " alias " : "",
                e->alias ? e->alias : "");
        if (e->direct_calls)
            fprintf(f, " (also called directly at %u site%s)", e->direct_calls, e->direct_calls == 1 ? "" : "s");
        fputc('\n', f);
        for (size_t k = 0; k < e->nrefs; k++) {
            fprintf(f, "      why: ");
            ref_text(f, &e->refs[k]);
            fputc('\n', f);
        }
    }

    fprintf(f, "\nexits (%zu): undefined functions called directly (ld --wrap candidates)\n", r->nexits);
    for (size_t i = 0; i < r->nexits; i++) {
        const struct ca_undef *u = &r->exits[i];
        fprintf(f, "  %-28s calls %u  tail-jumps %u", u->name, u->calls, u->jumps);
        if (u->refs_text || u->refs_data)
            fprintf(f, "  (address also used: %u in code, %u in data)", u->refs_text, u->refs_data);
        fputc('\n', f);
    }
    fprintf(f,
            "\nundefined symbols never called directly (%zu): data, or kernel functions whose address is "
            "stored; not wrapped, listed for review\n",
            r->ndata);
    for (size_t i = 0; i < r->ndata; i++)
        fprintf(f, "  %-28s refs in code %u, in data %u\n", r->data[i].name, r->data[i].refs_text,
                r->data[i].refs_data);
    fprintf(f, "\ncompiler/objtool runtime symbols (%zu): not exits, never wrapped\n", r->nruntime);
    for (size_t i = 0; i < r->nruntime; i++)
        fprintf(f, "  %-28s calls %u  jumps %u  other %u\n", r->runtime[i].name, r->runtime[i].calls,
                r->runtime[i].jumps, r->runtime[i].refs_text + r->runtime[i].refs_data);
    fprintf(f, "\nindirect call/jmp sites (%zu): calls through pointers, invisible to ld --wrap\n", r->nindirect);
    for (size_t i = 0; i < r->nindirect; i++) {
        fprintf(f, "  ");
        site_text(f, &r->indirect[i]);
        fputc('\n', f);
    }

    fprintf(f, "\ntext rewriting hazards\n");
    fprintf(f, "  text sections:");
    for (size_t i = 0; i < r->ntexts; i++)
        fprintf(f, " %s %llu bytes (%zu may change)%s", r->texts[i].name, (unsigned long long)r->texts[i].size,
                r->texts[i].patched_bytes, i + 1 < r->ntexts ? "," : "\n");
    if (!r->ntexts)
        fprintf(f, " none\n");
    fprintf(f, "  relocations in text by type: %-14s %6s %6s %6s\n", "", "same", "other", "extern");
    for (size_t i = 0; i < r->ntreloc; i++) {
        const struct ca_reloc_count *c = &r->treloc[i];
        fprintf(f, "    %-22s %-20s %6u %6u %6u\n", c->rtype, c->pcrel ? "(PC-relative)" : "(absolute)",
                c->same_section, c->other_section, c->external);
    }
    for (size_t i = 0; i < r->nhazards; i++) {
        const struct ca_hazard *h = &r->hazards[i];
        fprintf(f, "  %-18s %-22s entries %-5zu %s", h->key, h->section[0] ? h->section : "(relocations)", h->entries,
                h->rewrites_text ? "REWRITES TEXT" : "metadata only");
        if (h->rewrites_text)
            fprintf(f, ", %zu bytes", h->patched_bytes);
        fprintf(f, "\n      %s\n", h->what);
        if (h->nsites) {
            fprintf(f, "      sites:");
            for (size_t k = 0; k < h->nsites; k++) {
                fprintf(f, "%s", k % 6 == 0 ? "\n        " : " ");
                site_text(f, &h->sites[k]);
            }
            fputc('\n', f);
        }
    }
    if (r->nnotes) {
        fprintf(f, "\nnotes (%zu)\n", r->nnotes);
        for (size_t i = 0; i < r->nnotes; i++)
            fprintf(f, "  %s\n", r->notes[i]);
    }
}

/* ------------------------------------------------------------------ JSON */

static void js(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void site_json(FILE *f, const struct ca_site *s)
{
    fprintf(f, "{\"section\":");
    js(f, s->sec);
    fprintf(f, ",\"offset\":%llu,\"function\":", (unsigned long long)s->off);
    js(f, s->func);
    fprintf(f, ",\"function_offset\":%llu}", (unsigned long long)s->func_off);
}

static void undef_json(FILE *f, const struct ca_undef *u, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s\n    {\"name\":", i ? "," : "");
        js(f, u[i].name);
        fprintf(f, ",\"calls\":%u,\"tail_jumps\":%u,\"refs_text\":%u,\"refs_data\":%u}", u[i].calls, u[i].jumps,
                u[i].refs_text, u[i].refs_data);
    }
    fprintf(f, "%s]", n ? "\n  " : "");
}

void report_json(FILE *f, const struct ca_result *r)
{
    const struct co_object *o = r->obj;
    fprintf(f, "{\n  \"format\":\"christoize-analysis/1\",\n  \"file\":");
    js(f, o->path);
    fprintf(f, ",\n  \"module\":");
    js(f, o->modname);
    fprintf(f, ",\n  \"entries\":[");
    for (size_t i = 0; i < r->nentries; i++) {
        const struct ca_entry *e = &r->entries[i];
        fprintf(f, "%s\n    {\"name\":", i ? "," : "");
        js(f, e->name);
        fprintf(f, ",\"alias\":");
        js(f, e->alias);
        fprintf(f, ",\"section\":");
        js(f, e->section);
        fprintf(f, ",\"offset\":%llu,\"size\":%llu,\"global\":%s,\"direct_calls\":%u,\"why\":[",
                (unsigned long long)e->offset, (unsigned long long)e->size, e->global ? "true" : "false",
                e->direct_calls);
        for (size_t k = 0; k < e->nrefs; k++) {
            const struct ca_ref *x = &e->refs[k];
            fprintf(f, "%s{\"kind\":", k ? "," : "");
            js(f, ca_ref_kind_name(x->kind));
            if (x->from_sec) {
                fprintf(f, ",\"from_section\":");
                js(f, x->from_sec);
                fprintf(f, ",\"from_offset\":%llu,\"from_function\":", (unsigned long long)x->from_off);
                js(f, x->from_func);
                fprintf(f, ",\"from_function_offset\":%llu,\"relocation\":", (unsigned long long)x->from_func_off);
                js(f, x->rtype);
                fprintf(f, ",\"symbol\":");
                js(f, x->via);
                fprintf(f, ",\"addend\":%lld", (long long)x->addend);
            }
            fputc('}', f);
        }
        fprintf(f, "]}");
    }
    fprintf(f, "%s],\n  \"exits\":", r->nentries ? "\n  " : "");
    undef_json(f, r->exits, r->nexits);
    fprintf(f, ",\n  \"undefined_data\":");
    undef_json(f, r->data, r->ndata);
    fprintf(f, ",\n  \"runtime_symbols\":");
    undef_json(f, r->runtime, r->nruntime);
    fprintf(f, ",\n  \"indirect_branches\":[");
    for (size_t i = 0; i < r->nindirect; i++) {
        fprintf(f, "%s", i ? "," : "");
        site_json(f, &r->indirect[i]);
    }
    fprintf(f, "],\n  \"text_sections\":[");
    for (size_t i = 0; i < r->ntexts; i++) {
        fprintf(f, "%s{\"name\":", i ? "," : "");
        js(f, r->texts[i].name);
        fprintf(f, ",\"size\":%llu,\"patched_bytes\":%zu}", (unsigned long long)r->texts[i].size,
                r->texts[i].patched_bytes);
    }
    fprintf(f, "],\n  \"text_relocations\":[");
    for (size_t i = 0; i < r->ntreloc; i++) {
        const struct ca_reloc_count *c = &r->treloc[i];
        fprintf(f, "%s\n    {\"type\":", i ? "," : "");
        js(f, c->rtype);
        fprintf(f, ",\"pc_relative\":%s,\"same_section\":%u,\"other_section\":%u,\"external\":%u}",
                c->pcrel ? "true" : "false", c->same_section, c->other_section, c->external);
    }
    fprintf(f, "%s],\n  \"hazards\":[", r->ntreloc ? "\n  " : "");
    for (size_t i = 0; i < r->nhazards; i++) {
        const struct ca_hazard *h = &r->hazards[i];
        fprintf(f, "%s\n    {\"key\":", i ? "," : "");
        js(f, h->key);
        fprintf(f, ",\"section\":");
        js(f, h->section);
        fprintf(f, ",\"rewrites_text\":%s,\"entries\":%zu,\"patched_bytes\":%zu,\"what\":",
                h->rewrites_text ? "true" : "false", h->entries, h->patched_bytes);
        js(f, h->what);
        fprintf(f, ",\"sites\":[");
        for (size_t k = 0; k < h->nsites; k++) {
            fprintf(f, "%s", k ? "," : "");
            site_json(f, &h->sites[k]);
        }
        fprintf(f, "]}");
    }
    fprintf(f, "%s],\n  \"notes\":[", r->nhazards ? "\n  " : "");
    for (size_t i = 0; i < r->nnotes; i++) {
        fprintf(f, "%s\n    ", i ? "," : "");
        js(f, r->notes[i]);
    }
    fprintf(f, "%s]\n}\n", r->nnotes ? "\n  " : "");
}
