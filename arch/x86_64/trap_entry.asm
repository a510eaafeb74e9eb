; trap_entry.asm: the hypervisor's interrupt and exception entry stubs: 256 stubs of 16 bytes each, so C can
; compute stub i's address as traps_stubs + 16*i (no absolute addresses in data: the image is
; position independent). Each pushes a zero error code where the CPU pushes none, then its
; vector, saves the GPRs and calls x86_trap(struct trap_frame *).

bits 64
default rel
section .text

extern x86_trap

%macro stub 1
    align 16
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30
    ; the CPU pushed an error code
%else
    push qword 0
%endif
    push qword %1
    jmp trap_common
%endmacro

align 16
global traps_stubs
traps_stubs:
%assign i 0
%rep 256
    stub i
%assign i i+1
%endrep

trap_common:
    push rax
    push rcx
    push rdx
    push rbx
    push rbp
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    mov rbx, rsp
    and rsp, -16
    call x86_trap wrt ..plt
    mov rsp, rbx
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rbp
    pop rbx
    pop rdx
    pop rcx
    pop rax
    add rsp, 16                 ; vector, error code
    iretq

section .note.GNU-stack noalloc noexec nowrite progbits
