/* The last VM exits, kept for the panic report. */
#ifndef POSTERN_EXIT_TRACE_H
#define POSTERN_EXIT_TRACE_H

#include "lib/types.h"

#define EXIT_TRACE_LEN 16

void exit_trace_record(u32 code, const char *name, u64 rip, u64 info1, u64 info2);
void exit_trace_dump(void);

#endif
