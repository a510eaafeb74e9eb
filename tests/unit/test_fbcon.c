/* UNIT-SOURCES: drivers/fb/fbcon.c */
/* The framebuffer text console (drivers/fb/fbcon.c) on a fake framebuffer in host memory: pixel
 * formats, which modes it refuses, a glyph blitted in place, long lines, wrap-around scrolling with
 * a blank line after the newest, and the loader's glyph rows from firmware pixels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/fb/fbcon.h"

#define GW     4
#define GH     6
#define W      (5 * GW + 2) /* 5 columns and 2 pixels of margin */
#define H      (3 * GH + 1) /* 3 rows and 1 pixel line of margin */
#define STRIDE (W + 3)      /* pixels per scan line beyond the visible width */

static u32 px[STRIDE * H + 16]; /* 16 guard pixels after the framebuffer */
static struct fb_info fb;
static struct fbcon con;

static u32 fg, bg;

/* A framebuffer of format with a made-up font (a different 4-bit pattern per row and glyph, the
 * space empty), the console started on it, everything outside it poisoned. */
static void make_fb(u32 format)
{
    memset(&fb, 0, sizeof(fb));
    memset(&con, 0, sizeof(con));
    fb.base = 0x80000000;
    fb.size = sizeof(u32) * STRIDE * H;
    fb.width = W;
    fb.height = H;
    fb.stride = STRIDE;
    fb.format = format;
    fb.glyph_w = GW;
    fb.glyph_h = GH;
    for (int g = 1; g < FB_GLYPH_COUNT; g++)
        for (int y = 0; y < GH; y++)
            fb.glyph[g][y] = (u32)((g + y) & 0xf); /* 4 columns */
    for (size_t i = 0; i < sizeof(px) / sizeof(px[0]); i++)
        px[i] = 0xdeadbeef;
    assert_true(fbcon_init(&con, px, &fb));
    fg = fb_pixel(format, 0xc0, 0xc0, 0xc0);
    bg = fb_pixel(format, 0, 0, 0);
}

static u32 at(u32 x, u32 y) { return px[y * STRIDE + x]; }

/* The glyph of ch is drawn at text cell (col, row). */
static void assert_cell(char ch, u32 col, u32 row)
{
    const u32 *g = fb.glyph[ch - FB_GLYPH_FIRST];
    for (u32 y = 0; y < GH; y++)
        for (u32 x = 0; x < GW; x++)
            assert_int_equal(at(col * GW + x, row * GH + y), (g[y] >> x) & 1 ? fg : bg);
}

static void assert_row_blank(u32 row)
{
    for (u32 y = row * GH; y < (row + 1) * GH; y++)
        for (u32 x = 0; x < W; x++)
            assert_int_equal(at(x, y), bg);
}

static void pixel_formats(void **state)
{
    (void)state;
    u32 rgbx = fb_pixel(FB_FORMAT_RGBX, 0x11, 0x22, 0x33), bgrx = fb_pixel(FB_FORMAT_BGRX, 0x11, 0x22, 0x33);
    u8 b[4];
    memcpy(b, &rgbx, 4); /* little-endian memory order, as the framebuffer sees it */
    assert_int_equal(b[0], 0x11);
    assert_int_equal(b[1], 0x22);
    assert_int_equal(b[2], 0x33);
    memcpy(b, &bgrx, 4);
    assert_int_equal(b[0], 0x33);
    assert_int_equal(b[1], 0x22);
    assert_int_equal(b[2], 0x11);
    assert_int_equal(fb_pixel(FB_FORMAT_NONE, 0xff, 0xff, 0xff), 0);
    assert_int_equal(fb_pixel(7, 0xff, 0xff, 0xff), 0);
}

static void refuses_what_it_cannot_draw(void **state)
{
    (void)state;
    make_fb(FB_FORMAT_BGRX);
    assert_true(fbcon_usable(&fb));
    fb.format = FB_FORMAT_NONE; /* PixelBitMask, PixelBltOnly */
    assert_false(fbcon_usable(&fb));
    fb.format = FB_FORMAT_RGBX;
    fb.glyph_w = 0; /* no HII font */
    assert_false(fbcon_usable(&fb));
    fb.glyph_w = FB_GLYPH_MAX_W + 1;
    assert_false(fbcon_usable(&fb));
    fb.glyph_w = GW;
    fb.size -= 4; /* the mode does not fit the framebuffer the firmware gave */
    assert_false(fbcon_usable(&fb));
    fb.size += 4;
    fb.stride = W - 1;
    assert_false(fbcon_usable(&fb));
    fb.stride = STRIDE;
    fb.base = 0;
    assert_false(fbcon_usable(&fb));
    fb.base = 0x80000000;
    fb.height = GH; /* one text row cannot scroll */
    assert_false(fbcon_usable(&fb));
    memset(&con, 0, sizeof(con));
    assert_false(fbcon_init(&con, px, &fb));
    fbcon_write(&con, "x\n", 2); /* an unusable console draws nothing and does not crash */
}

