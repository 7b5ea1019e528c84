// Type-safe formatted printing: the engine behind fmt::format.
#include "lib/format.hpp"

namespace fmt {
namespace {

struct Spec {
    char fill = ' ';
    char align = '>';       // '<' left, '>' right
    bool alternate = false; // 0x / 0b / 0 prefix
    bool zero_pad = false;  // pad between prefix and digits
    uint32_t width = 0;
    char type = 0;          // 0: natural for the argument
};

constexpr uint32_t kMaxWidth = 128;

bool is_type(char c)
{
    return c == 'd' || c == 'x' || c == 'X' || c == 'b' || c == 'o' || c == 'c' || c == 's' ||
           c == 'p';
}

// Parses the text between ':' and '}'; false when it does not follow the grammar.
bool parse_spec(const char* p, const char* end, Spec& spec)
{
    if (end - p >= 2 && (p[1] == '<' || p[1] == '>')) {
        spec.fill = p[0];
        spec.align = p[1];
        p += 2;
    } else if (p < end && (*p == '<' || *p == '>')) {
        spec.align = *p++;
    }
    if (p < end && *p == '#') {
        spec.alternate = true;
        ++p;
    }
    if (p < end && *p == '0') {
        spec.zero_pad = true;
        ++p;
    }
    while (p < end && *p >= '0' && *p <= '9') {
        spec.width = spec.width * 10 + static_cast<uint32_t>(*p++ - '0');
        if (spec.width > kMaxWidth)
            return false;
    }
    if (p < end && is_type(*p))
        spec.type = *p++;
    return p == end;
}

class Writer {
public:
    explicit Writer(const Sink& sink) : sink_(sink) {}

    void put(const char* text, size_t length) { sink_.write(sink_.context, text, length); }

    void repeat(char c, size_t count)
    {
        for (size_t i = 0; i < count; ++i)
            put(&c, 1);
    }

    // Writes prefix + body padded to the spec's width.
    void padded(const Spec& spec, const char* prefix, size_t prefix_len, const char* body,
                size_t body_len)
    {
        size_t len = prefix_len + body_len;
        size_t pad = spec.width > len ? spec.width - len : 0;
        if (spec.zero_pad) {
            put(prefix, prefix_len);
            repeat('0', pad);
            put(body, body_len);
            return;
        }
        if (spec.align == '>')
            repeat(spec.fill, pad);
        put(prefix, prefix_len);
        put(body, body_len);
        if (spec.align == '<')
            repeat(spec.fill, pad);
    }

    void integer(const Spec& spec, uint64_t magnitude, bool negative)
    {
        unsigned base = 10;
        const char* digits = "0123456789abcdef";
        const char* prefix = "";
        switch (spec.type) {
        case 'x': base = 16; prefix = "0x"; break;
        case 'X': base = 16; prefix = "0X"; digits = "0123456789ABCDEF"; break;
        case 'b': base = 2; prefix = "0b"; break;
        case 'o': base = 8; prefix = "0"; break;
        default: break;
        }
        char body[64];
        size_t pos = sizeof body;
        do {
            body[--pos] = digits[magnitude % base];
            magnitude /= base;
        } while (magnitude != 0);

        char head[3];
        size_t head_len = 0;
        if (negative)
            head[head_len++] = '-';
        if (spec.alternate && base != 10)
            for (const char* q = prefix; *q != '\0'; ++q)
                head[head_len++] = *q;
        padded(spec, head, head_len, body + pos, sizeof body - pos);
    }

    void argument(Spec spec, const Arg& arg)
    {
        switch (arg.kind()) {
        case Arg::Kind::none:
            put("{?}", 3);
            return;
        case Arg::Kind::sint: {
            auto value = static_cast<int64_t>(arg.value());
            if (spec.type == 'c')
                return character(spec, static_cast<char>(value));
            // Negate in unsigned arithmetic: -INT64_MIN does not exist.
            bool negative = value < 0 && (spec.type == 0 || spec.type == 'd');
            uint64_t magnitude = negative ? 0 - arg.value() : arg.value();
            return integer(spec, magnitude, negative);
        }
        case Arg::Kind::uint:
            if (spec.type == 'c')
                return character(spec, static_cast<char>(arg.value()));
            return integer(spec, arg.value(), false);
        case Arg::Kind::boolean:
            if (spec.type == 0 || spec.type == 's')
                return text(spec, arg.value() ? "true" : "false", arg.value() ? 4 : 5);
            return integer(spec, arg.value(), false);
        case Arg::Kind::character:
            if (spec.type == 0 || spec.type == 'c' || spec.type == 's')
                return character(spec, static_cast<char>(arg.value()));
            return integer(spec, arg.value(), false);
        case Arg::Kind::cstring: {
            const char* s = arg.text() != nullptr ? arg.text() : "(null)";
            size_t len = 0;
            while (s[len] != '\0')
                ++len;
            return text(spec, s, len);
        }
        case Arg::Kind::str:
            return text(spec, arg.text() != nullptr ? arg.text() : "", arg.length());
        case Arg::Kind::pointer:
            if (spec.type == 0 || spec.type == 'p') {
                spec.type = 'x';
                spec.alternate = true;
                if (spec.width == 0) {
                    spec.width = 18;
                    spec.zero_pad = true;
                }
            }
            return integer(spec, arg.value(), false);
        }
    }

private:
    void character(const Spec& spec, char c) { padded(spec, "", 0, &c, 1); }
    void text(const Spec& spec, const char* s, size_t len) { padded(spec, "", 0, s, len); }

    const Sink& sink_;
};

} // namespace

void vformat(const Sink& sink, const char* format, const Arg* args, size_t count)
{
    Writer out(sink);
    size_t next = 0;
    const char* p = format != nullptr ? format : "(null)";
    while (*p != '\0') {
        const char* run = p;
        while (*p != '\0' && *p != '{' && *p != '}')
            ++p;
        out.put(run, static_cast<size_t>(p - run));
        if (*p == '\0')
            break;
        if (p[0] == p[1]) { // "{{" or "}}"
            out.put(p, 1);
            p += 2;
            continue;
        }
        if (*p == '}') { // a lone '}' prints as itself
            out.put(p++, 1);
            continue;
        }
        const char* close = p + 1;
        while (*close != '\0' && *close != '}')
            ++close;
        if (*close == '\0') { // unterminated: print the rest literally
            out.put(p, static_cast<size_t>(close - p));
            break;
        }
        Spec spec;
        bool ok = close == p + 1 || (p[1] == ':' && parse_spec(p + 2, close, spec));
        if (!ok)
            out.put("{!}", 3);
        else if (next < count)
            out.argument(spec, args[next]);
        else
            out.put("{?}", 3);
        ++next;
        p = close + 1;
    }
}

namespace {

struct Buffer {
    char* data;
    size_t size;
    size_t length;
};

void write_buffer(void* context, const char* text, size_t length)
{
    auto* buffer = static_cast<Buffer*>(context);
    for (size_t i = 0; i < length; ++i, ++buffer->length)
        if (buffer->length + 1 < buffer->size)
            buffer->data[buffer->length] = text[i];
}

} // namespace

size_t vformat_to(char* buf, size_t size, const char* format, const Arg* args, size_t count)
{
    Buffer buffer{buf, size, 0};
    vformat(Sink{write_buffer, &buffer}, format, args, count);
    if (size > 0)
        buf[buffer.length < size ? buffer.length : size - 1] = '\0';
    return buffer.length;
}

} // namespace fmt
