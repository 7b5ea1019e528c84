// pv-linux-shim/linux_abi.hpp against the host's own Linux headers: every restated number.
#include <catch2/catch.hpp>

#include <cerrno>
#include <dirent.h>
#include <elf.h>
#include <linux/limits.h>
#include <sys/stat.h>

#include "linux_abi.hpp"

namespace la = linux_abi;

TEST_CASE("shim errno values are Linux's", "[shim][abi]")
{
    CHECK(la::kEPERM == EPERM);
    CHECK(la::kENOENT == ENOENT);
    CHECK(la::kEINTR == EINTR);
    CHECK(la::kEIO == EIO);
    CHECK(la::kE2BIG == E2BIG);
    CHECK(la::kENOEXEC == ENOEXEC);
    CHECK(la::kEBADF == EBADF);
    CHECK(la::kENOMEM == ENOMEM);
    CHECK(la::kEFAULT == EFAULT);
    CHECK(la::kEBUSY == EBUSY);
    CHECK(la::kEEXIST == EEXIST);
    CHECK(la::kEXDEV == EXDEV);
    CHECK(la::kENOTDIR == ENOTDIR);
    CHECK(la::kEISDIR == EISDIR);
    CHECK(la::kEINVAL == EINVAL);
    CHECK(la::kEFBIG == EFBIG);
    CHECK(la::kENOSPC == ENOSPC);
    CHECK(la::kEMLINK == EMLINK);
    CHECK(la::kENAMETOOLONG == ENAMETOOLONG);
    CHECK(la::kENOSYS == ENOSYS);
    CHECK(la::kENOTEMPTY == ENOTEMPTY);
    CHECK(la::kELOOP == ELOOP);
}

TEST_CASE("shim file types, d_types and limits are Linux's", "[shim][abi]")
{
    CHECK(la::kS_IFMT == S_IFMT);
    CHECK(la::kS_IFSOCK == S_IFSOCK);
    CHECK(la::kS_IFLNK == S_IFLNK);
    CHECK(la::kS_IFREG == S_IFREG);
    CHECK(la::kS_IFBLK == S_IFBLK);
    CHECK(la::kS_IFDIR == S_IFDIR);
    CHECK(la::kS_IFCHR == S_IFCHR);
    CHECK(la::kS_IFIFO == S_IFIFO);
    CHECK(la::kDT_UNKNOWN == DT_UNKNOWN);
    CHECK(la::kDT_FIFO == DT_FIFO);
    CHECK(la::kDT_CHR == DT_CHR);
    CHECK(la::kDT_DIR == DT_DIR);
    CHECK(la::kDT_BLK == DT_BLK);
    CHECK(la::kDT_REG == DT_REG);
    CHECK(la::kDT_LNK == DT_LNK);
    CHECK(la::kDT_SOCK == DT_SOCK);
    CHECK(la::kPathMax == PATH_MAX);
    CHECK(la::kNameMax == NAME_MAX);
    CHECK(la::kMaxArgStrlen == 32 * 4096); // linux/binfmts.h: PAGE_SIZE * 32
}

TEST_CASE("shim auxv types are Linux's", "[shim][abi]")
{
    CHECK(la::kAT_NULL == AT_NULL);
    CHECK(la::kAT_PHDR == AT_PHDR);
    CHECK(la::kAT_PHENT == AT_PHENT);
    CHECK(la::kAT_PHNUM == AT_PHNUM);
    CHECK(la::kAT_PAGESZ == AT_PAGESZ);
    CHECK(la::kAT_BASE == AT_BASE);
    CHECK(la::kAT_FLAGS == AT_FLAGS);
    CHECK(la::kAT_ENTRY == AT_ENTRY);
    CHECK(la::kAT_UID == AT_UID);
    CHECK(la::kAT_EUID == AT_EUID);
    CHECK(la::kAT_GID == AT_GID);
    CHECK(la::kAT_EGID == AT_EGID);
    CHECK(la::kAT_PLATFORM == AT_PLATFORM);
    CHECK(la::kAT_HWCAP == AT_HWCAP);
    CHECK(la::kAT_CLKTCK == AT_CLKTCK);
    CHECK(la::kAT_SECURE == AT_SECURE);
    CHECK(la::kAT_RANDOM == AT_RANDOM);
    CHECK(la::kAT_HWCAP2 == AT_HWCAP2);
    CHECK(la::kAT_EXECFN == AT_EXECFN);
}
