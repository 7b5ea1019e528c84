// Where the kernel lives: physical load address, higher-half window, direct map.
// Shared by C++ and the boot assembly, so it holds only #defines of plain numbers.
#pragma once

#define KERNEL_PHYS_BASE 0x200000
#define KERNEL_VIRT_OFFSET 0xffffffff80000000
#define DIRECT_MAP_BASE 0xffff800000000000
#define MMIO_WINDOW_BASE 0xffffffffe0000000
#define BOOT_STACK_SIZE 0x4000
#define KERNEL_STACKS_BASE 0xffffffff40000000 /* 1 GiB of guarded kernel stack slots */
#define KERNEL_STACKS_SIZE 0x40000000
