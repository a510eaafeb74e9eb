/* hv/guard/wrapper_layout.c — see wrapper_layout.h. */
#include "guard/wrapper_layout.h"

#include "lib/lib.h"

#define OP_MOV_EAX   0xb8
#define OP_JMP_REL32 0xe9
#define OP_JMP_REL8  0xeb

static const u8 vmmcall[3] = { 0x0f, 0x01, 0xd9 };
static const u8 lea_rax_rip[3] = { 0x48, 0x8d, 0x05 };                        /* lea disp32(%rip),%rax */
static const u8 mov_rax_8rsp_pop[6] = { 0x48, 0x89, 0x44, 0x24, 0x08, 0x58 }; /* mov %rax,8(%rsp); pop %rax */

bool wl_hypercall_after(const u8 *b, const u8 *prefix, u32 plen, u32 nr)
{
    u32 imm;
    if (memcmp(b, prefix, plen) || b[plen] != OP_MOV_EAX)
        return false;
    memcpy(&imm, b + plen + 1, 4);
    return imm == nr && !memcmp(b + plen + 5, vmmcall, 3);
}

/* vmmcall; lea .Lcont(%rip),%rax; mov %rax,8(%rsp); pop %rax — the start both tails share */
static bool common_start(const u8 *b)
{
    return !memcmp(b, vmmcall, 3) && !memcmp(b + 3, lea_rax_rip, 3) && !memcmp(b + 10, mov_rax_8rsp_pop, 6);
}

bool wl_entry_tail(const u8 *b, u32 len, u64 site, u64 *target)
{
    s32 rel;
    if (len < 18 || !common_start(b))
        return false;
    if (b[16] == OP_JMP_REL8) {
        *target = site + 18 + (s64)(s8)b[17];
        return true;
    }
    if (b[16] != OP_JMP_REL32 || len < WL_ENTRY_TAIL_LEN)
        return false;
    memcpy(&rel, b + 17, 4);
    *target = site + WL_ENTRY_TAIL_LEN + (s64)rel;
    return true;
}

bool wl_exit_tail(const u8 *b, u64 site, u64 *cont, u64 *slot)
{
    s32 lea_disp, jmp_disp;
    /* jmp *disp32(%rip): ff 25 */
    if (!common_start(b) || b[16] != 0xff || b[17] != 0x25)
        return false;
    memcpy(&lea_disp, b + 6, 4);
    memcpy(&jmp_disp, b + 18, 4);
    *cont = site + 10 + (s64)lea_disp;
    *slot = site + WL_EXIT_TAIL_LEN + (s64)jmp_disp;
    return true;
}
