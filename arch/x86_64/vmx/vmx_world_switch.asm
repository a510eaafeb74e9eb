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

%define VMCS_HOST_RSP 0x6c14

%define R_RAX 0*8
%define R_RCX 1*8
%define R_RDX 2*8
%define R_RBX 3*8
%define R_RBP 5*8
%define R_RSI 6*8
%define R_RDI 7*8
%define R_R8  8*8
%define R_R9  9*8
%define R_R10 10*8
%define R_R11 11*8
%define R_R12 12*8
%define R_R13 13*8
%define R_R14 14*8
%define R_R15 15*8

global vmx_world_switch
global vmx_exit_landing
vmx_world_switch:
    ; callee-saved host registers (System V)
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi                    ; gprs: at [rsp] when the VM exit lands
    mov rax, VMCS_HOST_RSP
    vmwrite rax, rsp

    test esi, esi               ; ZF = first entry; the MOVs below leave the flags alone
    mov rax, [rdi + R_RAX]
    mov rbx, [rdi + R_RBX]
    mov rcx, [rdi + R_RCX]
    mov rdx, [rdi + R_RDX]
    mov rbp, [rdi + R_RBP]
    mov rsi, [rdi + R_RSI]
    mov r8,  [rdi + R_R8]
    mov r9,  [rdi + R_R9]
    mov r10, [rdi + R_R10]
    mov r11, [rdi + R_R11]
    mov r12, [rdi + R_R12]
    mov r13, [rdi + R_R13]
    mov r14, [rdi + R_R14]
    mov r15, [rdi + R_R15]
    mov rdi, [rdi + R_RDI]
    jnz .resume
    vmlaunch
    jmp .failed
.resume:
    vmresume
.failed:
    ; still in the host, guest GPRs loaded: CF=1 VMfailInvalid, ZF=1 VMfailValid
    mov eax, 1
    jc .out
    mov eax, 2
.out:
    pop rdi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

vmx_exit_landing:
    push rax                    ; guest RAX; gprs is now at [rsp + 8]
    mov rax, [rsp + 8]
    mov [rax + R_RBX], rbx
    mov [rax + R_RCX], rcx
    mov [rax + R_RDX], rdx
    mov [rax + R_RBP], rbp
    mov [rax + R_RSI], rsi
    mov [rax + R_RDI], rdi
    mov [rax + R_R8],  r8
    mov [rax + R_R9],  r9
    mov [rax + R_R10], r10
    mov [rax + R_R11], r11
    mov [rax + R_R12], r12
    mov [rax + R_R13], r13
    mov [rax + R_R14], r14
    mov [rax + R_R15], r15
    pop rcx
    mov [rax + R_RAX], rcx

    pop rdi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    xor eax, eax
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
