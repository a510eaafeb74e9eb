/* The UEFI framebuffer and the firmware's font for the hypervisor's log (boot/gop.c). */
#ifndef POSTERN_BOOT_GOP_H
#define POSTERN_BOOT_GOP_H

#include "drivers/fb/fbcon.h"

/* Before ExitBootServices: fills fb (fb->base 0 and fb->note saying why when it cannot be used)
 * and says what it found. */
void gop_probe(struct fb_info *fb);

#endif
