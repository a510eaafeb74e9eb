/*
 * Border control in the exit path (hv/guard/border.c; the state machine itself is hv/guard/guard.c).
 * `struct border` is the VM's border control: the state machine and what the exit path keeps
 * beside it (loaded metadata, signature policy, protected text, parked return addresses,
 * counters). It belongs to this layer: the VM only carries a pointer to it (vm->border), and the
 * exit path reaches it, and the VM, through the vCPU.
 */
#ifndef POSTERN_BORDER_H
#define POSTERN_BORDER_H

#include "core/boot_info.h"
#include "guard/guard.h"
#include "core/vcpu.h"

struct vm;
struct border;

/* Sets up the VM's border control (its one instance, in static storage, cleared) and points
 * vm->border at it: the signature policy and key, then the metadata postern.cfg names
 * (border_load_metadata) and the administrator's bindings for each (after every privilege
 * component registered in privs). The other preloaded metadata wait for the admin shell's `load`. */
struct border *border_init(struct vm *vm, struct privilege_registry *privs, const struct boot_info *bi);
/* The state machine, for the admin shell (modules, bindings, revocation, log) and tests. */
struct guard *border_guard(struct border *b);
/*
 * The one way metadata enters border control (boot-time loading and the admin shell). Copies
 * buf[0, len) into hypervisor pages the guest cannot reach, parses the copy, applies the
 * signature policy (metadata_signatures, admin_key), refuses a second module of the same name or
 * text hash, and adds the module (guard_module_add). Logs "guard: module NAME from ORIGIN: ..."
 * on success and returns the module index; bindings are the caller's. On refusal returns -1 with
 * one line in err such as "metadata ORIGIN refused: unsigned (metadata_signatures = required)",
 * without a "postern: " prefix: the caller logs or shows it.
 */
int border_load_metadata(struct border *b, const u8 *buf, u64 len, const char *origin, char *err, size_t errsz);
bool border_is_hypercall(u64 nr);
/* Returns whether the hypercall instruction is done (move RIP past it). */
bool border_hypercall(struct vcpu *v, u64 nr);
/* A nested fault on module text (a write), or a fetch the border's views forbid: true when border
 * control handled it. */
bool border_nested_fault(struct vcpu *v, gpa_t gpa, bool write, bool fetch);
/* An event is about to be delivered whose IRET frame returns to `rip`: a privileged vCPU crosses the
 * border first. border_init registers it as the core's event hook (vcpu_set_event_hook), so every
 * vcpu_inject_* runs it; nothing calls it by hand before an injection. */
void border_before_event(struct vcpu *v, u8 vector, u64 rip);

/* Border control's intercepts while a vCPU is privileged; the backends' exit tables call them. */
void exit_watched_exception(struct vcpu *v, u8 vector, bool has_error, u32 error, u64 cr2);
void exit_watched_interrupt(struct vcpu *v, bool nmi);
void exit_watched_iret(struct vcpu *v);
void exit_irq_window(struct vcpu *v);

/* The guard statistics (hv/guard/border_report.c), one line at a time to out: crossings by kind
 * with the hypervisor cycles each cost, by module and site (with the function the site belongs
 * to), suspicious events by kind. BORDER_STATS_LOG as "guard: ..." log lines (the end of a run,
 * border_report; make bench reads them), BORDER_STATS_SHELL as the admin shell's `stats` table
 * (with nanoseconds and the VM's exits). */
enum border_stats_form { BORDER_STATS_LOG, BORDER_STATS_SHELL };
typedef void (*border_line_fn)(void *ctx, const char *line);
void border_print_stats(const struct border *b, const struct vm *vm, enum border_stats_form form, border_line_fn out,
                        void *ctx);
/* The statistics to the log. */
void border_report(const struct vm *vm);
/* "guard: mark LABEL ..." lines: crossings so far per module, event kind and site (make bench
 * takes differences between two marks). */
void border_mark(const struct vm *vm, u32 label);

/* The privileges a module's metadata asks for, space-separated, into buf ("" if none). */
void border_module_requests(const struct border *b, int module, char *buf, size_t size);
/* Does the module's metadata ask for privilege priv? (Only those may be bound to it.) */
bool border_module_asks_for(const struct border *b, int module, const char *priv);

#endif
