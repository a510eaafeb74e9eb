/* UNIT-SOURCES: hv/guard/wrapper_layout.c christoize/stubs.c */
/* The hypervisor's reader of christoize's wrapper code (hv/guard/wrapper_layout.c) against the writer
 * (christoize/stubs.c): the wrappers cs_write emits for one exit and one entry are assembled and
 * linked at fixed addresses with binutils (as, ld, objcopy, nm), and the decoders must find in
 * those bytes exactly the targets the assembler resolved. Then hand-made variants: the assembler's
 * short jmp, and every byte of the layouts the decoders must refuse when it changes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "christoize/stubs.h"
#include "guard/gmeta.h"
#include "core/hypercall.h"
#include "guard/wrapper_layout.h"

#define TEXT_AT 0x401000ull
#define DATA_AT 0x40a000ull

static char dir[256];
static u8 text[4096], data[4096];
static size_t text_len, data_len;

static int run(const char *cmd)
{
    char full[1024];
    snprintf(full, sizeof(full), "cd %s && %s", dir, cmd);
    return system(full);
}

static size_t slurp(const char *name, u8 *buf, size_t max)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, max, f);
    fclose(f);
    return n;
}

/* The address nm gives a symbol of the linked wrappers (0 when absent). */
static u64 sym(const char *name)
{
    char path[512], line[256], n[200], t;
    unsigned long long a;
    u64 found = 0;
    snprintf(path, sizeof(path), "%s/w.nm", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%llx %c %199s", &a, &t, n) == 3 && !strcmp(n, name))
            found = a;
    fclose(f);
    return found;
}

static const struct cs_wrap wraps[] = {
    { CS_EXIT, "kfoo", "__wrap_kfoo", "__real_kfoo", 0 },
    { CS_ENTRY, "mbar", "__christo_entry_mbar", "__christo_orig_mbar", 0 },
};
static struct cs_site *sites;
static size_t nsites;

static int build(void **state)
{
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(dir, sizeof(dir), "%s/wrapper-layout-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/w.S", dir);
    FILE *f = fopen(path, "w");
    if (!f || cs_write(f, "wl", wraps, 2, &sites, &nsites))
        return -1;
    /* the module's function and the kernel's, far enough away for a rel32 jump */
    fprintf(f, "\t.text\n\t.globl __christo_orig_mbar\n\t.skip 512, 0xcc\n__christo_orig_mbar:\n\tret\n"
               "\t.globl __real_kfoo\n__real_kfoo:\n\tret\n");
    fclose(f);
    if (run("as --64 -o w.o w.S && ld -static -nostdlib -e 0 -Ttext=0x401000 -Tdata=0x40a000 -o w.elf w.o 2>/dev/null"
            " && objcopy -O binary -j .text w.elf text.bin && objcopy -O binary -j .data w.elf data.bin"
            " && nm w.elf > w.nm"))
        return -1;
    text_len = slurp("text.bin", text, sizeof(text));
    data_len = slurp("data.bin", data, sizeof(data));
    (void)state;
    return 0;
}

static int cleanup(void **state)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    free(sites);
    (void)state;
    return system(cmd) == 0 ? 0 : -1;
}

/* The address of the first site of a kind. */
static u64 site_of(unsigned kind)
{
    char name[64];
    for (size_t i = 0; i < nsites; i++)
        if (sites[i].kind == kind) {
            snprintf(name, sizeof(name), CS_SITE_PREFIX "%zu", i);
            return sym(name);
        }
    return 0;
}

static const u8 *at(u64 addr) { return text + (addr - TEXT_AT); }

static void entry_wrapper_as_assembled(void **state)
{
    static const u8 push[1] = { 0x50 };
    u64 site = site_of(GMETA_SITE_BORDER_IN_CALL), target = 0;

    assert_true(site > TEXT_AT && site + WL_ENTRY_TAIL_LEN <= TEXT_AT + text_len);
    assert_int_equal(sym("__christo_entry_mbar"), site - 6); /* the hypervisor's fetch-fault start */
    assert_true(wl_hypercall_after(at(site - 6), push, 1, HC_BORDER_IN_CALL));
    assert_false(wl_hypercall_after(at(site - 6), push, 1, HC_BORDER_OUT_CALL));
    assert_true(wl_entry_tail(at(site), WL_ENTRY_TAIL_LEN, site, &target));
    assert_int_equal(target, sym("__christo_orig_mbar"));
    /* the exit tail's decoder does not take an entry wrapper */
    u64 cont, slot;
    assert_false(wl_exit_tail(at(site), site, &cont, &slot));
    (void)state;
}

