// A reader of cpio "newc" archives (magic 070701, and 070702 with its data checksum), the
// format of Linux initramfs images.
//
//   l4::cpio::Reader reader(archive, size);
//   l4::cpio::Entry entry;
//   while (reader.next(entry)) { ... entry.name, entry.data, entry.size ... }
//   if (reader.error() != l4::cpio::Error::none) { ... describe(reader.error()) ... }
//
// Nothing in the archive is trusted: every header field is checked before use and nothing is
// read outside [archive, archive + size). The entries point into the archive (no copies), and
// every name is NUL-terminated inside it. Reading stops at the "TRAILER!!!" entry (which is not
// returned); whatever follows it (padding, further archives) is not looked at.
//
// Portable: the host unit tests build this too.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace l4::cpio {

enum class Error : uint8_t {
    none,
    truncated_header,  // fewer than 110 bytes where a header should be
    bad_magic,         // not "070701" or "070702"
    bad_number,        // a header field is not eight hex digits
    empty_name,        // namesize 0 (there must be room for the NUL at least)
    name_past_end,     // the name runs past the end of the archive
    name_unterminated, // the name's last byte is not NUL, or an earlier byte is
    data_past_end,     // the file data runs past the end of the archive
    bad_checksum,      // 070702: the data bytes do not sum to the header's check field
    missing_trailer,   // the archive ends without a TRAILER!!! entry
    not_found,         // find: no entry has that path
};

// A short phrase, e.g. "entry name is not NUL-terminated".
const char* describe(Error error);

// File types in Entry::mode (the st_mode bits).
constexpr uint32_t kTypeMask = 0170000;
constexpr uint32_t kTypeRegular = 0100000;
constexpr uint32_t kTypeDirectory = 0040000;
constexpr uint32_t kTypeSymlink = 0120000;
constexpr uint32_t kTypeCharDevice = 0020000;
constexpr uint32_t kTypeBlockDevice = 0060000;
constexpr uint32_t kTypeFifo = 0010000;
constexpr uint32_t kTypeSocket = 0140000;

constexpr size_t kHeaderSize = 110;

struct Entry {
    const char* name;    // as stored ("./bin/sh", "bin/sh", ...), NUL-terminated
    size_t name_length;  // without the NUL
    const uint8_t* data; // size bytes (a symlink's data is its target, not NUL-terminated)
    size_t size;
    uint32_t mode; // type and permission bits
    uint32_t inode, uid, gid, nlink, mtime;
    uint32_t dev_major, dev_minor, rdev_major, rdev_minor;
    size_t offset; // of the entry's header in the archive

    uint32_t type() const { return mode & kTypeMask; }
    bool is_regular() const { return type() == kTypeRegular; }
    bool is_directory() const { return type() == kTypeDirectory; }
    bool is_symlink() const { return type() == kTypeSymlink; }
    uint32_t permissions() const { return mode & 07777; }
};

class Reader {
public:
    Reader(const void* archive, size_t size);

    // The next entry; false at the end of the archive or on an error (then error() says
    // which, and offset() where). After false it stays false.
    bool next(Entry& entry);

    Error error() const { return error_; }
    size_t offset() const { return offset_; } // of the next header, or of the bad one

private:
    bool fail(Error error);

    const uint8_t* archive_;
    size_t size_;
    size_t offset_ = 0;
    Error error_ = Error::none;
    bool done_ = false;
};

// The entry named `path`. Leading "/" and "./" are ignored on both sides, so "bin/sh",
// "/bin/sh" and "./bin/sh" all match an entry stored as any of them. A broken archive gives
// its error, unless the entry comes before the damage.
[[nodiscard]] Error find(const void* archive, size_t size, const char* path, Entry& entry);

// Checks the whole archive; on success `count` (if given) is the number of entries.
[[nodiscard]] Error validate(const void* archive, size_t size, size_t* count = nullptr);

} // namespace l4::cpio
