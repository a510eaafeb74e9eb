/*
 * The UEFI framebuffer and the firmware's font, for the hypervisor's log when there is no UART
 * (docs/console.md "No UART"). Before ExitBootServices: the Graphics Output Protocol's mode
 * (only 32-bit RGBX/BGRX pixels are used), and ASCII 0x20-0x7e rendered by the firmware's own HII
 * font (EFI_HII_FONT_PROTOCOL.GetGlyph) into boot_info's glyph atlas. No font is carried here.
 */
#include <efi.h>
#include <efilib.h>

#include "boot/console.h"
#include "boot/gop.h"
#include "lib/lib.h"
#include "lib/log.h"

/* EFI_HII_FONT_PROTOCOL (UEFI 2.10 §34.1), the parts used: gnu-efi does not declare it. */
#define HII_FONT_PROTOCOL_GUID                                                                                         \
    {                                                                                                                  \
        0xe9ca4775, 0x8657, 0x47fc, { 0x97, 0xe7, 0x7e, 0xd6, 0x5a, 0x08, 0x43, 0x24 }                                 \
    }

struct hii_image_output {
    UINT16 Width;
    UINT16 Height;
    EFI_GRAPHICS_OUTPUT_BLT_PIXEL *Bitmap; /* a union with an EFI_GRAPHICS_OUTPUT_PROTOCOL *Screen */
};

struct hii_font_protocol {
    void *StringToImage;
    void *StringIdToImage;
    EFI_STATUS(EFIAPI *GetGlyph)
    (const struct hii_font_protocol *This, CHAR16 Char, const void *StringInfo, struct hii_image_output **Blt,
     UINTN *Baseline);
    void *GetFontInfo;
};

static void note(struct fb_info *fb, const char *why)
{
    size_t n = strlen(why);
    if (n >= sizeof(fb->note))
        n = sizeof(fb->note) - 1;
    memcpy(fb->note, why, n);
    fb->note[n] = 0;
}

/* One glyph rendered in the firmware's default colours; its cell must be the space's. */
static EFI_STATUS render(struct hii_font_protocol *font, struct fb_info *fb, unsigned ch, u32 *bg)
{
    struct hii_image_output *img = NULL;
    EFI_STATUS st = uefi_call_wrapper(font->GetGlyph, 5, font, (CHAR16)ch, NULL, &img, NULL);

    if (EFI_ERROR(st) || !img || !img->Bitmap)
        return EFI_ERROR(st) ? st : EFI_NOT_FOUND;
    if (ch == FB_GLYPH_FIRST) { /* the space: its size is the cell's, its colour the background */
        fb->glyph_w = img->Width;
        fb->glyph_h = img->Height;
        *bg = img->Width && img->Height ? *(const u32 *)(const void *)img->Bitmap : 0;
    }
    if (img->Width != fb->glyph_w || img->Height != fb->glyph_h || !fb->glyph_w || fb->glyph_w > FB_GLYPH_MAX_W ||
        !fb->glyph_h || fb->glyph_h > FB_GLYPH_MAX_H)
        st = EFI_UNSUPPORTED;
    else
        for (u32 y = 0; y < fb->glyph_h; y++)
            fb->glyph[ch - FB_GLYPH_FIRST][y] =
                fb_glyph_row((const u32 *)(const void *)(img->Bitmap + (UINTN)y * img->Width), img->Width, *bg);
    FreePool(img->Bitmap);
    FreePool(img);
    return st;
}

static bool load_font(struct fb_info *fb)
{
    EFI_GUID guid = HII_FONT_PROTOCOL_GUID;
    struct hii_font_protocol *font = NULL;
    EFI_STATUS st;
    u32 bg = 0;
    char why[FB_NOTE_MAX];

    st = uefi_call_wrapper(BS->LocateProtocol, 3, &guid, NULL, (void **)&font);
    if (EFI_ERROR(st) || !font) {
        note(fb, "the firmware has no HII font protocol to draw text with");
        return false;
    }
    for (unsigned ch = FB_GLYPH_FIRST; ch < FB_GLYPH_FIRST + FB_GLYPH_COUNT; ch++) {
        st = render(font, fb, ch, &bg);
        if (EFI_ERROR(st)) {
            fmt_snprintf(why, sizeof(why),
                         "the firmware's font has no usable glyph for '%c' (%ux%u cell, at most %ux%u)", (char)ch,
                         fb->glyph_w, fb->glyph_h, FB_GLYPH_MAX_W, FB_GLYPH_MAX_H);
            note(fb, why);
            fb->glyph_w = fb->glyph_h = 0;
            return false;
        }
    }
    return true;
}

static const char *format_name(EFI_GRAPHICS_PIXEL_FORMAT f)
{
    switch (f) {
    case PixelRedGreenBlueReserved8BitPerColor:
        return "RGBX";
    case PixelBlueGreenRedReserved8BitPerColor:
        return "BGRX";
    case PixelBitMask:
        return "bit-mask pixels";
    case PixelBltOnly:
        return "Blt only, no framebuffer";
    default:
        return "an unknown pixel format";
    }
}

void gop_probe(struct fb_info *fb)
{
    EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;
    EFI_STATUS st;
    char why[FB_NOTE_MAX];

    memset(fb, 0, sizeof(*fb));
    st = uefi_call_wrapper(BS->LocateProtocol, 3, &GraphicsOutputProtocol, NULL, (void **)&gop);
    if (EFI_ERROR(st) || !gop || !gop->Mode || !gop->Mode->Info) {
        note(fb, "the firmware has no graphics output (GOP)");
        say(L"framebuffer: none (no GOP): without a UART the log stays in memory only");
        return;
    }
    const EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *m = gop->Mode->Info;
    if (m->PixelFormat != PixelRedGreenBlueReserved8BitPerColor &&
        m->PixelFormat != PixelBlueGreenRedReserved8BitPerColor) {
        fmt_snprintf(why, sizeof(why), "the GOP mode has %s, not 32-bit RGBX/BGRX", format_name(m->PixelFormat));
        note(fb, why);
        say(L"framebuffer: not used: %a", why);
        return;
    }
    fb->format = m->PixelFormat == PixelRedGreenBlueReserved8BitPerColor ? FB_FORMAT_RGBX : FB_FORMAT_BGRX;
    fb->base = gop->Mode->FrameBufferBase;
    fb->size = gop->Mode->FrameBufferSize;
    fb->width = m->HorizontalResolution;
    fb->height = m->VerticalResolution;
    fb->stride = m->PixelsPerScanLine;
    if (!load_font(fb)) {
        say(L"framebuffer: %dx%d %a at 0x%lx, not used: %a", fb->width, fb->height, format_name(m->PixelFormat),
            fb->base, fb->note);
        return;
    }
    if (!fbcon_usable(fb)) {
        fmt_snprintf(why, sizeof(why), "a %ux%u mode of %u pixels per line does not fit its %llu bytes", fb->width,
                     fb->height, fb->stride, (unsigned long long)fb->size);
        note(fb, why);
        say(L"framebuffer: not used: %a", why);
        return;
    }
    say(L"framebuffer: %dx%d %a at 0x%lx (%ld KiB), the firmware's %dx%d font: the log's place if no UART answers",
        fb->width, fb->height, format_name(m->PixelFormat), fb->base, fb->size >> 10, fb->glyph_w, fb->glyph_h);
}
