// Numbers the entry assembly needs; cpu_local.hpp checks them against the C++ layout.
#pragma once

#define CPU_LOCAL_SELF 0
#define CPU_LOCAL_KERNEL_STACK 8
#define CPU_LOCAL_USER_RSP 16
#define CPU_LOCAL_FLAGS 44
#define CPU_LOCAL_FLAG_CLAC 1 /* the CPU has SMAP: entry from user mode clears AC */
#define USER_DATA_SELECTOR 0x23
#define USER_CODE_SELECTOR 0x2b
#define SYSCALL_VECTOR 0x100
#define SYSCALL_FIRST_FAST 3 /* ipc_call .. ipc_reply_wait: syscall_dispatch_ipc */
#define SYSCALL_LAST_FAST 6
#define INVALID_OPCODE_VECTOR 6
