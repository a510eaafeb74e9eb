// SPDX-License-Identifier: GPL-2.0
/* memcpy absorbed (arch/x86/lib/memcpy_64.S): the module's out-of-line memcpy calls (fortify's
 * checked memcpy ends in one when the size is not a constant; the e1000 copies every small
 * received frame, copybreak). One `rep movsb`, as the kernel's own memcpy on CPUs with ERMS/FSRM;
 * no slow path. */
#include <linux/string.h>

#include "christo_absorb.h"

CHRISTO_ABSORB(memcpy, "", "");

void *christo_absorbed_memcpy(void *dst, const void *src, size_t n)
{
	void *ret = dst;

	asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return ret;
}
