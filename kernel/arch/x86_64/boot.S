/*
 * Multiboot2 entry. GRUB jumps here in 32-bit protected mode with paging off,
 * EAX = magic and EBX = physical address of the boot information. We build boot page
 * tables (identity 0-4 GiB, the same at the direct map, and the first GiB at the
 * higher-half kernel window), enter long mode and continue in kernel_main. The C++
 * side replaces these tables with W^X ones as soon as it has a frame allocator.
 */
#include "arch/x86_64/layout.hpp"

#define MB2_HEADER_MAGIC 0xe85250d6
#define PTE_PRESENT_WRITE 0x3
#define PDE_LARGE 0x83

    .section .multiboot, "a"
    .balign 8
mb2_header:
    .long MB2_HEADER_MAGIC
    .long 0                                 /* architecture: i386 protected mode */
    .long mb2_header_end - mb2_header
    .long 0x100000000 - (MB2_HEADER_MAGIC + (mb2_header_end - mb2_header))
    .balign 8
    .short 0, 0                             /* end tag */
    .long 8
mb2_header_end:

    .section .boot.text, "ax"
    .code32
    .global _start
_start:
    cli
    cld
    mov %eax, boot_magic
    mov %ebx, boot_info

    /* Long mode is required; NX is used when present. */
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb no_long_mode
    mov $0x80000001, %eax
    cpuid
    test $(1 << 29), %edx
    jz no_long_mode
    mov %edx, %ebp

    /* Four page directories of 2 MiB pages: physical 0-4 GiB. */
    mov $boot_pd, %edi
    mov $PDE_LARGE, %eax
    mov $2048, %ecx
1:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 1b

    /* pdpt_low[0..3] -> the four directories; pdpt_high[510] -> the first one. */
    mov $boot_pdpt_low, %edi
    mov $(boot_pd + PTE_PRESENT_WRITE), %eax
    mov $4, %ecx
2:  mov %eax, (%edi)
    add $4096, %eax
    add $8, %edi
    loop 2b
    movl $(boot_pd + PTE_PRESENT_WRITE), boot_pdpt_high + 510 * 8

    /* pml4[0] identity, pml4[256] direct map, pml4[511] kernel window. */
    movl $(boot_pdpt_low + PTE_PRESENT_WRITE), boot_pml4
    movl $(boot_pdpt_low + PTE_PRESENT_WRITE), boot_pml4 + 256 * 8
    movl $(boot_pdpt_high + PTE_PRESENT_WRITE), boot_pml4 + 511 * 8

    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $(1 << 5), %eax                      /* PAE */
    mov %eax, %cr4

    mov $0xc0000080, %ecx                   /* EFER */
    rdmsr
    or $(1 << 8), %eax                      /* LME */
    test $(1 << 20), %ebp
    jz 3f
    or $(1 << 11), %eax                     /* NXE */
3:  wrmsr

    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | 1), %eax   /* PG, WP, PE */
    mov %eax, %cr0

    lgdt boot_gdtr
    ljmp $0x08, $long_mode

no_long_mode:
    mov $no_long_mode_message, %esi
4:  lodsb
    test %al, %al
    jz 5f
    mov $0x3f8, %dx
    out %al, %dx
    jmp 4b
5:  hlt
    jmp 5b

    .code64
long_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    movabs $higher_half, %rax
    jmp *%rax

    .section .boot.data, "aw"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff                /* 64-bit code */
    .quad 0x00cf92000000ffff                /* data */
boot_gdtr:
    .short boot_gdtr - boot_gdt - 1
    .long boot_gdt
    .global boot_magic, boot_info
boot_magic:
    .long 0
boot_info:
    .long 0
no_long_mode_message:
    .asciz "kestrel: this CPU has no 64-bit long mode; cannot boot\r\n"

    .section .boot.bss, "aw", @nobits
    .balign 4096
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4 * 4096

    .text
    .type higher_half, @function
higher_half:
    movabs $boot_stack_top, %rsp
    xor %ebp, %ebp                          /* ends the backtrace */
    mov boot_magic, %edi
    mov boot_info, %esi
    call kernel_main
6:  cli
    hlt
    jmp 6b
    .size higher_half, . - higher_half

    /* The boot stack, with a guard page below it that the kernel leaves unmapped. */
    .bss
    .balign 4096
    .global boot_stack_guard, boot_stack_bottom, boot_stack_top
boot_stack_guard:
    .skip 4096
boot_stack_bottom:
    .skip BOOT_STACK_SIZE
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
