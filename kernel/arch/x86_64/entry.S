/*
 * Kernel entry and exit. Each of the 256 interrupt vectors has a 16-byte stub that pushes
 * a zero where the CPU pushes no error code, then the vector number, and jumps to the
 * common path, which saves the general registers as an InterruptFrame (interrupts.hpp)
 * and calls interrupt_dispatch(frame). `syscall` builds the same frame on the thread's
 * kernel stack, so every way into the kernel from user mode leaves one frame layout at
 * the top of that stack, and one exit path (interrupt_return) leaves it again.
 *
 * GS: in the kernel GS_BASE points at this CPU's CpuLocal; in user mode the user's value
 * is live and the kernel's waits in KERNEL_GS_BASE. swapgs exchanges them on each
 * crossing, and only then.
 *
 * The entry points are typed as functions (.type) so that panic backtraces name them.
 */
#include "arch/x86_64/cpu_local_offsets.hpp"

/* The general registers, in the order of InterruptFrame (last pushed = first field). */
.macro SAVE_GENERAL_REGISTERS
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
.endm

.macro RESTORE_GENERAL_REGISTERS
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
.endm

/*
 * After `syscall` (rip in rcx, rflags in r11, interrupts off by FMASK, still on the user
 * stack): swap to the kernel's GS and stack and build an InterruptFrame there, as an
 * interrupt from user mode would, with `vector`; rdi points at it for the C++ handler.
 */
.macro SYSCALL_FRAME vector
    swapgs
    mov %rsp, %gs:CPU_LOCAL_USER_RSP
    mov %gs:CPU_LOCAL_KERNEL_STACK, %rsp
    pushq $USER_DATA_SELECTOR               /* ss */
    pushq %gs:CPU_LOCAL_USER_RSP            /* rsp */
    push %r11                               /* rflags */
    pushq $USER_CODE_SELECTOR               /* cs */
    push %rcx                               /* rip */
    pushq $0                                /* error code */
    pushq $\vector
    SAVE_GENERAL_REGISTERS
    cld
    xor %ebp, %ebp                          /* the backtrace ends here */
    mov %rsp, %rdi
.endm

    .text
    .balign 16
    .global interrupt_stubs
interrupt_stubs:
    .set vector, 0
    .rept 256
    .balign 16
    .if !(vector == 8 || vector == 10 || vector == 11 || vector == 12 || vector == 13 || vector == 14 || vector == 17 || vector == 21 || vector == 29 || vector == 30)
    pushq $0
    .endif
    pushq $vector
    jmp interrupt_common
    .set vector, vector + 1
    .endr

/*
 * #DB runs on its own IST stack (gdt::kIstDebug). `syscall` with TF set: some CPUs (Bochs
 * among them) raise the single-step trap at the entry's first instruction, before swapgs and
 * still on the user stack. FMASK has cleared TF by then: return at once, touching nothing
 * (GS is still the user's). Any other #DB in the kernel is a bug for the common path to
 * report. From user mode the frame moves to the thread's kernel stack, where every entry from
 * user mode must leave it, and the common path goes on from there.
 */
    .global debug_entry
    .balign 16
    .type debug_entry, @function
debug_entry:
    testb $3, 8(%rsp)                       /* CS of the interrupted context */
    jnz 1f
    push %rax
    leaq syscall_entry(%rip), %rax
    cmp %rax, 8(%rsp)                       /* rip */
    je 2f
    leaq syscall_compat_entry(%rip), %rax
    cmp %rax, 8(%rsp)
    je 2f
    pop %rax
    pushq $0                                /* error code */
    pushq $1                                /* vector */
    jmp interrupt_common                    /* a kernel bug: reported on the IST stack */
2:  pop %rax
    iretq
1:  pushq $0                                /* error code */
    pushq $1                                /* vector */
    swapgs
    mov %rax, %gs:CPU_LOCAL_USER_RSP        /* scratch until the frame has moved */
    mov %rsp, %rax
    mov %gs:CPU_LOCAL_KERNEL_STACK, %rsp
    pushq 48(%rax)                          /* ss */
    pushq 40(%rax)                          /* rsp */
    pushq 32(%rax)                          /* rflags */
    pushq 24(%rax)                          /* cs */
    pushq 16(%rax)                          /* rip */
    pushq 8(%rax)                           /* error code */
    pushq 0(%rax)                           /* vector */
    mov %gs:CPU_LOCAL_USER_RSP, %rax
    swapgs                                  /* interrupt_common swaps again for user mode */
    jmp interrupt_common

    .type interrupt_common, @function
