/* The one virtual machine Postern runs: its memory, its nested page tables, its border control. */
#ifndef POSTERN_VM_H
#define POSTERN_VM_H

#include "guard.h"
#include "guest_mem.h"
#include "npt.h"
#include "privilege.h"

struct vm {
    struct guest_mem mem;
    struct npt npt;
    struct privilege_registry privs;
    struct guard guard; /* ~250 KiB: static storage, never the stack */
};

extern struct vm vm0;

#endif
