; The SVM world switch: the only assembly on the exit path (AMD APM Vol. 2 §15.5, §15.6).
;
; void svm_world_switch(u64 vmcb_pa, u64 *gprs);
;   rdi = host-physical address of the guest VMCB, rsi = vcpu->regs (indexed by x86 register
;   number). RAX, RSP, RIP and RFLAGS travel in the VMCB; the other guest GPRs are loaded from
;   and stored back to gprs here. VMLOAD/VMSAVE carry the state VMRUN does not switch
;   (FS, GS, TR, LDTR, KernelGsBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*).
;   The hypervisor runs with GIF=0 after #VMEXIT; VMRUN sets it again.

bits 64
default rel
section .text

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

global svm_world_switch
svm_world_switch:
    ; callee-saved host registers (System V)
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rsi                    ; gprs, needed again after #VMEXIT

    mov rax, rdi                ; VMRUN/VMLOAD/VMSAVE take the VMCB address in RAX
    mov rbx, [rsi + R_RBX]
    mov rcx, [rsi + R_RCX]
    mov rdx, [rsi + R_RDX]
    mov rbp, [rsi + R_RBP]
    mov rdi, [rsi + R_RDI]
    mov r8,  [rsi + R_R8]
    mov r9,  [rsi + R_R9]
    mov r10, [rsi + R_R10]
    mov r11, [rsi + R_R11]
    mov r12, [rsi + R_R12]
    mov r13, [rsi + R_R13]
    mov r14, [rsi + R_R14]
    mov r15, [rsi + R_R15]
    mov rsi, [rsi + R_RSI]

    vmload
    vmrun
    ; #VMEXIT: RAX, RSP, RIP restored from the host save area; the rest hold guest values.
    vmsave

    mov rax, [rsp]              ; gprs
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

    pop rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
