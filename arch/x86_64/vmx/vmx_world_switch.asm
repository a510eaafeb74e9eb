; The VT-x world switch: the only assembly on the exit path (Intel SDM Vol. 3C §26, §27, §31).
;
; int vmx_world_switch(u64 *gprs, u32 launched);
;   rdi = vcpu->regs (indexed by x86 register number), esi = 0 for VMLAUNCH, else VMRESUME.
;   RSP, RIP and RFLAGS travel in the VMCS (vmx_exit.c writes and reads them); every other guest
;   GPR, RAX included, is loaded from and stored back to gprs here.
;   Returns 0 after a VM exit, 1 for VMfailInvalid (CF=1), 2 for VMfailValid (ZF=1; the
;   VM-instruction error field says why). A VM exit lands at vmx_exit_landing (the VMCS's host
;   RIP) with RSP = the host RSP written below, interrupts off (host RFLAGS = 2).

bits 64
default rel
section .text

%include "arch/x86_64/guest_gprs.inc"

%define VMCS_HOST_RSP 0x6c14

global vmx_world_switch
global vmx_exit_landing
vmx_world_switch:
    PUSH_HOST_CALLEE_SAVED
    push rdi                    ; gprs: at [rsp] when the VM exit lands
    mov rax, VMCS_HOST_RSP
    vmwrite rax, rsp

    test esi, esi               ; ZF = first entry; the MOVs below leave the flags alone
    LOAD_GUEST_GPRS rdi
    mov rax, [rdi + R_RAX]
    mov rsi, [rdi + R_RSI]
    mov rdi, [rdi + R_RDI]
    jnz .resume
    vmlaunch
    jmp .failed
.resume:
    vmresume
.failed:
    ; still in the host, guest GPRs loaded: CF=1 VMfailInvalid, ZF=1 VMfailValid
    mov eax, 1
    jc vmx_switch_return
    mov eax, 2
    jmp vmx_switch_return

vmx_exit_landing:
    push rax                    ; guest RAX; gprs is now at [rsp + 8]
    mov rax, [rsp + 8]
    STORE_GUEST_GPRS rax
    pop rcx
    mov [rax + R_RAX], rcx
    xor eax, eax
vmx_switch_return:              ; both paths: the stack holds gprs, then the callee-saved registers
    pop rdi
    POP_HOST_CALLEE_SAVED
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
