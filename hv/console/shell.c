/* The admin shell: line editing, commands (shell.h, docs/admin-shell.md). */
#include "console/shell.h"
#include "arch/x86_64/cpu.h"
#include "guard/border.h"
#include "console/console.h"
#include "drivers/iommu/iommu.h"
#include "guard/gmeta.h"
#include "guard/guard.h"
#include "core/guest_mem.h"
#include "lib/platform_report.h"
#include "lib/lib.h"
#include "console/line_edit.h"
#include "lib/log.h"
#include "lib/page_alloc.h"
#include "console/paste.h"
#include "pci/pci_policy.h"
#include "crypto/sha256.h"
#include "console/shell_parse.h"
#include "lib/timebase.h"
#include "lib/log_ring.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include <stdarg.h>

#define PROMPT "postern> "

static struct line_edit editor;
static struct paste paste;
static u8 *paste_buf; /* PASTE_MAX bytes, hypervisor memory */
static const struct boot_info *boot;

/* ---------------------------------------------------------------- output */

static void out_raw(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    console_write_raw(s, n);
}

static void say(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vline("", fmt, ap); /* the shell's lines go out as the log's do, without its prefix */
    va_end(ap);
}

static void say_line(void *ctx, const char *line)
{
    (void)ctx;
    say("%s", line);
}

static void out_text(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    console_write(s, n);
}


