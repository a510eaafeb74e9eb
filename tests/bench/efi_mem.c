/*
 * memset and memcpy as the EFI image has them: GNU-EFI's libefi (lib/init.c) implements both as
 * byte loops, and the hypervisor is built -ffreestanding, so every memset/memcpy guard.c calls (and
 * every struct copy the compiler lowers to memcpy) costs ~4-5 instructions per byte there. The
 * harness links hv/guard/guard.c against these, renamed (efi_memset/efi_memcpy: tests/bench/Makefile.inc),
 * so its instruction counts are the hypervisor's, not glibc's vectorised ones. Build with
 * -fno-tree-loop-distribute-patterns, or GCC turns the loops back into calls to memset/memcpy.
 */
#include <stddef.h>

void *efi_memset(void *s, int c, size_t n)
{
    unsigned char *p = s;
    while (n--)
        *p++ = (unsigned char)c;
    return s;
}

void *efi_memcpy(void *dest, const void *src, size_t n)
{
    const unsigned char *q = src;
    unsigned char *p = dest;
    while (n--)
        *p++ = *q++;
    return dest;
}
