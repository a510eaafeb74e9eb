/* The guest kernel this build tree chose. guest-images/kernel.sh decides it (Debian's current
 * linux-image-amd64) and writes build/guest/kernel-release and build/guest/vmlinuz; the unit tests
 * run from the top of the tree (tests/run-all.sh) and read those, never a version of their own.
 * make test builds the guest before the unit tests, so a test that needs the guest kernel fails,
 * with the reason, when it is missing: a skip would hide a broken build. */
#ifndef TESTS_UNIT_GUEST_KERNEL_H
#define TESTS_UNIT_GUEST_KERNEL_H

#include <stdio.h>
#include <string.h>

#define GUEST_KERNEL_RELEASE_FILE "build/guest/kernel-release"
#define GUEST_KERNEL_IMAGE        "build/guest/vmlinuz"

/* The release (e.g. what `uname -r` says in the guest) into buf; 0, or -1 with buf naming the cause. */
static inline int guest_kernel_release(char *buf, size_t n)
{
    FILE *f = fopen(GUEST_KERNEL_RELEASE_FILE, "r");
    int ok = f && fgets(buf, (int)n, f);
    if (f)
        fclose(f);
    if (ok)
        buf[strcspn(buf, "\r\n")] = 0;
    if (!ok || !*buf) {
        snprintf(buf, n, "%s missing or empty: make guest decides the guest kernel", GUEST_KERNEL_RELEASE_FILE);
        return -1;
    }
    return 0;
}

/* The guest kernel's build tree, /lib/modules/RELEASE/build, into buf; 0, or -1 with the cause. */
static inline int guest_kernel_kdir(char *buf, size_t n)
{
    char rel[128];
    if (guest_kernel_release(rel, sizeof(rel))) {
        snprintf(buf, n, "%s", rel);
        return -1;
    }
    snprintf(buf, n, "/lib/modules/%s/build", rel);
    return 0;
}

#endif
