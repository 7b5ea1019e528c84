// The kernel command line, parsed in one place.
#include "boot/cmdline.hpp"

namespace cmdline {

namespace {

// A piece of the line; words are not NUL-terminated where they end.
struct Text {
    const char* data;
    size_t length;

    bool equals(const char* literal) const
    {
        size_t i = 0;
        for (; i < length; ++i) {
            if (literal[i] == '\0' || literal[i] != data[i]) {
                return false;
            }
        }
        return literal[i] == '\0';
    }
};

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Decimal digits only, no sign, no base prefix; false on overflow past `limit`.
bool parse_number(Text text, uint32_t limit, uint32_t& value)
{
    if (text.length == 0) {
        return false;
    }
    uint32_t result = 0;
    for (size_t i = 0; i < text.length; ++i) {
        char c = text.data[i];
        if (c < '0' || c > '9') {
            return false;
        }
        uint32_t digit = static_cast<uint32_t>(c - '0');
        if (result > (limit - digit) / 10) {
            return false;
        }
        result = result * 10 + digit;
    }
    value = result;
    return true;
}

template <typename T>
struct Named {
    const char* name;
    T value;
};

// Sets `value` to the entry whose name is `text`; false when none matches.
template <typename T, size_t N>
bool parse_named(Text text, const Named<T> (&names)[N], T& value)
{
    for (const Named<T>& entry : names) {
        if (text.equals(entry.name)) {
            value = entry.value;
            return true;
        }
    }
    return false;
}

bool parse_log_level(Text value, LogLevel& level)
{
    static constexpr Named<LogLevel> kNames[] = {
        {"error", LogLevel::error}, {"warn", LogLevel::warn}, {"info", LogLevel::info}, {"debug", LogLevel::debug},
        {"0", LogLevel::error},     {"1", LogLevel::warn},    {"2", LogLevel::info},    {"3", LogLevel::debug},
    };
    return parse_named(value, kNames, level);
}

bool parse_test_hook(Text value, TestHook& hook)
{
    static constexpr Named<TestHook> kNames[] = {
        {"none", TestHook::none},
        {"pagefault", TestHook::page_fault},
        {"stackoverflow", TestHook::stack_overflow},
        {"kstackoverflow", TestHook::kernel_stack_overflow},
        {"ticks", TestHook::ticks},
        {"ud", TestHook::ud},
        {"writerodata", TestHook::write_rodata},
        {"execdata", TestHook::exec_data},
        {"panic", TestHook::panic},
    };
    return parse_named(value, kNames, hook);
}

bool parse_exit_mode(Text value, ExitMode& mode)
{
    static constexpr Named<ExitMode> kNames[] = {
        {"halt", ExitMode::halt}, {"qemu", ExitMode::qemu}, {"qemu-waiting", ExitMode::qemu_waiting}};
    return parse_named(value, kNames, mode);
}

bool parse_on_off(Text value, bool& on)
{
    static constexpr Named<bool> kNames[] = {{"on", true}, {"off", false}};
    return parse_named(value, kNames, on);
}

bool parse_timer_hz(Text value, uint32_t& hz)
{
    uint32_t parsed = 0;
    if (!parse_number(value, kMaxTimerHz, parsed) || parsed < kMinTimerHz) {
        return false;
    }
    hz = parsed;
    return true;
}

enum class Outcome : uint8_t { ok, unknown, bad_value };

Outcome apply(Text word, Options& options)
{
    size_t eq = 0;
    while (eq < word.length && word.data[eq] != '=') {
        ++eq;
    }
    Text key{word.data, eq};
    bool has_value = eq < word.length;
    Text value = has_value ? Text{word.data + eq + 1, word.length - eq - 1} : Text{word.data + word.length, 0};

    bool ok = false;
    if (key.equals("loglevel")) {
        ok = has_value && parse_log_level(value, options.log_level);
    } else if (key.equals("test")) {
        ok = has_value && parse_test_hook(value, options.test);
    } else if (key.equals("exit")) {
        ok = has_value && parse_exit_mode(value, options.exit);
    } else if (key.equals("hz")) {
        ok = has_value && parse_timer_hz(value, options.timer_hz);
    } else if (key.equals("pcid")) {
        ok = has_value && parse_on_off(value, options.pcid);
    } else {
        return Outcome::unknown; // no bare flags are defined yet
    }
    return ok ? Outcome::ok : Outcome::bad_value;
}

} // namespace

Options parse(const char* line)
{
    Options options;
    if (line == nullptr) {
        return options;
    }
    size_t i = 0;
    while (line[i] != '\0') {
        if (is_space(line[i])) {
            ++i;
            continue;
        }
        size_t start = i;
        while (line[i] != '\0' && !is_space(line[i])) {
            ++i;
        }
        Text word{line + start, i - start};
        switch (apply(word, options)) {
        case Outcome::ok: break;
        case Outcome::unknown:
            if (options.unknown_count++ == 0) {
                options.first_unknown = word.data;
                options.first_unknown_len = word.length;
            }
            break;
        case Outcome::bad_value:
            if (options.bad_value_count++ == 0) {
                options.first_bad = word.data;
                options.first_bad_len = word.length;
            }
            break;
        }
    }
    return options;
}

} // namespace cmdline
