/*
 * A text console on the UEFI framebuffer (docs/console.md "No UART"): the log's lines drawn with
 * the firmware's own font, which the loader rasterized before ExitBootServices (boot/gop.c). Used
 * only when no UART answers. Scrolling wraps to the top (no read-back of framebuffer memory, which
 * is slow on real hardware): the newest line is always followed by a blank one.
 *
 * fbcon.c is pure (a pixel array and this state), tested in tests/unit/test_fbcon.c; fb_log.c is
 * the hypervisor's one instance on the real framebuffer.
 */
#ifndef POSTERN_FBCON_H
#define POSTERN_FBCON_H

#include "lib/types.h"

#define FB_GLYPH_FIRST 0x20 /* the atlas holds ASCII 0x20-0x7e */
#define FB_GLYPH_COUNT 95
#define FB_GLYPH_MAX_W 32 /* a glyph row is one u32, bit x = column x */
#define FB_GLYPH_MAX_H 32
#define FB_NOTE_MAX    120

/* Both formats the console draws are 32 bits per pixel; GOP's PixelBitMask and PixelBltOnly are not used. */
enum fb_format {
    FB_FORMAT_NONE = 0, /* no usable framebuffer */
    FB_FORMAT_RGBX = 1, /* PixelRedGreenBlueReserved8BitPerColor: bytes R, G, B, reserved */
    FB_FORMAT_BGRX = 2, /* PixelBlueGreenRedReserved8BitPerColor: bytes B, G, R, reserved */
};

/* What the loader found: the GOP's mode and the firmware's font (glyph_w 0: none). */
struct fb_info {
    u64 base; /* physical address of the framebuffer; 0: none */
    u64 size; /* bytes */
    u32 width, height;
    u32 stride; /* pixels per scan line */
    u32 format; /* enum fb_format */
    u32 glyph_w, glyph_h;
    u32 glyph[FB_GLYPH_COUNT][FB_GLYPH_MAX_H];
    char note[FB_NOTE_MAX]; /* why there is no framebuffer log, "" when there can be one */
};

struct fbcon {
    volatile u32 *px; /* the framebuffer, mapped */
    const struct fb_info *fb;
    u32 fg, bg; /* in the framebuffer's format */
    u32 cols, rows;
    u32 col, row;
};

/* A colour in format f (0 for an unknown format). */
u32 fb_pixel(u32 format, u8 r, u8 g, u8 b);
/* True when fb can carry a console: a supported format, a font, a mode that fits its size. */
bool fbcon_usable(const struct fb_info *fb);
/* Clears the screen and starts at the top left. False (c unusable) when !fbcon_usable(fb). */
bool fbcon_init(struct fbcon *c, volatile u32 *px, const struct fb_info *fb);
/* Printable ASCII drawn, "\n" a new line, "\r" dropped, anything else drawn as '?'. */
void fbcon_putc(struct fbcon *c, char ch);
void fbcon_write(struct fbcon *c, const char *s, size_t n);

/* One glyph row from the firmware's rendering (w 32-bit pixels, any byte order): bit x set where
 * pixel x is not the background bg. The loader builds fb_info.glyph with it. */
u32 fb_glyph_row(const u32 *pixels, u32 w, u32 bg);

/* The hypervisor's console on fb (identity-mapped): false when it cannot be used. */
bool fb_log_start(const struct fb_info *fb);
/* Draws s on it (nothing before fb_log_start succeeded); a log mirror (lib/log.h). */
void fb_log_write(const char *s, size_t n);

#endif
