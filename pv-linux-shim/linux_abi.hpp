// The Linux x86-64 ABI numbers the shim speaks, restated from Debian's linux-libc-dev uapi
// headers (asm-generic/errno-base.h, asm-generic/errno.h, linux/stat.h, linux/auxvec.h,
// linux/limits.h). Portable code must not include host headers, so they live here once; the
// host test checks each against the host's own headers.
#pragma once

#include <stdint.h>

namespace linux_abi {

// errno values: system calls return them negated.
constexpr int kEPERM = 1;
constexpr int kENOENT = 2;
constexpr int kESRCH = 3;
constexpr int kEINTR = 4;
constexpr int kEIO = 5;
constexpr int kENXIO = 6;
constexpr int kE2BIG = 7;
constexpr int kENOEXEC = 8;
constexpr int kEBADF = 9;
constexpr int kECHILD = 10;
constexpr int kEAGAIN = 11;
constexpr int kENOMEM = 12;
constexpr int kEACCES = 13;
constexpr int kEFAULT = 14;
constexpr int kEBUSY = 16;
constexpr int kEEXIST = 17;
constexpr int kEXDEV = 18;
constexpr int kENODEV = 19;
constexpr int kENOTDIR = 20;
constexpr int kEISDIR = 21;
constexpr int kEINVAL = 22;
constexpr int kENFILE = 23;
constexpr int kEMFILE = 24;
constexpr int kENOTTY = 25;
constexpr int kEFBIG = 27;
constexpr int kENOSPC = 28;
constexpr int kESPIPE = 29;
constexpr int kERANGE = 34;
constexpr int kEMLINK = 31;
constexpr int kEPIPE = 32;
constexpr int kENAMETOOLONG = 36;
constexpr int kENOSYS = 38;
constexpr int kENOTEMPTY = 39;
constexpr int kELOOP = 40;

// st_mode: the file type in the top bits, permissions in the low twelve.
constexpr uint32_t kS_IFMT = 0170000;
constexpr uint32_t kS_IFSOCK = 0140000;
constexpr uint32_t kS_IFLNK = 0120000;
constexpr uint32_t kS_IFREG = 0100000;
constexpr uint32_t kS_IFBLK = 0060000;
constexpr uint32_t kS_IFDIR = 0040000;
constexpr uint32_t kS_IFCHR = 0020000;
constexpr uint32_t kS_IFIFO = 0010000;
constexpr uint32_t kPermissionMask = 07777;

// getdents64 d_type values.
constexpr uint8_t kDT_UNKNOWN = 0;
constexpr uint8_t kDT_FIFO = 1;
constexpr uint8_t kDT_CHR = 2;
constexpr uint8_t kDT_DIR = 4;
constexpr uint8_t kDT_BLK = 6;
constexpr uint8_t kDT_REG = 8;
constexpr uint8_t kDT_LNK = 10;
constexpr uint8_t kDT_SOCK = 12;

// linux/limits.h: PATH_MAX counts the NUL, so a path has at most 4095 bytes.
constexpr uint32_t kPathMax = 4096;
constexpr uint32_t kNameMax = 255;
// fs/namei.c: symlinks followed in one resolution.
constexpr uint32_t kMaxSymlinks = 40;
// linux/binfmts.h: one argv or envp string, with its NUL (32 pages).
constexpr uint64_t kMaxArgStrlen = 32 * 4096;

// Auxiliary vector types (linux/auxvec.h, asm/auxvec.h).
constexpr uint64_t kAT_NULL = 0;
constexpr uint64_t kAT_PHDR = 3;
constexpr uint64_t kAT_PHENT = 4;
constexpr uint64_t kAT_PHNUM = 5;
constexpr uint64_t kAT_PAGESZ = 6;
constexpr uint64_t kAT_BASE = 7;
constexpr uint64_t kAT_FLAGS = 8;
constexpr uint64_t kAT_ENTRY = 9;
constexpr uint64_t kAT_UID = 11;
constexpr uint64_t kAT_EUID = 12;
constexpr uint64_t kAT_GID = 13;
constexpr uint64_t kAT_EGID = 14;
constexpr uint64_t kAT_PLATFORM = 15;
constexpr uint64_t kAT_HWCAP = 16;
constexpr uint64_t kAT_CLKTCK = 17;
constexpr uint64_t kAT_SECURE = 23;
constexpr uint64_t kAT_RANDOM = 25;
constexpr uint64_t kAT_HWCAP2 = 26;
constexpr uint64_t kAT_EXECFN = 31;

// USER_HZ, what AT_CLKTCK reports and times(2) counts in.
constexpr uint64_t kUserHz = 100;

} // namespace linux_abi
