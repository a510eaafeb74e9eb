/* A text console on a 32-bit framebuffer (fbcon.h): pure, on a pixel array. */
#include "drivers/fb/fbcon.h"

u32 fb_pixel(u32 format, u8 r, u8 g, u8 b)
{
    if (format == FB_FORMAT_RGBX) /* bytes R, G, B, X: little-endian 0xXXBBGGRR */
        return (u32)r | (u32)g << 8 | (u32)b << 16;
    if (format == FB_FORMAT_BGRX) /* bytes B, G, R, X: 0xXXRRGGBB */
        return (u32)b | (u32)g << 8 | (u32)r << 16;
    return 0;
}

bool fbcon_usable(const struct fb_info *fb)
{
    if (!fb->base || (fb->format != FB_FORMAT_RGBX && fb->format != FB_FORMAT_BGRX))
        return false;
    if (!fb->glyph_w || !fb->glyph_h || fb->glyph_w > FB_GLYPH_MAX_W || fb->glyph_h > FB_GLYPH_MAX_H)
        return false;
    if (fb->stride < fb->width || fb->width < fb->glyph_w || fb->height < 2 * fb->glyph_h)
        return false;
    /* Every pixel drawn lies inside what the firmware said the framebuffer is. */
    return (u64)fb->stride * fb->height * 4 <= fb->size;
}

static void fill_row(struct fbcon *c, u32 row)
{
    const struct fb_info *fb = c->fb;
    for (u32 y = row * fb->glyph_h; y < (row + 1) * fb->glyph_h; y++)
        for (u32 x = 0; x < fb->width; x++)
            c->px[(u64)y * fb->stride + x] = c->bg;
}

bool fbcon_init(struct fbcon *c, volatile u32 *px, const struct fb_info *fb)
{
    if (!fbcon_usable(fb))
        return false;
    c->px = px;
    c->fb = fb;
    c->fg = fb_pixel(fb->format, 0xc0, 0xc0, 0xc0); /* light grey on black, as the firmware's console */
    c->bg = fb_pixel(fb->format, 0, 0, 0);
    c->cols = fb->width / fb->glyph_w;
    c->rows = fb->height / fb->glyph_h;
    c->col = c->row = 0;
    for (u32 y = 0; y < fb->height; y++)
        for (u32 x = 0; x < fb->width; x++)
            px[(u64)y * fb->stride + x] = c->bg;
    return true;
}

static void blit(struct fbcon *c, char ch)
{
    const struct fb_info *fb = c->fb;
    const u32 *g = fb->glyph[(u8)ch - FB_GLYPH_FIRST];
    u64 x0 = (u64)c->col * fb->glyph_w, y0 = (u64)c->row * fb->glyph_h;

    for (u32 y = 0; y < fb->glyph_h; y++) {
        volatile u32 *line = c->px + (y0 + y) * fb->stride + x0;
        for (u32 x = 0; x < fb->glyph_w; x++)
            line[x] = (g[y] >> x) & 1 ? c->fg : c->bg;
    }
}

/* Down one line, wrapping to the top. The row after the new one is cleared, so the newest text is
 * always followed by a blank line (where the oldest begins); the new row itself was cleared so
 * when the previous one was entered (or by fbcon_init): one row of writes per line, not two. */
static void newline(struct fbcon *c)
{
    c->col = 0;
    c->row = (c->row + 1) % c->rows;
    fill_row(c, (c->row + 1) % c->rows);
}

void fbcon_putc(struct fbcon *c, char ch)
{
    if (!c->fb)
        return;
    if (ch == '\n') {
        newline(c);
        return;
    }
    if (ch == '\r')
        return;
    if (ch < FB_GLYPH_FIRST || ch >= FB_GLYPH_FIRST + FB_GLYPH_COUNT)
        ch = ch == '\t' ? ' ' : '?';
    if (c->col == c->cols)
        newline(c); /* a long line continues on the next */
    blit(c, ch);
    c->col++;
}

void fbcon_write(struct fbcon *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fbcon_putc(c, s[i]);
}

u32 fb_glyph_row(const u32 *pixels, u32 w, u32 bg)
{
    u32 bits = 0;
    for (u32 x = 0; x < w && x < FB_GLYPH_MAX_W; x++)
        if ((pixels[x] & 0xffffff) != (bg & 0xffffff)) /* the reserved byte means nothing */
            bits |= 1u << x;
    return bits;
}