static void init_clears_inside_the_framebuffer_only(void **state)
{
    (void)state;
    make_fb(FB_FORMAT_RGBX);
    for (u32 y = 0; y < H; y++)
        for (u32 x = 0; x < W; x++)
            assert_int_equal(at(x, y), bg);
    for (u32 y = 0; y < H; y++) /* the part of each scan line past the width is not the screen's */
        for (u32 x = W; x < STRIDE; x++)
            assert_int_equal(at(x, y), 0xdeadbeef);
    for (int i = 0; i < 16; i++)
        assert_int_equal(px[STRIDE * H + i], 0xdeadbeef);
}

static void glyphs_blitted_in_place(void **state)
{
    (void)state;
    make_fb(FB_FORMAT_BGRX);
    fbcon_write(&con, "AB", 2);
    assert_cell('A', 0, 0);
    assert_cell('B', 1, 0);
    assert_cell(' ', 2, 0); /* untouched: still clear */
    fbcon_write(&con, "\r\nC", 3);
    assert_cell('C', 0, 1);
    fbcon_putc(&con, '\x01'); /* a control character shows as '?' */
    assert_cell('?', 1, 1);
    fbcon_putc(&con, (char)0xe9); /* and so does a non-ASCII byte */
    assert_cell('?', 2, 1);
    fbcon_putc(&con, '\t');
    assert_cell(' ', 3, 1);
}

static void long_line_continues_below(void **state)
{
    (void)state;
    make_fb(FB_FORMAT_RGBX);
    fbcon_write(&con, "ABCDEFG", 7); /* 5 columns */
    assert_cell('E', 4, 0);
    assert_cell('F', 0, 1);
    assert_cell('G', 1, 1);
    for (u32 y = 0; y < H; y++) /* nothing in the margin right of the last column */
        for (u32 x = 5 * GW; x < W; x++)
            assert_int_equal(at(x, y), bg);
}

static void scrolling_wraps_to_the_top(void **state)
{
    (void)state;
    make_fb(FB_FORMAT_BGRX);
    fbcon_write(&con, "A\nB\n", 4); /* rows 0 and 1; now at row 2, the next (row 0) cleared */
    assert_row_blank(2);
    assert_row_blank(0);
    assert_cell('B', 0, 1);
    fbcon_write(&con, "C\n", 2); /* row 2, then to row 0; row 1 (B) cleared as the separator */
    assert_cell('C', 0, 2);
    assert_row_blank(0);
    assert_row_blank(1);
    fbcon_write(&con, "D", 1);
    assert_cell('D', 0, 0);
    for (u32 x = 0; x < W; x++) /* the pixel line below the last text row is never drawn on */
        assert_int_equal(at(x, 3 * GH), bg);
    for (int i = 0; i < 16; i++)
        assert_int_equal(px[STRIDE * H + i], 0xdeadbeef);
}

static void many_lines_keep_the_newest_and_a_blank_after_it(void **state)
{
    (void)state;
    make_fb(FB_FORMAT_RGBX);
    for (int n = 0; n < 20; n++) {
        char line[3] = { (char)('A' + n), 'B', '\n' };
        fbcon_write(&con, line, 3);
        u32 row = (u32)(n + 1) % 3; /* the row the next line goes to */
        assert_cell((char)('A' + n), 0, (row + 2) % 3);
        assert_cell('B', 1, (row + 2) % 3);
        assert_row_blank(row);
        assert_row_blank((row + 1) % 3);
    }
}

static void glyph_rows_from_firmware_pixels(void **state)
{
    (void)state;
    u32 bg_px = 0xff000000, fg_px = 0x00c0c0c0; /* the reserved byte differs: still background */
    u32 row[FB_GLYPH_MAX_W + 4];
    for (int i = 0; i < FB_GLYPH_MAX_W + 4; i++)
        row[i] = i % 3 == 0 ? fg_px : 0x00000000;
    assert_int_equal(fb_glyph_row(row, 8, bg_px), 0x49); /* columns 0, 3, 6 */
    assert_int_equal(fb_glyph_row(row, 1, bg_px), 1);
    assert_int_equal(fb_glyph_row(row, 0, bg_px), 0);
    /* Never more than 32 columns, whatever width the firmware says. */
    assert_int_equal(fb_glyph_row(row, FB_GLYPH_MAX_W + 4, bg_px), 0x49249249);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pixel_formats),
        cmocka_unit_test(refuses_what_it_cannot_draw),
        cmocka_unit_test(init_clears_inside_the_framebuffer_only),
        cmocka_unit_test(glyphs_blitted_in_place),
        cmocka_unit_test(long_line_continues_below),
        cmocka_unit_test(scrolling_wraps_to_the_top),
        cmocka_unit_test(many_lines_keep_the_newest_and_a_blank_after_it),
        cmocka_unit_test(glyph_rows_from_firmware_pixels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
