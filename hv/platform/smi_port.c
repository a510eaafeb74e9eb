/* The software-SMI port policy: see smi_port.h and docs/msr.md. */
#include "platform/smi_port.h"

static void add_value(struct smi_port_policy *p, u8 v)
{
    if (v == 0) /* FADT: zero means the command does not exist */
        return;
    for (unsigned i = 0; i < p->nvalues; i++)
        if (p->values[i] == v)
            return;
    if (p->nvalues < SMI_VALUES_MAX)
        p->values[p->nvalues++] = v;
}

void smi_port_policy_init(struct smi_port_policy *p, u32 smi_cmd, u8 acpi_enable, u8 acpi_disable, u8 s4bios_req,
                          u8 pstate_cnt, u8 cst_cnt)
{
    p->nports = p->nvalues = 0;
    p->ports[p->nports++] = SMI_PORT_APM_CNT;
    if (smi_cmd && smi_cmd <= 0xffff && smi_cmd != SMI_PORT_APM_CNT)
        p->ports[p->nports++] = (u16)smi_cmd;
    if (smi_cmd) {
        add_value(p, acpi_enable);
        add_value(p, acpi_disable);
        add_value(p, pstate_cnt);
        add_value(p, cst_cnt);
    }
    p->s4bios_req = smi_cmd ? s4bios_req : 0;
}

static bool value_passes(const struct smi_port_policy *p, u8 v)
{
    for (unsigned i = 0; i < p->nvalues; i++)
        if (p->values[i] == v)
            return v != p->s4bios_req; /* a FADT naming one value twice: the refusal wins */
    return false;
}

enum smi_verdict smi_port_write(const struct smi_port_policy *p, u16 port, unsigned size, u32 value, u8 *command,
                                const char **why)
{
    enum smi_verdict verdict = SMI_NOT_WATCHED;

    for (unsigned i = 0; i < p->nports; i++) {
        u16 w = p->ports[i];
        if (w < port || (u32)w >= (u32)port + size)
            continue;
        u8 v = (u8)(value >> (8 * (w - port)));
        *command = v;
        if (!value_passes(p, v)) {
            *why = (p->s4bios_req && v == p->s4bios_req) ? "S4BIOS_REQ: the machine would sleep under the hypervisor"
                   : p->nvalues == 0                     ? "no ACPI commands known: every SMI refused"
                                                         : "not an ACPI enable/disable, P-state or C-state command";
            return SMI_REFUSE;
        }
        verdict = SMI_PASS;
    }
    return verdict;
}
