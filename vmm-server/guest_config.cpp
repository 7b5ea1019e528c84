// Parsing a guest's boot-module command line (guest_config.hpp).
#include "guest_config.hpp"

#include "common/format.hpp"

namespace vmm {

namespace {

struct Word {
    const char* text;
    size_t length;
};

bool is_space(char c) { return c == ' ' || c == '\t'; }

// The next space-separated word at or after `at`; length 0 at the end.
Word next_word(const char*& at)
{
    while (is_space(*at))
        ++at;
    const char* begin = at;
    while (*at != '\0' && !is_space(*at))
        ++at;
    return Word{begin, static_cast<size_t>(at - begin)};
}

bool equals(Word word, const char* text)
{
    size_t i = 0;
    for (; i < word.length; ++i)
        if (text[i] != word.text[i])
            return false;
    return text[i] == '\0';
}

// Names travel into messages and the console prefix: keep them to a plain alphabet.
bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

ConfigResult refuse(Word word, const char* reason)
{
    ConfigResult r;
    fmt::format_to(r.message, sizeof r.message, "word \"{:.48}\": {}", fmt::Str{word.text, word.length}, reason);
    return r;
}

ConfigResult refuse(const char* reason)
{
    ConfigResult r;
    fmt::format_to(r.message, sizeof r.message, "{}", reason);
    return r;
}

// A name=, initrd= or disk= value; the reason it cannot be taken, or null.
const char* take_name(Word value, char (&to)[kMaxNameLength + 1])
{
    if (value.length == 0)
        return "empty name";
    if (value.length > kMaxNameLength)
        return "name too long (at most 31 characters)";
    for (size_t i = 0; i < value.length; ++i)
        if (!is_name_char(value.text[i]))
            return "name may hold only letters, digits, '-', '_' and '.'";
    __builtin_memcpy(to, value.text, value.length);
    to[value.length] = '\0';
    return nullptr;
}

const char* take_console(Word value, ConsoleMode& to)
{
    if (equals(value, "on") || equals(value, "off") || equals(value, "raw")) {
        to = equals(value, "on") ? ConsoleMode::lines : equals(value, "off") ? ConsoleMode::off : ConsoleMode::raw;
        return nullptr;
    }
    return "want on, off or raw";
}

const char* take_restart(Word value, Restart& to)
{
    if (equals(value, "no")) {
        to = Restart::no;
        return nullptr;
    }
    if (equals(value, "on-crash")) {
        to = Restart::on_crash;
        return nullptr;
    }
    return "want no or on-crash";
}

const char* take_memory(Word value, uint64_t& to)
{
    uint64_t bytes = 0;
    if (!parse_size(value.text, value.length, bytes))
        return "bad size (digits, then K, M or G)";
    if (bytes < kMinGuestMemory || bytes > kMaxGuestMemory || bytes % 4096 != 0)
        return "mem out of bounds (1M to 1G, in whole 4K pages)";
    to = bytes;
    return nullptr;
}

const char* take_kernel_memory(Word value, uint64_t& to)
{
    uint64_t bytes = 0;
    if (!parse_size(value.text, value.length, bytes))
        return "bad size (digits, then K, M or G)";
    if (bytes < kMinGuestKernelMemory || bytes > kMaxGuestKernelMemory)
        return "kmem out of bounds (64K to 16M)";
    to = bytes;
    return nullptr;
}

enum Key : unsigned { key_name, key_mem, key_initrd, key_disk, key_console, key_restart, key_kmem, key_count };
constexpr const char* kKeys[key_count] = {"name", "mem", "initrd", "disk", "console", "restart", "kmem"};

} // namespace

bool is_guest_line(const char* line)
{
    const char* at = line;
    return equals(next_word(at), "guest");
}

bool parse_size(const char* text, size_t length, uint64_t& out)
{
    uint64_t value = 0;
    size_t i = 0;
    for (; i < length && text[i] >= '0' && text[i] <= '9'; ++i) {
        const auto digit = static_cast<uint64_t>(text[i] - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    if (i == 0)
        return false;
    unsigned shift = 0;
    if (i + 1 == length) {
        switch (text[i]) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        default: return false;
        }
    } else if (i != length) {
        return false;
    }
    if (value > (UINT64_MAX >> shift))
        return false;
    out = value << shift;
    return true;
}

ConfigResult parse_guest_config(const char* line, GuestConfig& out)
{
    out = GuestConfig{};
    const char* at = line;
    const Word first = next_word(at);
    if (!equals(first, "guest"))
        return first.length == 0 ? refuse("empty line") : refuse(first, "a guest line starts with \"guest\"");
    bool seen[key_count] = {};
    for (Word word = next_word(at); word.length != 0; word = next_word(at)) {
        if (equals(word, "--")) {
            while (is_space(*at))
                ++at;
            size_t n = 0;
            while (at[n] != '\0')
                ++n;
            if (n > kMaxGuestCmdline)
                return refuse(word, "the guest's command line after it is too long (at most 255 bytes)");
            __builtin_memcpy(out.cmdline, at, n);
            out.cmdline[n] = '\0';
            break;
        }
        size_t eq = 0;
        while (eq < word.length && word.text[eq] != '=')
            ++eq;
        if (eq == word.length)
            return refuse(word, "not key=value");
        const Word key{word.text, eq}, value{word.text + eq + 1, word.length - eq - 1};
        unsigned k = 0;
        while (k < key_count && !equals(key, kKeys[k]))
            ++k;
        if (k == key_count)
            return refuse(word, "unknown key (name, mem, initrd, disk, console, restart, kmem)");
        if (seen[k])
            return refuse(word, "duplicate key");
        seen[k] = true;
        const char* why = nullptr;
        switch (k) {
        case key_name: why = take_name(value, out.name); break;
        case key_mem: why = take_memory(value, out.memory_bytes); break;
        case key_initrd: why = take_name(value, out.initrd); break;
        case key_disk: why = take_name(value, out.disk); break;
        case key_console: why = take_console(value, out.console); break;
        case key_kmem: why = take_kernel_memory(value, out.kernel_memory_bytes); break;
        default: why = take_restart(value, out.restart); break;
        }
        if (why != nullptr)
            return refuse(word, why);
    }
    if (!seen[key_name])
        return refuse("missing name=");
    ConfigResult ok;
    ok.ok = true;
    return ok;
}

} // namespace vmm
