/* Entry of every user task: align the stack, run main, end the thread with its result. */
    .text
    .global _start
    .type _start, @function
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    call l4_start
    ud2
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits
