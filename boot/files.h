/* Reading files from the ESP the loader itself came from, into page-aligned EfiLoaderData pages. */
#ifndef POSTERN_BOOT_FILES_H
#define POSTERN_BOOT_FILES_H

#include <efi.h>
#include <efilib.h>
#include "core/boot_info.h"

/* The root directory of the volume image was loaded from; says why on failure. */
EFI_STATUS esp_open_root(EFI_LOADED_IMAGE *li, EFI_FILE_HANDLE *root);

/*
 * Reads path ('/'-separated, ASCII) into freshly allocated pages and records it in *f (addr, size,
 * path), of UEFI memory type mem_type: EfiLoaderData for what becomes the guest's once the hypervisor
 * has used it (kernel, initrd), BOOT_EFI_POSTERN_MEMORY for what the hypervisor keeps (metadata).
 * A file bigger than max_size is refused. Says why on failure (e.g. "cannot read
 * /postern/nope: Not Found") and leaves *f empty.
 */
EFI_STATUS esp_read(EFI_FILE_HANDLE root, const char *path, u64 max_size, u32 mem_type, struct boot_file *f);

/*
 * Calls fn(ctx, name, size) for every regular file in the directory at path whose name is plain
 * ASCII (others are skipped), in the file system's order. Says why when the directory cannot be
 * opened; a directory that does not exist is EFI_NOT_FOUND without a message.
 */
EFI_STATUS esp_for_each_file(EFI_FILE_HANDLE root, const char *path, void (*fn)(void *ctx, const char *name, u64 size),
                             void *ctx);

/* Gives back the pages of a file esp_read loaded (no-op for an empty record). */
void boot_file_free(struct boot_file *f);

#endif