/* "12.345 s" from milliseconds. */
static void fmt_seconds(char *buf, size_t n, u64 ms)
{
    fmt_snprintf(buf, n, "%llu.%03llu s", (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
}

/* Border control's state machine: modules, bindings, the log. */
static struct guard *guard(void) { return border_guard(vm0.border); }

static int module_by_name_quiet(const char *name)
{
    for (int m = 0; m < (int)guard_module_count(guard()); m++)
        if (strcmp(guard()->mod[m]->name, name) == 0)
            return m;
    return -1;
}

static int module_by_name(const char *name)
{
    int m = module_by_name_quiet(name);
    if (m >= 0)
        return m;
    say("error: no module '%.56s' (see: modules)", name);
    return -1;
}

static const char *module_state_name(enum guard_module_state s)
{
    return s == GUARD_MOD_ACTIVE ? "registered" : s == GUARD_MOD_DEAD ? "revoked" : "not registered";
}

/* ---------------------------------------------------------------- commands */

static void cmd_help(void *ctx, int argc, char **argv);

static void cmd_status(void *ctx, int argc, char **argv)
{
    struct cpuid_regs r = cpuid(0, 0);
    char vendor[13], up[32];
    struct vcpu *v = vm_vcpu(&vm0, 0);
    struct console_stats cs;

    memcpy(vendor + 0, &r.ebx, 4);
    memcpy(vendor + 4, &r.edx, 4);
    memcpy(vendor + 8, &r.ecx, 4);
    vendor[12] = 0;
    fmt_seconds(up, sizeof(up), timebase_ms());
    say("cpu       %s, %s, nested paging on, %u vCPU", vendor, vcpu_ops->name, vm0.vcpu_count);
    if (!vm0.iommu || !vm0.iommu->enabled)
        say("iommu     %s%s: device DMA is NOT confined, Postern's guarantees do not hold%s",
            !vm0.iommu || vm0.iommu->kind == IOMMU_NONE ? "none" : iommu_kind_name(vm0.iommu->kind),
            vm0.iommu && vm0.iommu->off ? ", off by configuration (iommu = off)" : "",
            pci_policy_guarded_nic() ? "; the guarded NIC's DMA is bounded only by its driver" : "");
    else
        say("iommu     %s on: device DMA confined to guest RAM, %u unit(s), %u domain(s), %llu faults reported",
            iommu_kind_name(vm0.iommu->kind), vm0.iommu->units, vm0.iommu->domains,
            (unsigned long long)vm0.iommu->faults);
    if (!v)
        say("guest     not started");
    else if (v->state == VCPU_RUNNING)
        say("guest     running, %llu MiB RAM, %llu exits (%llu of them the host tick's)",
            (unsigned long long)(vm0.mem.ram_bytes >> 20), (unsigned long long)vm0.exits,
            (unsigned long long)v->host_ticks);
    else
        say("guest     stopped: %s", v->stop_reason ? v->stop_reason : "?");
    say("uptime    %s", up);
    say("nmis      %llu taken for the guest, %llu injected into it, %llu the hypervisor's own",
        (unsigned long long)vm0.nmis_taken, (unsigned long long)vm0.nmis_injected, (unsigned long long)vm0.nmis_own);
    console_stats(&cs);
    say("console   guest wrote %llu bytes (%llu held now), read %llu; %llu interrupts delivered",
        (unsigned long long)cs.guest_tx, (unsigned long long)cs.held_now, (unsigned long long)cs.guest_rx,
        (unsigned long long)cs.edges_sent);
}

static void cmd_modules(void *ctx, int argc, char **argv)
{
    const struct guard *g = guard();
    bool any = false;

    for (int m = 0; m < (int)guard_module_count(g); m++) {
        const struct guard_module *mod = g->mod[m];
        char privs[128], asks[128], line[200];
        size_t n = 0;
        u64 total = 0;
        if (!mod->used)
            continue;
        any = true;
        privs[0] = 0;
        for (u32 i = 0; i < mod->npriv && n < sizeof(privs); i++)
            n += (size_t)fmt_snprintf(privs + n, sizeof(privs) - n, "%s%s", i ? " " : "",
                                      privilege_name(guard()->privs, mod->privs[i]));
        border_module_requests(vm0.border, m, asks, sizeof(asks));
        say("%s  %s, text %llu bytes", mod->name, module_state_name(mod->state), (unsigned long long)mod->text_len);
        if (mod->text_known)
            say("    text at 0x%llx (write-protected)", (unsigned long long)mod->text_base);
        say("    bound: %s   (its metadata asks for: %s)", mod->npriv ? privs : "nothing", asks[0] ? asks : "nothing");
        n = 0;
        line[0] = 0;
        for (u32 v = 0; v < vm0.vcpu_count && n < sizeof(line); v++)
            n += (size_t)fmt_snprintf(line + n, sizeof(line) - n, "%svCPU%u %s", v ? ", " : "", v,
                                      guard_state_name(guard_vcpu_state(g, v, m)));
        say("    %s", line);
        for (int k = 0; k < GUARD_EV_KINDS; k++)
            total += mod->crossings[k];
        say("    %llu registrations, %llu crossings", (unsigned long long)mod->registrations,
            (unsigned long long)total);
    }
    if (!any)
        say("no module metadata loaded (see: files, load, paste)");
}

static void cmd_files(void *ctx, int argc, char **argv)
{
    if (!boot->gmeta_count) {
        say("the loader preloaded no metadata files");
        return;
    }
    for (u32 i = 0; i < boot->gmeta_count; i++) {
        const struct boot_file *f = &boot->gmeta[i];
        struct gmeta m;
        char err[160];
        if (gmeta_parse(phys_to_virt(f->addr), f->size, &m, err, sizeof(err)) != 0)
            say("%s  %llu bytes  unreadable: %s", f->path, (unsigned long long)f->size, err);
        else
            say("%s  %llu bytes  module %s, %s%s", f->path, (unsigned long long)f->size, m.name,
                m.sig_alg == GMETA_SIG_NONE ? "unsigned" : "signed",
                module_by_name_quiet(m.name) >= 0 ? ", loaded" : "");
    }
}

static void report_loaded(int idx)
{
    const struct guard_module *mod = guard()->mod[idx];
    say("loaded module %s: text %llu bytes, %u sites; bind it with: bind %s PRIVILEGE", mod->name,
        (unsigned long long)mod->text_len, mod->nsites, mod->name);
}

static void cmd_load(void *ctx, int argc, char **argv)
{
    char err[400]; /* a refusal may name two paths of up to BOOT_NAME_MAX */
    for (u32 i = 0; i < boot->gmeta_count; i++) {
        const struct boot_file *f = &boot->gmeta[i];
        const char *base = f->path;
        for (const char *p = f->path; *p; p++)
            if (*p == '/' || *p == '\\')
                base = p + 1;
        if (strcmp(argv[1], f->path) != 0 && strcmp(argv[1], base) != 0)
            continue;
        int idx = border_load_metadata(vm0.border, phys_to_virt(f->addr), f->size, f->path, err, sizeof(err));
        if (idx < 0)
            say("error: %s", err);
        else
            report_loaded(idx);
        return;
    }
    say("error: no preloaded metadata file '%.64s' (see: files)", argv[1]);
}

static void cmd_paste(void *ctx, int argc, char **argv)
{
    char err[PASTE_ERR_MAX];
    if (!paste_buf) {
        say("error: no memory for pasting was available at boot");
        return;
    }
    if (paste_begin(&paste, argv[1], argv[2], paste_buf, PASTE_MAX, sha256, err, sizeof(err)) != 0) {
        say("error: %s", err);
        return;
    }
    say("paste: send the base64 lines, then 'end' ('abort' cancels)");
}

static void cmd_bind(void *ctx, int argc, char **argv)
{
    int m = module_by_name(argv[1]), rc;
    char why[PRIV_WHY_MAX];
    if (m < 0)
        return;
    if (privilege_lookup(guard()->privs, argv[2]) < 0) {
        privilege_unknown_why(guard()->privs, argv[2], why, sizeof(why));
        say("error: bind %s %.32s: %s", argv[1], argv[2], why);
        return;
    }
    if (!border_module_asks_for(vm0.border, m, argv[2])) {
        say("error: the metadata of %s does not ask for %.32s: not bound", argv[1], argv[2]);
        return;
    }
    rc = guard_bind_privilege(guard(), m, argv[2]);
    if (rc == GUARD_EEXIST)
        say("%s already holds %s", argv[1], argv[2]);
    else if (rc == GUARD_ESTATE)
        say("error: %s was revoked: it can never hold a privilege again", argv[1]);
    else if (rc == GUARD_EFULL)
        say("error: %s has the most privileges a module may have (%d)", argv[1], GUARD_MAX_PRIVS);
    else if (rc != GUARD_OK_RC)
        say("error: binding failed (error %d)", rc);
    else {
        say("bound: %s may hold %s inside its border", argv[1], argv[2]);
        LOG("shell: bind %s %s", argv[1], argv[2]);
    }
}

static void cmd_unbind(void *ctx, int argc, char **argv)
{
    int m = module_by_name(argv[1]), rc;
    char why[PRIV_WHY_MAX];
    if (m < 0)
        return;
    rc = guard_unbind_privilege(guard(), m, argv[2]);
    if (rc == GUARD_ENOPRIV) {
        privilege_unknown_why(guard()->privs, argv[2], why, sizeof(why));
        say("error: unbind %s %.32s: %s", argv[1], argv[2], why);
    } else if (rc == GUARD_ENOTBOUND)
        say("error: %s does not hold %s", argv[1], argv[2]);
    else if (rc != GUARD_OK_RC)
        say("error: unbinding failed (error %d)", rc);
    else {
        say("unbound: %s lowered on every vCPU; %s can no longer raise it", argv[2], argv[1]);
        LOG("shell: unbind %s %s", argv[1], argv[2]);
    }
}

static void cmd_revoke(void *ctx, int argc, char **argv)
{
    int m = module_by_name(argv[1]);
    if (m < 0)
        return;
    if (guard()->mod[m]->state == GUARD_MOD_DEAD) {
        say("%s is already revoked", argv[1]);
        return;
    }
    guard_revoke(guard(), m);
    say("revoked: %s holds no privilege on any vCPU and can never raise one again", argv[1]);
    LOG("shell: revoke %s", argv[1]);
}

static void cmd_privileges(void *ctx, int argc, char **argv)
{
    for (u32 h = 0; h < guard()->privs->count; h++) {
        const struct privilege_entry *e = &guard()->privs->e[h];
        char held[64];
        size_t n = 0;
        held[0] = 0;
        for (u32 v = 0; v < vm0.vcpu_count && n < sizeof(held); v++)
            if (e->raised_mask & (1u << v))
                n += (size_t)fmt_snprintf(held + n, sizeof(held) - n, " vCPU%u", v);
        say("%-8s %s, held by:%s  (%llu raises)", e->name, e->active ? "active" : "inactive", n ? held : " nobody",
            (unsigned long long)e->raises);
    }
}

#define LOG_SHOWN_DEFAULT 16

/* hvlog [KIB]: the hypervisor's own log from memory (lib/log_ring.h), whole lines, oldest first. */
static void cmd_hvlog(void *ctx, int argc, char **argv)
{
    u32 kib = 4;
    u64 written = log_ring_written(), from;
    char buf[256];
    size_t n;
    bool skip_partial;

    if (argc == 2) {
        kib = 0;
        for (const char *p = argv[1]; *p && kib <= LOG_RING_SIZE / 1024; p++)
            kib = *p >= '0' && *p <= '9' ? kib * 10 + (u32)(*p - '0') : LOG_RING_SIZE;
        if (kib == 0 || kib > LOG_RING_SIZE / 1024) {
            say("error: 'hvlog' takes KiB, 1 to %d, not '%.16s'", LOG_RING_SIZE / 1024, argv[1]);
            return;
        }
    }
    from = written > (u64)kib * 1024 ? written - (u64)kib * 1024 : 0;
    skip_partial = from > 0; /* start at a line */
    while ((n = log_ring_copy(&from, buf, sizeof(buf))) != 0) {
        size_t start = 0;
        if (skip_partial) {
            while (start < n && buf[start] != '\n')
                start++;
            if (start == n)
                continue;
            start++;
            skip_partial = false;
        }
        console_write(buf + start, n - start);
    }
    say("(%llu bytes logged since boot, the last %u KiB kept)", (unsigned long long)written, LOG_RING_SIZE / 1024);
}

static void cmd_log(void *ctx, int argc, char **argv)
{
    u32 n = guard_log_count(guard()), want = LOG_SHOWN_DEFAULT, first;
    if (argc == 2) {
        want = 0;
        for (const char *p = argv[1]; *p; p++) {
            if (*p < '0' || *p > '9' || want > GUARD_LOG_SIZE) {
                say("error: 'log' takes a count of entries, 1 to %d, not '%.16s'", GUARD_LOG_SIZE, argv[1]);
                return;
            }
            want = want * 10 + (u32)(*p - '0');
        }
        if (want == 0 || want > GUARD_LOG_SIZE) {
            say("error: 'log' takes a count of entries, 1 to %d, not '%.16s'", GUARD_LOG_SIZE, argv[1]);
            return;
        }
    }
    if (!n) {
        say("no suspicious activity logged");
        return;
    }
    first = n > want ? n - want : 0;
    for (u32 i = first; i < n; i++) {
        const struct guard_log_entry *e = guard_log_get(guard(), i);
        char t[32];
        fmt_seconds(t, sizeof(t), timebase_tsc_to_ms(e->time));
        say("#%llu  %s  vCPU%u  rip 0x%llx  %s  %s (%s): %s", (unsigned long long)e->seq, t, e->vcpu,
            (unsigned long long)e->rip, e->module[0] ? e->module : "-", guard_susp_name(e->kind),
            guard_event_name(e->event), e->detail ? e->detail : "");
    }
    if (first)
        say("(%u older entries kept: log %u; %llu suspicious events since boot)", first, n,
            (unsigned long long)guard()->log_seq);
}

static void cmd_stats(void *ctx, int argc, char **argv)
{
    border_print_stats(vm0.border, &vm0, BORDER_STATS_SHELL, say_line, NULL);
}

static void cmd_pci(void *ctx, int argc, char **argv) { pci_policy_list(say_line, NULL); }

static void cmd_platform(void *ctx, int argc, char **argv) { platform_report(say_line, NULL); }

static void cmd_reset(void *ctx, int argc, char **argv)
{
    say("resetting the machine: Postern and its guest start again from the firmware");
    LOG("shell: reset requested by the administrator");
    outb(0xcf9, 0x02);
    outb(0xcf9, 0x06); /* RST_CPU | SYS_RST: a hard reset through the chipset's reset control */
    for (int i = 0; i < 1000000; i++)
        cpu_relax();
    outb(0x64, 0xfe); /* the keyboard controller's reset line, where 0xcf9 is not wired */
    for (int i = 0; i < 1000000; i++)
        cpu_relax();
    say("error: the machine did not reset");
}

static void cmd_poweroff(void *ctx, int argc, char **argv)
{
    struct vcpu *v = vm_vcpu(&vm0, 0);
    if (!v || v->state != VCPU_RUNNING) {
        say("the guest is not running");
        return;
    }
    vcpu_stop(v, "guest powered off by the administrator (admin shell)");
    say("the guest is stopped; this shell stays on the line");
}

static void cmd_exit(void *ctx, int argc, char **argv) { console_close_shell(); }

static const struct shell_cmd commands[] = {
    { "help", "[COMMAND]", "this list, or one command's help", 0, 1, cmd_help },
    { "status", "", "CPU, virtualization, IOMMU, guest state, uptime", 0, 0, cmd_status },
    { "modules", "", "guarded modules: state, bound privileges, per-vCPU state, crossings", 0, 0, cmd_modules },
    { "files", "", "metadata files the loader preloaded from the ESP", 0, 0, cmd_files },
    { "load", "FILE", "add a preloaded metadata file (signature checked)", 1, 1, cmd_load },
    { "paste", "SIZE SUM", "add metadata pasted as base64 (tools/gmeta-paste.sh FILE prints the block)", 2, 2,
      cmd_paste },
    { "bind", "MODULE PRIVILEGE", "let MODULE hold PRIVILEGE inside its border", 2, 2, cmd_bind },
    { "unbind", "MODULE PRIVILEGE", "take PRIVILEGE away from MODULE (lowered at once)", 2, 2, cmd_unbind },
    { "revoke", "MODULE", "take every privilege from MODULE, for good", 1, 1, cmd_revoke },
    { "privileges", "", "privileges the hypervisor offers and who holds them", 0, 0, cmd_privileges },
    { "log", "[COUNT]", "the latest suspicious events (16, or COUNT up to 64): time, vCPU, guest RIP, module, reason",
      0, 1, cmd_log },
    { "hvlog", "[KIB]", "the hypervisor's own log from memory: its last KIB KiB (4, up to 32), whole lines", 0, 1,
      cmd_hvlog },
    { "stats", "", "border crossings by kind and by site, cycles per crossing", 0, 0, cmd_stats },
    { "pci", "", "PCI functions and how the guest sees them", 0, 0, cmd_pci },
    { "platform", "", "the platform report: CPU, IOMMUs, PCI, memory, serial port, NMIs and machine checks", 0, 0,
      cmd_platform },
    { "reset", "", "reset the machine (Postern and the guest boot again)", 0, 0, cmd_reset },
    { "poweroff", "", "stop the guest (the shell stays)", 0, 0, cmd_poweroff },
    { "exit", "", "back to the guest console (also Ctrl-] c)", 0, 0, cmd_exit },
};

static void cmd_help(void *ctx, int argc, char **argv)
{
    char err[SHELL_ERR_MAX];
    if (argc == 1) {
        shell_help(commands, ARRAY_SIZE(commands), out_text, NULL);
        say("keys: Ctrl-] c back to the guest console, Ctrl-] ? all console keys");
    } else if (shell_help_one(commands, ARRAY_SIZE(commands), argv[1], out_text, NULL, err, sizeof(err)) != 0) {
        say("error: %s", err);
    }
}

/* ---------------------------------------------------------------- input */

static void prompt(void)
{
    if (!paste_active(&paste) && console_shell_active())
        console_puts(PROMPT);
}

static void paste_input(const char *line)
{
    char err[400];
    switch (paste_line(&paste, line, err, sizeof(err))) {
    case PASTE_MORE:
        return;
    case PASTE_ABORTED:
        say("paste: cancelled");
        return;
    case PASTE_ERROR:
        say("error: paste: %s%s", err, paste_active(&paste) ? " (lines are ignored until 'end' or 'abort')" : "");
        return;
    case PASTE_DONE: {
        int idx = border_load_metadata(vm0.border, paste_buf, paste.len, "pasted", err, sizeof(err));
        if (idx < 0)
            say("error: %s", err);
        else
            report_loaded(idx);
        return;
    }
    }
}

void shell_input(u8 c)
{
    char line[LINE_EDIT_MAX + 1], err[SHELL_ERR_MAX];

    switch (line_edit_feed(&editor, c, out_raw, NULL)) {
    case LINE_NONE:
        return;
    case LINE_CANCELLED:
        if (paste_active(&paste)) {
            paste_cancel(&paste);
            say("paste: cancelled");
        }
        break;
    case LINE_TOO_LONG:
        say("error: line too long (at most %d characters)", LINE_EDIT_MAX);
        if (paste_active(&paste)) {
            /* Part of the block is gone: it can only fail at 'end'; say so now. */
            paste_fail(&paste);
            say("error: paste: a line was cut short, so this block cannot be right (lines are ignored until 'end' or "
                "'abort')");
        }
        break;
    case LINE_READY:
        memcpy(line, line_edit_line(&editor), sizeof(line));
        line[LINE_EDIT_MAX] = 0;
        if (paste_active(&paste))
            paste_input(line);
        else if (shell_dispatch(commands, ARRAY_SIZE(commands), line, NULL, err, sizeof(err)) != 0)
            say("error: %s", err);
        break;
    }
    prompt();
}

void shell_open(void)
{
    line_edit_reset(&editor);
    console_puts("\n[postern] admin shell: type help; exit or Ctrl-] c returns to the guest console\n");
    prompt();
}

void shell_init(const struct boot_info *bi)
{
    hpa_t p = page_alloc(&hv_pages, PASTE_MAX / PAGE_SIZE, 1);
    boot = bi;
    line_edit_init(&editor);
    memset(&paste, 0, sizeof(paste));
    paste_buf = p ? phys_to_virt(p) : NULL;
}
