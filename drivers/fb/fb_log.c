/* The hypervisor's log console on the real framebuffer (fbcon.h), reached through its identity map. */
#include "drivers/fb/fbcon.h"
#include "lib/phys.h"

static struct fbcon con;

bool fb_log_start(const struct fb_info *fb)
{
    if (!fbcon_usable(fb))
        return false;
    return fbcon_init(&con, (volatile u32 *)phys_to_virt(fb->base), fb);
}

void fb_log_write(const char *s, size_t n) { fbcon_write(&con, s, n); }
