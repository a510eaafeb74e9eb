/* Reading files from the ESP the loader itself came from, into page-aligned EfiLoaderData pages. */
#ifndef POSTERN_BOOT_FILES_H
#define POSTERN_BOOT_FILES_H

#include <efi.h>
#include <efilib.h>
#include "hv/boot_info.h"

/* The root directory of the volume image was loaded from; says why on failure. */
EFI_STATUS esp_open_root(EFI_LOADED_IMAGE *li, EFI_FILE_HANDLE *root);

/*
 * Reads path ('/'-separated, ASCII) into freshly allocated pages and records it in *f (addr, size,
 * path). A file bigger than max_size is refused. Says why on failure (e.g. "cannot read
 * /postern/nope: Not Found") and leaves *f empty.
 */
EFI_STATUS esp_read(EFI_FILE_HANDLE root, const char *path, u64 max_size, struct boot_file *f);

/* Gives back the pages of a file esp_read loaded (no-op for an empty record). */
void boot_file_free(struct boot_file *f);

#endif