interrupt_common:
    testb $3, 24(%rsp)                      /* CS of the interrupted context */
    jz 1f
    swapgs
    /* An interrupt gate clears TF, NT and RF but not AC: with SMAP, a user's AC would let
       the kernel touch user memory anywhere. (clac is #UD on CPUs without SMAP.) */
    testb $CPU_LOCAL_FLAG_CLAC, %gs:CPU_LOCAL_FLAGS
    jz 1f
    clac
1:
    SAVE_GENERAL_REGISTERS
    cld
    mov %rsp, %rdi
    call interrupt_dispatch

    .global interrupt_return
    .type interrupt_return, @function
interrupt_return:                           /* rsp: an InterruptFrame */
    RESTORE_GENERAL_REGISTERS
    add $16, %rsp                           /* vector and error code */
    testb $3, 8(%rsp)
    jz 2f
    swapgs
2:  iretq

/* syscall from 64-bit user code (LSTAR). The IPC calls that may take the fast path
   (fastpath.cpp) go to their own dispatcher: one compare for all the others. */
    .global syscall_entry
    .balign 16
    .type syscall_entry, @function
syscall_entry:
    SYSCALL_FRAME SYSCALL_VECTOR
    lea -SYSCALL_FIRST_FAST(%rax), %rcx     /* rcx is saved: free here */
    cmp $(SYSCALL_LAST_FAST - SYSCALL_FIRST_FAST), %rcx
    jbe 1f
    call syscall_dispatch
    jmp interrupt_return
1:  call syscall_dispatch_ipc
    jmp interrupt_return

/*
 * syscall from compatibility mode (CSTAR). No user segment is 32-bit (gdt.cpp), so this is
 * not reached; should it be, the thread gets an invalid-opcode exception at the syscall,
 * as if the instruction did not exist there, instead of ring 0 running at address 0.
 */
    .global syscall_compat_entry
    .balign 16
    .type syscall_compat_entry, @function
syscall_compat_entry:
    sub $2, %rcx                            /* rip: the syscall instruction itself */
    SYSCALL_FRAME INVALID_OPCODE_VECTOR
    call interrupt_dispatch
    jmp interrupt_return

/*
 * void switch_kernel_stack(uint64_t* save_rsp, uint64_t new_rsp): the context switch.
 * Saves the callee-saved registers on the current stack, switches, and restores them
 * from the other one; the caller-saved ones the compiler already preserved.
 */
    .global switch_kernel_stack
    .type switch_kernel_stack, @function
switch_kernel_stack:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

/*
 * void fastpath_leave(uint64_t* self_saved_rsp, InterruptFrame* self_frame,
 *                     InterruptFrame* next_frame): the IPC fast path's exit. The current
 * thread (self, its user frame at the top of this stack) blocked; its next switch_kernel_stack
 * in resumes it as a new thread starts, through thread_first_return (the callee-saved
 * registers popped there are don't-cares, rbp 0 ends backtraces). The C++ frames below
 * self_frame are dead by now and are overwritten. The CPU leaves for user mode through
 * next_frame, on next's kernel stack.
 */
    .global fastpath_leave
    .type fastpath_leave, @function
fastpath_leave:
    leaq thread_first_return(%rip), %rax
    mov %rax, -8(%rsi)                      /* switch_kernel_stack's ret */
    movq $0, -16(%rsi)                      /* its rbp */
    lea -56(%rsi), %rax                     /* below its six callee-saved registers */
    mov %rax, (%rdi)
    mov %rdx, %rsp
    jmp interrupt_return

/* A new thread's first switch lands here, with its InterruptFrame at the stack top. */
    .global thread_first_return
    .type thread_first_return, @function
thread_first_return:
    call scheduler_first_run                /* rsp is 16-byte aligned: the frame is 176 bytes */
    jmp interrupt_return

    .section .note.GNU-stack, "", @progbits
