/* ESP file reading (see files.h). */
#include "boot/files.h"
#include "boot/console.h"
#include "lib/lib.h"

#define READ_CHUNK MiB(16) /* some firmware file systems dislike huge single reads */

EFI_STATUS esp_open_root(EFI_LOADED_IMAGE *li, EFI_FILE_HANDLE *root)
{
    EFI_FILE_IO_INTERFACE *fs = NULL;
    EFI_STATUS st;

    st = uefi_call_wrapper(BS->HandleProtocol, 3, li->DeviceHandle, &FileSystemProtocol, (void **)&fs);
    if (EFI_ERROR(st)) {
        say(L"cannot open the boot volume (no file system on the device postern.efi came from): %r", st);
        return st;
    }
    st = uefi_call_wrapper(fs->OpenVolume, 2, fs, root);
    if (EFI_ERROR(st))
        say(L"cannot open the boot volume: %r", st);
    return st;
}

static void to_efi_path(const char *path, CHAR16 name[BOOT_NAME_MAX])
{
    size_t i;
    for (i = 0; i < BOOT_NAME_MAX - 1 && path[i]; i++)
        name[i] = path[i] == '/' ? L'\\' : (CHAR16)path[i];
    name[i] = 0;
}

EFI_STATUS esp_for_each_file(EFI_FILE_HANDLE root, const char *path, void (*fn)(void *ctx, const char *name, u64 size),
                             void *ctx)
{
    CHAR16 name[BOOT_NAME_MAX];
    EFI_FILE_HANDLE dh = NULL;
    /* An EFI_FILE_INFO with a FAT long name (at most 255 UCS-2 characters) fits. */
    UINT64 buf[1024 / sizeof(UINT64)];
    EFI_STATUS st;

    to_efi_path(path, name);
    st = uefi_call_wrapper(root->Open, 5, root, &dh, name, EFI_FILE_MODE_READ, 0ull);
    if (EFI_ERROR(st)) {
        if (st != EFI_NOT_FOUND)
            say(L"cannot list %a: %r", path, st);
        return st;
    }
    for (;;) {
        EFI_FILE_INFO *fi = (EFI_FILE_INFO *)buf;
        char ascii[BOOT_NAME_MAX];
        UINTN size = sizeof(buf);
        size_t i;
        bool plain = true;

        st = uefi_call_wrapper(dh->Read, 3, dh, &size, buf);
        if (EFI_ERROR(st)) {
            say(L"cannot list %a: %r", path, st);
            break;
        }
        if (size == 0) /* end of the directory */
            break;
        if (fi->Attribute & EFI_FILE_DIRECTORY)
            continue;
        for (i = 0; i < sizeof(ascii) - 1 && fi->FileName[i]; i++) {
            plain &= fi->FileName[i] > 0x20 && fi->FileName[i] < 0x7f;
            ascii[i] = (char)fi->FileName[i];
        }
        ascii[i] = 0;
        if (plain && !fi->FileName[i])
            fn(ctx, ascii, fi->FileSize);
    }
    uefi_call_wrapper(dh->Close, 1, dh);
    return st;
}

EFI_STATUS esp_read(EFI_FILE_HANDLE root, const char *path, u64 max_size, u32 mem_type, struct boot_file *f)
{
    CHAR16 name[BOOT_NAME_MAX];
    EFI_FILE_HANDLE fh = NULL;
    EFI_FILE_INFO *info;
    EFI_PHYSICAL_ADDRESS addr = 0;
    UINTN pages = 0;
    u64 size, done = 0;
    size_t i;
    EFI_STATUS st;

    memset(f, 0, sizeof(*f));
    to_efi_path(path, name);

    st = uefi_call_wrapper(root->Open, 5, root, &fh, name, EFI_FILE_MODE_READ, 0ull);
    if (EFI_ERROR(st)) {
        say(L"cannot read %a: %r", path, st);
        return st;
    }
    info = LibFileInfo(fh);
    if (!info) {
        st = EFI_DEVICE_ERROR;
        say(L"cannot read %a: no file information", path);
        goto out;
    }
    size = info->FileSize;
    if (info->Attribute & EFI_FILE_DIRECTORY) {
        FreePool(info);
        st = EFI_NOT_FOUND;
        say(L"cannot read %a: it is a directory", path);
        goto out;
    }
    FreePool(info);
    if (size > max_size) {
        st = EFI_BAD_BUFFER_SIZE;
        say(L"cannot read %a: %ld bytes is more than the %ld allowed", path, size, max_size);
        goto out;
    }

    pages = EFI_SIZE_TO_PAGES(size ? size : 1);
    st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, (EFI_MEMORY_TYPE)mem_type, pages, &addr);
    if (EFI_ERROR(st)) {
        say(L"cannot read %a: no memory for %ld bytes: %r", path, size, st);
        goto out;
    }
    while (done < size) {
        UINTN chunk = size - done > READ_CHUNK ? READ_CHUNK : size - done;
        st = uefi_call_wrapper(fh->Read, 3, fh, &chunk, (void *)(UINTN)(addr + done));
        if (!EFI_ERROR(st) && chunk == 0)
            st = EFI_END_OF_FILE; /* the file shrank under us */
        if (EFI_ERROR(st)) {
            say(L"cannot read %a: %r", path, st);
            uefi_call_wrapper(BS->FreePages, 2, addr, pages);
            goto out;
        }
        done += chunk;
    }
    f->addr = addr;
    f->size = size;
    for (i = 0; i < BOOT_NAME_MAX - 1 && path[i]; i++)
        f->path[i] = path[i];
    f->path[i] = 0;
out:
    uefi_call_wrapper(fh->Close, 1, fh);
    return st;
}

void boot_file_free(struct boot_file *f)
{
    if (f->addr)
        uefi_call_wrapper(BS->FreePages, 2, f->addr, EFI_SIZE_TO_PAGES(f->size ? f->size : 1));
    f->addr = 0;
    f->size = 0;
}
