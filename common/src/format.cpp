// Type-safe formatting (see common/format.hpp for the placeholder syntax).
#include "common/format.hpp"

namespace fmt {

size_t detail::c_string_length(const char* text)
{
    if (text == nullptr)
        return 6;
    size_t length = 0;
    while (text[length] != '\0')
        ++length;
    return length;
}

namespace {

constexpr size_t kNoPrecision = ~size_t{0};

struct Spec {
    char fill = ' ';
    char align = 0; // 0: the kind's default
    bool plus = false;
    bool alternate = false;
    bool zero = false;
    size_t width = 0;
    size_t precision = kNoPrecision;
    char type = 0; // 0: the kind's default
};

class Writer {
public:
    explicit Writer(const Sink& sink) : sink_(sink) {}

    void put(const char* text, size_t length)
    {
        if (length == 0)
            return;
        sink_.write(sink_.context, text, length);
        total_ += length;
    }
    void put(char c) { put(&c, 1); }

    void repeat(char c, size_t count)
    {
        char chunk[32];
        for (char& slot : chunk)
            slot = c;
        while (count > 0) {
            size_t n = count < sizeof chunk ? count : sizeof chunk;
            put(chunk, n);
            count -= n;
        }
    }

    size_t total() const { return total_; }

private:
    const Sink& sink_;
    size_t total_ = 0;
};

bool is_align(char c) { return c == '<' || c == '>' || c == '^'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Parses the spec after ':'; on success `p` is past the closing brace.
bool parse_spec(const char*& p, Spec& spec)
{
    if (p[0] != '\0' && p[0] != '{' && p[0] != '}' && is_align(p[1])) {
        spec.fill = p[0];
        spec.align = p[1];
        p += 2;
    } else if (is_align(p[0])) {
        spec.align = *p++;
    }
    if (*p == '+') {
        spec.plus = true;
        ++p;
    }
    if (*p == '#') {
        spec.alternate = true;
        ++p;
    }
    if (*p == '0') {
        spec.zero = true;
        ++p;
    }
    while (is_digit(*p)) {
        spec.width = spec.width * 10 + static_cast<size_t>(*p++ - '0');
        if (spec.width > kMaxWidth)
            return false;
    }
    if (*p == '.') {
        ++p;
        if (!is_digit(*p))
            return false;
        spec.precision = 0;
        while (is_digit(*p)) {
            spec.precision = spec.precision * 10 + static_cast<size_t>(*p++ - '0');
            if (spec.precision > kMaxWidth)
                spec.precision = kMaxWidth; // a cap on text length, not a width
        }
    }
    if (*p != '\0' && *p != '}') {
        const char type = *p++;
        const char* known = "dxXbocsp";
        while (*known != '\0' && *known != type)
            ++known;
        if (*known == '\0')
            return false;
        spec.type = type;
    }
    if (*p != '}')
        return false;
    ++p;
    return true;
}

// `body` of `length` characters padded to the width; `default_align` for numbers is '>'.
void pad_and_put(Writer& out, const Spec& spec, char default_align, const char* prefix, size_t prefix_length,
                 const char* body, size_t length)
{
    const size_t content = prefix_length + length;
    const size_t padding = spec.width > content ? spec.width - content : 0;
    if (spec.zero && spec.align == 0 && default_align == '>') {
        out.put(prefix, prefix_length);
        out.repeat('0', padding);
        out.put(body, length);
        return;
    }
    const char align = spec.align != 0 ? spec.align : default_align;
    const size_t before = align == '>' ? padding : align == '^' ? padding / 2 : 0;
    out.repeat(spec.fill, before);
    out.put(prefix, prefix_length);
    out.put(body, length);
    out.repeat(spec.fill, padding - before);
}

void put_integer(Writer& out, const Spec& spec, uint64_t magnitude, bool negative, char type)
{
    unsigned base = 10;
    const char* digits = "0123456789abcdef";
    const char* alternate = "";
    switch (type) {
    case 'x':
        base = 16;
        alternate = "0x";
        break;
    case 'X':
        base = 16;
        alternate = "0X";
        digits = "0123456789ABCDEF";
        break;
    case 'b':
        base = 2;
        alternate = "0b";
        break;
    case 'o':
        base = 8;
        alternate = magnitude != 0 ? "0" : "";
        break;
    case 'p':
        base = 16;
        alternate = "0x";
        break;
    default: break;
    }

    char prefix[3];
    size_t prefix_length = 0;
    if (negative)
        prefix[prefix_length++] = '-';
    else if (spec.plus)
        prefix[prefix_length++] = '+';
    if (spec.alternate || type == 'p')
        for (const char* a = alternate; *a != '\0'; ++a)
            prefix[prefix_length++] = *a;

    char text[64];
    size_t start = sizeof text;
    do {
        text[--start] = digits[magnitude % base];
        magnitude /= base;
    } while (magnitude != 0);
    pad_and_put(out, spec, '>', prefix, prefix_length, text + start, sizeof text - start);
}

void put_text(Writer& out, const Spec& spec, const char* text, size_t length)
{
    if (text == nullptr) {
        text = "(null)";
        length = 6;
    }
    if (length > spec.precision)
        length = spec.precision;
    pad_and_put(out, spec, '<', nullptr, 0, text, length);
}

void put_arg(Writer& out, const Spec& spec, const Arg& arg)
{
    using Kind = Arg::Kind;
    const uint64_t value = arg.value();
    const char type = spec.type;
    switch (arg.kind()) {
    case Kind::sint: {
        if (type == 'c') {
            const char c = static_cast<char>(value);
            return put_text(out, spec, &c, 1);
        }
        const bool negative = static_cast<int64_t>(value) < 0;
        return put_integer(out, spec, negative ? 0 - value : value, negative, type);
    }
    case Kind::uint:
        if (type == 'c') {
            const char c = static_cast<char>(value);
            return put_text(out, spec, &c, 1);
        }
        return put_integer(out, spec, value, false, type);
    case Kind::boolean:
        if (type == 0 || type == 's' || type == 'c')
            return put_text(out, spec, value != 0 ? "true" : "false", value != 0 ? 4 : 5);
        return put_integer(out, spec, value, false, type);
    case Kind::character:
        if (type == 0 || type == 's' || type == 'c') {
            const char c = static_cast<char>(value);
            return put_text(out, spec, &c, 1);
        }
        return put_integer(out, spec, value, false, type);
    case Kind::text: return put_text(out, spec, arg.text(), static_cast<size_t>(value));
    case Kind::pointer:
        return put_integer(out, spec, value, false, type == 0 || type == 's' || type == 'c' ? 'p' : type);
    case Kind::none: break;
    }
    out.put("{?}", 3);
}

struct Buffer {
    char* buf;
    size_t capacity; // characters, without the NUL
    size_t used;
};

void write_to_buffer(void* context, const char* text, size_t length)
{
    auto* b = static_cast<Buffer*>(context);
    const size_t room = b->capacity - b->used;
    const size_t n = length < room ? length : room;
    for (size_t i = 0; i < n; ++i)
        b->buf[b->used + i] = text[i];
    b->used += n;
}

} // namespace

size_t vformat(const Sink& sink, const char* format, const Arg* args, size_t count)
{
    Writer out(sink);
    const char* p = format != nullptr ? format : "";
    size_t index = 0;
    while (*p != '\0') {
        const char* run = p;
        while (*p != '\0' && *p != '{' && *p != '}')
            ++p;
        out.put(run, static_cast<size_t>(p - run));
        if (*p == '\0')
            break;
        if (*p == '}') {
            out.put('}');
            p += p[1] == '}' ? 2 : 1; // a lone '}' prints as itself
            continue;
        }
        if (p[1] == '{') {
            out.put('{');
            p += 2;
            continue;
        }
        ++p;
        Spec spec;
        bool ok = false;
        if (*p == '}') {
            ok = true;
            ++p;
        } else if (*p == ':') {
            ++p;
            ok = parse_spec(p, spec);
        }
        if (!ok) {
            while (*p != '\0' && *p != '}')
                ++p;
            if (*p == '}')
                ++p;
            out.put("{!}", 3);
        } else if (index >= count) {
            out.put("{?}", 3);
        } else {
            put_arg(out, spec, args[index]);
        }
        ++index; // a malformed placeholder uses up its argument too
    }
    return out.total();
}

size_t vformat_to(char* buf, size_t size, const char* format, const Arg* args, size_t count)
{
    Buffer b{buf, size > 0 ? size - 1 : 0, 0};
    const size_t total = vformat(Sink{write_to_buffer, &b}, format, args, count);
    if (size > 0)
        buf[b.used] = '\0';
    return total;
}

} // namespace fmt
