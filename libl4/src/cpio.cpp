// A reader of cpio "newc" archives (l4/cpio.hpp).
#include "l4/cpio.hpp"

namespace l4::cpio {

namespace {

// The header: a six-byte magic, then thirteen fields of eight hex digits.
constexpr size_t kMagicSize = 6;
constexpr size_t kFieldCount = 13;
enum Field : size_t {
    inode,
    mode,
    uid,
    gid,
    nlink,
    mtime,
    filesize,
    dev_major,
    dev_minor,
    rdev_major,
    rdev_minor,
    namesize,
    check
};
static_assert(kMagicSize + kFieldCount * 8 == kHeaderSize);

constexpr char kTrailer[] = "TRAILER!!!";

size_t align4(size_t offset) { return (offset + 3) & ~size_t{3}; }

bool parse_hex(const uint8_t* text, uint32_t& value)
{
    value = 0;
    for (size_t i = 0; i < 8; ++i) {
        const uint8_t c = text[i];
        uint32_t digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10u;
        else if (c >= 'A' && c <= 'F')
            digit = c - 'A' + 10u;
        else
            return false;
        value = value << 4 | digit;
    }
    return true;
}

bool equal(const char* a, size_t length, const char* b)
{
    for (size_t i = 0; i < length; ++i)
        if (a[i] != b[i])
            return false;
    return b[length] == '\0';
}

// The path without leading "/" and "./" ("." alone is the root, as "" is).
const char* strip(const char* path)
{
    for (;;) {
        if (path[0] == '/')
            ++path;
        else if (path[0] == '.' && path[1] == '/')
            path += 2;
        else if (path[0] == '.' && path[1] == '\0')
            ++path;
        else
            return path;
    }
}

bool same_path(const char* a, const char* b)
{
    a = strip(a);
    b = strip(b);
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

} // namespace

const char* describe(Error error)
{
    switch (error) {
    case Error::none: return "no error";
    case Error::truncated_header: return "archive ends inside an entry header";
    case Error::bad_magic: return "entry header has no newc magic (070701)";
    case Error::bad_number: return "entry header field is not hexadecimal";
    case Error::empty_name: return "entry name size is zero";
    case Error::name_past_end: return "entry name runs past the end of the archive";
    case Error::name_unterminated: return "entry name is not NUL-terminated";
    case Error::data_past_end: return "entry data runs past the end of the archive";
    case Error::bad_checksum: return "entry data does not match its checksum";
    case Error::missing_trailer: return "archive ends without a trailer entry";
    case Error::not_found: return "no such entry";
    }
    return "unknown cpio error";
}

Reader::Reader(const void* archive, size_t size)
    : archive_(static_cast<const uint8_t*>(archive)), size_(archive != nullptr ? size : 0)
{
}

bool Reader::fail(Error error)
{
    error_ = error;
    return false;
}

bool Reader::next(Entry& entry)
{
    if (done_ || error_ != Error::none)
        return false;
    const size_t remaining = size_ - offset_;
    if (remaining == 0)
        return fail(Error::missing_trailer);
    if (remaining < kHeaderSize)
        return fail(Error::truncated_header);

    const uint8_t* header = archive_ + offset_;
    static constexpr char kMagic[] = "07070";
    for (size_t i = 0; i < 5; ++i)
        if (header[i] != kMagic[i])
            return fail(Error::bad_magic);
    if (header[5] != '1' && header[5] != '2')
        return fail(Error::bad_magic);
    const bool has_checksum = header[5] == '2';

    uint32_t field[kFieldCount];
    for (size_t i = 0; i < kFieldCount; ++i)
        if (!parse_hex(header + kMagicSize + 8 * i, field[i]))
            return fail(Error::bad_number);

    // Sizes are 32-bit and offset_ <= size_, so none of these sums can wrap.
    const size_t name_size = field[namesize];
    const size_t name_offset = offset_ + kHeaderSize;
    if (name_size == 0)
        return fail(Error::empty_name);
    if (name_size > size_ - name_offset)
        return fail(Error::name_past_end);
    const auto* name = reinterpret_cast<const char*>(archive_ + name_offset);
    size_t name_length = 0;
    while (name[name_length] != '\0' && name_length < name_size - 1)
        ++name_length;
    if (name_length != name_size - 1 || name[name_length] != '\0')
        return fail(Error::name_unterminated);

    const size_t data_size = field[filesize];
    size_t data_offset = align4(name_offset + name_size);
    if (data_offset > size_) {
        if (data_size != 0)
            return fail(Error::data_past_end);
        data_offset = size_; // only the padding is missing
    }
    if (data_size > size_ - data_offset)
        return fail(Error::data_past_end);

    if (equal(name, name_length, kTrailer)) {
        done_ = true;
        return false;
    }

    const uint8_t* data = archive_ + data_offset;
    if (has_checksum) {
        uint32_t sum = 0;
        for (size_t i = 0; i < data_size; ++i)
            sum += data[i];
        if (sum != field[check])
            return fail(Error::bad_checksum);
    }

    entry = Entry{
        .name = name,
        .name_length = name_length,
        .data = data,
        .size = data_size,
        .mode = field[mode],
        .inode = field[inode],
        .uid = field[uid],
        .gid = field[gid],
        .nlink = field[nlink],
        .mtime = field[mtime],
        .dev_major = field[dev_major],
        .dev_minor = field[dev_minor],
        .rdev_major = field[rdev_major],
        .rdev_minor = field[rdev_minor],
        .offset = offset_,
    };
    const size_t next = align4(data_offset + data_size);
    offset_ = next < size_ ? next : size_;
    return true;
}

Error find(const void* archive, size_t size, const char* path, Entry& entry)
{
    Reader reader(archive, size);
    Entry candidate{};
    while (reader.next(candidate)) {
        if (same_path(candidate.name, path)) {
            entry = candidate;
            return Error::none;
        }
    }
    return reader.error() != Error::none ? reader.error() : Error::not_found;
}

Error validate(const void* archive, size_t size, size_t* count)
{
    Reader reader(archive, size);
    Entry entry{};
    size_t n = 0;
    while (reader.next(entry))
        ++n;
    if (reader.error() == Error::none && count != nullptr)
        *count = n;
    return reader.error();
}

} // namespace l4::cpio
