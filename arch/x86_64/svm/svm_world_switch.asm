; The SVM world switch: the only assembly on the exit path (AMD APM Vol. 2 §15.5, §15.6).
;
; void svm_world_switch(u64 vmcb_pa, u64 *gprs);
;   rdi = host-physical address of the guest VMCB, rsi = vcpu->regs (indexed by x86 register
;   number). RAX, RSP, RIP and RFLAGS travel in the VMCB; the other guest GPRs are loaded from
;   and stored back to gprs here. VMLOAD/VMSAVE carry the state VMRUN does not switch
;   (FS, GS, TR, LDTR, KernelGsBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*).
;   GIF is clear only around VMRUN (CLGI before VMLOAD here, STGI in svm_run_once after the
;   exit): the hypervisor runs with GIF set, so NMIs, SMIs and machine checks are taken as they come (an NMI lands in the
;   hypervisor's IDT, traps.c, and is counted for the guest); RFLAGS.IF (cli) keeps external
;   interrupts out except in the HLT wait (docs/events.md).

bits 64
default rel
section .text

%include "arch/x86_64/guest_gprs.inc"

global svm_world_switch
svm_world_switch:
    PUSH_HOST_CALLEE_SAVED
    push rsi                    ; gprs, needed again after #VMEXIT

    mov rax, rdi                ; VMRUN/VMLOAD/VMSAVE take the VMCB address in RAX
    LOAD_GUEST_GPRS rsi
    mov rdi, [rsi + R_RDI]
    mov rsi, [rsi + R_RSI]

    clgi                        ; nothing may interrupt between VMLOAD and VMRUN (the guest's state is loaded)
    vmload
    vmrun
    ; #VMEXIT: RAX, RSP, RIP restored from the host save area; the rest hold guest values.
    vmsave

    mov rax, [rsp]              ; gprs
    STORE_GUEST_GPRS rax

    pop rsi
    POP_HOST_CALLEE_SAVED
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
