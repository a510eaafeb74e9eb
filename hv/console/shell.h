/*
 * Postern's admin shell (docs/admin-shell.md): the administrator's commands over the serial line,
 * reached with Ctrl-] s (hv/console/console_mux.h). Module metadata in, privileges bound and revoked,
 * suspicious activity and crossing statistics out. Only the serial line reaches it: nothing the
 * guest does can type into it.
 */
#ifndef POSTERN_SHELL_H
#define POSTERN_SHELL_H

#include "core/boot_info.h"
#include "lib/types.h"

void shell_init(const struct boot_info *bi);
/* The shell got the line: banner and prompt. */
void shell_open(void);
/* One input byte while the shell has the line. */
void shell_input(u8 c);

#endif
