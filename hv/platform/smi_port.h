/*
 * The software-SMI port (docs/msr.md, "The software-SMI port"): 0xB2 and the FADT's SMI_CMD port are
 * watched; a byte written there reaches the chipset only when it is one of the FADT's value-only
 * commands (ACPI_ENABLE, ACPI_DISABLE, PSTATE_CNT, CST_CNT). Vendor SMI interfaces hand SMM buffer
 * addresses it would take as host-physical: refused. Pure: unit-tested on the host.
 */
#ifndef POSTERN_SMI_PORT_H
#define POSTERN_SMI_PORT_H

#include "lib/types.h"

#define SMI_PORT_APM_CNT 0xb2 /* the chipsets' software-SMI port */
#define SMI_PORT_MAX     2
#define SMI_VALUES_MAX   4

struct smi_port_policy {
    u16 ports[SMI_PORT_MAX]; /* 0xB2, and SMI_CMD where it is another port */
    unsigned nports;
    u8 values[SMI_VALUES_MAX]; /* the commands passed (FADT zeros are "no such command") */
    unsigned nvalues;
    u8 s4bios_req; /* refused by name in the log */
};

/* From the FADT's SMI_CMD (0: none, or no ACPI), ACPI_ENABLE, ACPI_DISABLE, S4BIOS_REQ, PSTATE_CNT
 * and CST_CNT. */
void smi_port_policy_init(struct smi_port_policy *p, u32 smi_cmd, u8 acpi_enable, u8 acpi_disable, u8 s4bios_req,
                          u8 pstate_cnt, u8 cst_cnt);

enum smi_verdict {
    SMI_NOT_WATCHED, /* the access touches no watched port */
    SMI_PASS,        /* a value-only command: the write goes to the chipset whole */
    SMI_REFUSE,      /* dropped; *why says which kind */
};
/* An OUT of size bytes (1, 2, 4) at port: each watched port it covers gets the value's byte for it. */
enum smi_verdict smi_port_write(const struct smi_port_policy *p, u16 port, unsigned size, u32 value, u8 *command,
                                const char **why);

#endif
