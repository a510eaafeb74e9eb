/* Loader messages on ConOut and the serial line (see console.h). */
#include "boot/console.h"
#include "drivers/uart/uart16550.h"

#define MSG_MAX 256

static bool mirrored;
static u8 uart_space = UART_IO;
static u64 uart_base = 0x3f8;
static u32 uart_baud = 115200;
static bool uart_ready;   /* initialized at the current port/baud */
static bool uart_missing; /* nothing answers at uart_port */

/* Walks a (possibly multi-instance) device path for a Uart() messaging node. */
static bool path_has_uart(const u8 *p, UINTN size)
{
    UINTN off = 0;

    while (off + sizeof(EFI_DEVICE_PATH_PROTOCOL) <= size) {
        const EFI_DEVICE_PATH_PROTOCOL *node = (const EFI_DEVICE_PATH_PROTOCOL *)(p + off);
        UINTN len = DevicePathNodeLength(node);

        if (DevicePathType(node) == MESSAGING_DEVICE_PATH && DevicePathSubType(node) == MSG_UART_DP)
            return true;
        if (DevicePathType(node) == END_DEVICE_PATH_TYPE && DevicePathSubType(node) == END_ENTIRE_DEVICE_PATH_SUBTYPE)
            return false;
        if (len < sizeof(EFI_DEVICE_PATH_PROTOCOL))
            return false; /* malformed: stop rather than loop */
        off += len;
    }
    return false;
}

void console_init(void)
{
    UINTN size = 0;
    void *conout = LibGetVariableAndSize(L"ConOut", &EfiGlobalVariable, &size);

    mirrored = conout && path_has_uart(conout, size);
    if (conout)
        FreePool(conout);
}

bool console_mirrored(void) { return mirrored; }

void console_set_serial(u16 port, u32 baud) { console_set_serial_at(UART_IO, port, baud); }

void console_set_serial_at(u8 space, u64 base, u32 baud)
{
    if (space != uart_space || base != uart_base || baud != uart_baud) {
        uart_space = space;
        uart_base = base;
        uart_baud = baud;
        uart_ready = false;
        uart_missing = false;
    }
}

/* The hypervisor's own 16550 driver, used early (it is linked into the same image). */
static void uart_setup(void)
{
    uart_ready = true;
    uart_missing = !uart_init_at((enum uart_space)uart_space, uart_base, uart_baud);
}

static void uart_line(const char *prefix, const CHAR16 *wide, const char *narrow)
{
    if (!uart_ready)
        uart_setup();
    if (uart_missing)
        return;
    while (*prefix)
        uart_putc(*prefix++);
    for (; wide && *wide; wide++)
        uart_putc(*wide < 0x20 || *wide > 0x7e ? '?' : (char)*wide);
    for (; narrow && *narrow; narrow++)
        uart_putc(*narrow);
    uart_putc('\r');
    uart_putc('\n');
    uart_flush(); /* the loader may hand back to the firmware next: nothing left in the ring */
}

void say(const CHAR16 *fmt, ...)
{
    CHAR16 msg[MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    UnicodeVSPrint(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, L"postern: ");
    uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, msg);
    uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, L"\r\n");
    if (!mirrored)
        uart_line("postern: ", msg, NULL);
}

void say_serial_only(const char *msg) { uart_line("postern: ", NULL, msg); }
