/* UNIT-SOURCES: hv/platform/smi_port.c */
/* The software-SMI port policy (docs/msr.md): which writes to 0xB2 and the FADT's SMI_CMD pass. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "platform/smi_port.h"

/* q35's FADT under OVMF: SMI_CMD 0xB2, ACPI_ENABLE 0xF1, ACPI_DISABLE 0xF0, no S4BIOS/PSTATE/CST. */
static void acpi_enable_and_disable_pass(void **state)
{
    struct smi_port_policy p;
    const char *why = NULL;
    u8 cmd = 0;

    smi_port_policy_init(&p, 0xb2, 0xf1, 0xf0, 0, 0, 0);
    assert_int_equal(p.nports, 1); /* SMI_CMD is 0xB2: watched once */
    assert_int_equal(smi_port_write(&p, 0xb2, 1, 0xf1, &cmd, &why), SMI_PASS);
    assert_int_equal(cmd, 0xf1);
    assert_int_equal(smi_port_write(&p, 0xb2, 1, 0xf0, &cmd, &why), SMI_PASS);
    /* a vendor interface's command, and zero (no such FADT command) */
    assert_int_equal(smi_port_write(&p, 0xb2, 1, 0x42, &cmd, &why), SMI_REFUSE);
    assert_non_null(why);
    assert_int_equal(smi_port_write(&p, 0xb2, 1, 0x00, &cmd, &why), SMI_REFUSE);
    /* other ports are not the policy's */
    assert_int_equal(smi_port_write(&p, 0xb3, 1, 0x42, &cmd, &why), SMI_NOT_WATCHED);
    assert_int_equal(smi_port_write(&p, 0x80, 1, 0x42, &cmd, &why), SMI_NOT_WATCHED);
}

static void pstate_and_cst_pass_s4bios_does_not(void **state)
{
    struct smi_port_policy p;
    const char *why = NULL;
    u8 cmd = 0;

    smi_port_policy_init(&p, 0xb0, 0xa0, 0xa1, 0xa2, 0x80, 0x85);
    assert_int_equal(p.nports, 2); /* AMD's FCH: SMI_CMD 0xB0, and 0xB2 as well */
    assert_int_equal(smi_port_write(&p, 0xb0, 1, 0xa0, &cmd, &why), SMI_PASS);
    assert_int_equal(smi_port_write(&p, 0xb0, 1, 0x80, &cmd, &why), SMI_PASS);
    assert_int_equal(smi_port_write(&p, 0xb0, 1, 0x85, &cmd, &why), SMI_PASS);
    assert_int_equal(smi_port_write(&p, 0xb0, 1, 0xa2, &cmd, &why), SMI_REFUSE);
    assert_non_null(strstr(why, "S4BIOS"));
    assert_int_equal(smi_port_write(&p, 0xb2, 1, 0xa1, &cmd, &why), SMI_PASS);
    assert_int_equal(smi_port_write(&p, 0xb2, 1, 0x01, &cmd, &why), SMI_REFUSE);
}

static void wide_writes_are_judged_on_the_ports_byte(void **state)
{
    struct smi_port_policy p;
    const char *why = NULL;
    u8 cmd = 0;

    smi_port_policy_init(&p, 0xb2, 0xf1, 0xf0, 0, 0, 0);
    /* OUT DX=0xB2, AX: AL to 0xB2 (the command), AH to 0xB3 (the APM status byte) */
    assert_int_equal(smi_port_write(&p, 0xb2, 2, 0x12f1, &cmd, &why), SMI_PASS);
    assert_int_equal(smi_port_write(&p, 0xb2, 2, 0xf142, &cmd, &why), SMI_REFUSE);
    assert_int_equal(cmd, 0x42);
    /* a word at 0xB1 and a dword at 0xB0 reach 0xB2 with their second and third bytes */
    assert_int_equal(smi_port_write(&p, 0xb1, 2, 0x4200, &cmd, &why), SMI_REFUSE);
    assert_int_equal(cmd, 0x42);
    assert_int_equal(smi_port_write(&p, 0xb0, 4, 0x00f10000, &cmd, &why), SMI_PASS);
    assert_int_equal(smi_port_write(&p, 0xb0, 4, 0x00420000, &cmd, &why), SMI_REFUSE);
    assert_int_equal(smi_port_write(&p, 0xaf, 2, 0xf1f1, &cmd, &why), SMI_NOT_WATCHED);
}

static void without_acpi_every_smi_is_refused(void **state)
{
    struct smi_port_policy p;
    const char *why = NULL;
    u8 cmd = 0;

    smi_port_policy_init(&p, 0, 0xf1, 0xf0, 0, 0, 0); /* no FADT SMI_CMD: no ACPI commands exist */
    assert_int_equal(p.nports, 1);
    assert_int_equal(p.nvalues, 0);
    assert_int_equal(smi_port_write(&p, 0xb2, 1, 0xf1, &cmd, &why), SMI_REFUSE);
    /* an SMI_CMD that is no port */
    smi_port_policy_init(&p, 0x12345, 0xf1, 0xf0, 0, 0, 0);
    assert_int_equal(p.nports, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(acpi_enable_and_disable_pass),
        cmocka_unit_test(pstate_and_cst_pass_s4bios_does_not),
        cmocka_unit_test(wide_writes_are_judged_on_the_ports_byte),
        cmocka_unit_test(without_acpi_every_smi_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