static void exit_wrapper_as_assembled(void **state)
{
    static const u8 sub_push[5] = { 0x48, 0x83, 0xec, 0x08, 0x50 };
    u64 call = site_of(GMETA_SITE_BORDER_OUT_CALL), ret = site_of(GMETA_SITE_BORDER_IN_RET), cont = 0, slot = 0, k;

    assert_true(call > TEXT_AT && ret > call);
    assert_true(wl_exit_tail(at(call), call, &cont, &slot));
    assert_int_equal(cont, ret - 10); /* .Lcont: sub, push, mov, then the border-in ret */
    assert_true(wl_hypercall_after(at(cont), sub_push, 5, HC_BORDER_IN_RET));
    assert_true(slot >= DATA_AT && slot + 8 <= DATA_AT + data_len);
    memcpy(&k, data + (slot - DATA_AT), 8);
    assert_int_equal(k, sym("__real_kfoo")); /* the slot holds the kernel's function */
    u64 target;
    assert_false(wl_entry_tail(at(call), WL_ENTRY_TAIL_LEN, call, &target));
    (void)state;
}

/* vmmcall; lea 0x10(%rip),%rax; mov %rax,8(%rsp); pop %rax; then the jump */
static void hand_made(u8 *b)
{
    static const u8 head[16] = {
        0x0f, 0x01, 0xd9, 0x48, 0x8d, 0x05, 0x10, 0, 0, 0, 0x48, 0x89, 0x44, 0x24, 0x08, 0x58
    };
    memcpy(b, head, 16);
}

static void short_and_backward_jumps(void **state)
{
    u8 b[WL_ENTRY_TAIL_LEN];
    u64 t;

    hand_made(b);
    b[16] = 0xeb, b[17] = 0x80; /* jmp -128: rel8, 18 bytes are enough */
    assert_true(wl_entry_tail(b, 18, 0x1000, &t));
    assert_int_equal(t, 0x1000 + 18 - 128);
    hand_made(b);
    b[16] = 0xe9;
    memcpy(b + 17, &(s32){ -0x100 }, 4);
    assert_true(wl_entry_tail(b, sizeof(b), 0x2000, &t));
    assert_int_equal(t, 0x2000 + 21 - 0x100);
    assert_false(wl_entry_tail(b, 18, 0x2000, &t)); /* a rel32 jump cut short */
    (void)state;
}

/* Any other byte where the layout has a fixed one: refused. */
static void every_changed_byte_is_refused(void **state)
{
    u8 b[WL_EXIT_TAIL_LEN], c[WL_EXIT_TAIL_LEN];
    u64 t, u;
    static const int fixed_entry[] = { 0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16 };
    static const int fixed_exit[] = { 0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16, 17 };

    hand_made(b);
    b[16] = 0xe9;
    memset(b + 17, 0, 5);
    assert_true(wl_entry_tail(b, WL_ENTRY_TAIL_LEN, 0, &t));
    for (size_t i = 0; i < sizeof(fixed_entry) / sizeof(fixed_entry[0]); i++) {
        memcpy(c, b, sizeof(b));
        c[fixed_entry[i]] ^= 0x01; /* e9 becomes e8: a call, not the jmp */
        assert_false(wl_entry_tail(c, WL_ENTRY_TAIL_LEN, 0, &t));
    }
    hand_made(b);
    b[16] = 0xff, b[17] = 0x25;
    memset(b + 18, 0, 4);
    assert_true(wl_exit_tail(b, 0, &t, &u));
    for (size_t i = 0; i < sizeof(fixed_exit) / sizeof(fixed_exit[0]); i++) {
        memcpy(c, b, sizeof(b));
        c[fixed_exit[i]] ^= 0x01;
        assert_false(wl_exit_tail(c, 0, &t, &u));
    }
    static const u8 push[1] = { 0x50 };
    u8 h[9] = { 0x50, 0xb8, 0x02, 0x01, 0x53, 0x50, 0x0f, 0x01, 0xd9 };
    assert_true(wl_hypercall_after(h, push, 1, HC_BORDER_IN_CALL));
    for (int i = 0; i < 9; i++) {
        u8 g[9];
        memcpy(g, h, 9);
        g[i] ^= 0x01;
        assert_false(wl_hypercall_after(g, push, 1, HC_BORDER_IN_CALL));
    }
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entry_wrapper_as_assembled),
        cmocka_unit_test(exit_wrapper_as_assembled),
        cmocka_unit_test(short_and_backward_jumps),
        cmocka_unit_test(every_changed_byte_is_refused),
    };
    return cmocka_run_group_tests(tests, build, cleanup);
}
