// getdents64's records (struct linux_dirent64) from the ramfs's readdir.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ramfs.hpp"

namespace shim {

// linux_dirent64: d_ino (u64), d_off (s64), d_reclen (u16), d_type (u8), d_name (with NUL),
// each record padded to 8 bytes.
constexpr size_t kDirentNameOffset = 19;

// The bytes one record of a `name_length`-byte name takes.
constexpr size_t dirent_size(size_t name_length) { return (kDirentNameOffset + name_length + 1 + 7) & ~size_t{7}; }

// Packs as many records from `cursor` on as fit into [buffer, buffer + size) and moves the
// cursor past them. Returns the bytes written (0 at the end), -EINVAL if not even the first
// record fits (getdents64(2)), -ENOTDIR.
[[nodiscard]] int64_t pack_dirents(const Ramfs& fs, const Inode* dir, uint64_t& cursor, uint8_t* buffer, size_t size);

} // namespace shim
