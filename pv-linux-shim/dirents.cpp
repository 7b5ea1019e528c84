// getdents64's records from the ramfs.
#include "dirents.hpp"

#include "common/string.hpp"
#include "linux_abi.hpp"

namespace shim {

int64_t pack_dirents(const Ramfs& fs, const Inode* dir, uint64_t& cursor, uint8_t* buffer, size_t size)
{
    size_t used = 0;
    DirRecord record{};
    for (;;) {
        const int result = fs.readdir(dir, cursor, record);
        if (result < 0)
            return result;
        if (result == 0)
            break;
        const size_t length = dirent_size(record.name_length);
        if (length > size - used) {
            if (used == 0)
                return -linux_abi::kEINVAL;
            break; // the next call starts with this one
        }
        uint8_t* at = buffer + used;
        const uint64_t offset = record.next_cursor;
        const auto reclen = static_cast<uint16_t>(length);
        memcpy(at, &record.ino, 8);
        memcpy(at + 8, &offset, 8);
        memcpy(at + 16, &reclen, 2);
        at[18] = record.type;
        memcpy(at + kDirentNameOffset, record.name, record.name_length);
        memset(at + kDirentNameOffset + record.name_length, 0, length - kDirentNameOffset - record.name_length);
        used += length;
        cursor = record.next_cursor;
    }
    return static_cast<int64_t>(used);
}

} // namespace shim
