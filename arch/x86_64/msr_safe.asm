; msr_safe.asm: RDMSR and WRMSR that return false instead of taking the hypervisor down when the
; MSR does not exist or refuses the value (#GP). x86_trap (traps.c) sends a #GP raised at
; msr_safe_read_insn or msr_safe_write_insn to msr_safe_fault, which returns false. Used where the
; hypervisor accesses an MSR on the guest's behalf: the guest then gets the #GP, not the machine.
;
;   bool msr_read_safe(u32 msr, u64 *value);   rdi = msr, rsi = value (written only on success)
;   bool msr_write_safe(u32 msr, u64 value);   rdi = msr, rsi = value

bits 64
default rel
section .text

global msr_read_safe, msr_write_safe, msr_safe_read_insn, msr_safe_write_insn, msr_safe_fault

msr_read_safe:
    mov ecx, edi
msr_safe_read_insn:
    rdmsr
    shl rdx, 32
    mov eax, eax
    or rax, rdx
    mov [rsi], rax
    mov eax, 1
    ret

msr_write_safe:
    mov ecx, edi
    mov eax, esi
    mov rdx, rsi
    shr rdx, 32
msr_safe_write_insn:
    wrmsr
    mov eax, 1
    ret

msr_safe_fault:
    xor eax, eax
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
