// libl4's cpio newc reader (l4/cpio.hpp): valid archives, every kind of damage, and a fuzz loop.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "l4/cpio.hpp"

using l4::cpio::Entry;
using l4::cpio::Error;
using l4::cpio::Reader;

namespace {

// One newc member, with every field open to damage.
struct Member {
    std::string name;
    std::string data;
    uint32_t mode = 0100644;
    std::string magic = "070701";
    int64_t namesize = -1; // -1: the real one (with the NUL)
    int64_t filesize = -1;
    bool terminate_name = true;
    uint32_t check = 0;
    uint32_t inode = 1;
};

void pad4(std::string& out)
{
    while (out.size() % 4 != 0)
        out.push_back('\0');
}

std::string hex8(uint64_t value)
{
    char text[9];
    std::snprintf(text, sizeof text, "%08llX", static_cast<unsigned long long>(value & 0xffffffff));
    return text;
}

void append(std::string& out, const Member& m)
{
    const uint64_t namesize = m.namesize >= 0 ? static_cast<uint64_t>(m.namesize) : m.name.size() + 1;
    const uint64_t filesize = m.filesize >= 0 ? static_cast<uint64_t>(m.filesize) : m.data.size();
    out += m.magic;
    for (uint64_t field :
         {uint64_t{m.inode}, uint64_t{m.mode}, uint64_t{1000}, uint64_t{100}, uint64_t{1}, uint64_t{0x5f000000},
          filesize, uint64_t{3}, uint64_t{1}, uint64_t{0}, uint64_t{0}, namesize, uint64_t{m.check}})
        out += hex8(field);
    out += m.name;
    if (m.terminate_name)
        out.push_back('\0');
    pad4(out);
    out += m.data;
    pad4(out);
}

std::string trailer()
{
    std::string out;
    append(out, Member{.name = "TRAILER!!!", .mode = 0, .inode = 0});
    return out;
}

std::string archive(const std::vector<Member>& members, bool with_trailer = true)
{
    std::string out;
    for (const Member& m : members)
        append(out, m);
    if (with_trailer)
        out += trailer();
    return out;
}

// An exact-size heap copy, so that ASan sees any read past the end.
struct Exact {
    explicit Exact(const std::string& bytes) : size(bytes.size()), data(new uint8_t[bytes.size() ? bytes.size() : 1])
    {
        std::memcpy(data.get(), bytes.data(), bytes.size());
    }
    size_t size;
    std::unique_ptr<uint8_t[]> data;
};

std::vector<Member> sample_members()
{
    return {
        {.name = ".", .mode = 040755},
        {.name = "bin", .mode = 040755},
        {.name = "bin/sh",
         .data = std::string("\x7f"
                             "ELF\0\1\2",
                             7),
         .mode = 0100755},
        {.name = "etc/motd", .data = "hello\n"},
        {.name = "empty", .data = ""},
        {.name = "bin/busybox-link", .data = "sh", .mode = 0120777},
        {.name = "abc", .data = "abcd"}, // data already 4-aligned
    };
}

struct Walk {
    std::vector<Entry> entries;
    Error error;
    size_t offset;
};

Walk walk(const Exact& a)
{
    Walk w;
    Reader reader(a.data.get(), a.size);
    Entry e{};
    while (reader.next(e)) {
        // Everything the entry points at is inside the archive, and the name ends in NUL there.
        REQUIRE(e.name >= reinterpret_cast<const char*>(a.data.get()));
        REQUIRE(e.name + e.name_length < reinterpret_cast<const char*>(a.data.get() + a.size));
        REQUIRE(e.name[e.name_length] == '\0');
        REQUIRE(std::strlen(e.name) == e.name_length);
        REQUIRE(e.data >= a.data.get());
        REQUIRE(e.size <= a.size);
        REQUIRE(e.data + e.size <= a.data.get() + a.size);
        REQUIRE(e.offset < a.size);
        w.entries.push_back(e);
        REQUIRE(w.entries.size() <= a.size / l4::cpio::kHeaderSize);
    }
    CHECK(!reader.next(e)); // stays at the end
    w.error = reader.error();
    w.offset = reader.offset();
    return w;
}

Error first_error(const std::string& bytes) { return walk(Exact(bytes)).error; }

} // namespace

TEST_CASE("libl4 cpio: a valid archive, entry by entry")
{
    const auto members = sample_members();
    const Exact a(archive(members));
    const Walk w = walk(a);
    CHECK(w.error == Error::none);
    REQUIRE(w.entries.size() == members.size());
    for (size_t i = 0; i < members.size(); ++i) {
        const Entry& e = w.entries[i];
        CHECK(std::string(e.name) == members[i].name);
        CHECK(std::string(reinterpret_cast<const char*>(e.data), e.size) == members[i].data);
        CHECK(e.mode == members[i].mode);
        CHECK(e.uid == 1000);
        CHECK(e.gid == 100);
        CHECK(e.nlink == 1);
        CHECK(e.mtime == 0x5f000000);
        CHECK(e.dev_major == 3);
        CHECK(e.dev_minor == 1);
        CHECK(e.offset % 4 == 0);
        CHECK((e.data - a.data.get()) % 4 == 0);
    }
    CHECK(w.entries[0].is_directory());
    CHECK(w.entries[2].is_regular());
    CHECK(w.entries[2].permissions() == 0755);
    CHECK(w.entries[5].is_symlink());
    CHECK(!w.entries[5].is_regular());
    CHECK(w.entries[4].size == 0);

    size_t count = 0;
    CHECK(l4::cpio::validate(a.data.get(), a.size, &count) == Error::none);
    CHECK(count == members.size());
    CHECK(l4::cpio::describe(Error::name_unterminated) != std::string("unknown cpio error"));
}

TEST_CASE("libl4 cpio: find by path")
{
    std::vector<Member> members = sample_members();
    members.push_back({.name = "./usr/lib/x", .data = "X"});
    members.push_back({.name = "/abs", .data = "A"});
    const Exact a(archive(members));
    Entry e{};
    for (const char* path : {"bin/sh", "/bin/sh", "./bin/sh", ".//bin/sh"}) {
        REQUIRE(l4::cpio::find(a.data.get(), a.size, path, e) == Error::none);
        CHECK(std::string(e.name) == "bin/sh");
    }
    REQUIRE(l4::cpio::find(a.data.get(), a.size, "usr/lib/x", e) == Error::none);
    CHECK(std::string(reinterpret_cast<const char*>(e.data), e.size) == "X");
    REQUIRE(l4::cpio::find(a.data.get(), a.size, "/abs", e) == Error::none);
    REQUIRE(l4::cpio::find(a.data.get(), a.size, "abs", e) == Error::none);
    REQUIRE(l4::cpio::find(a.data.get(), a.size, "/", e) == Error::none);
    CHECK(std::string(e.name) == ".");
    CHECK(l4::cpio::find(a.data.get(), a.size, "bin/s", e) == Error::not_found);
    CHECK(l4::cpio::find(a.data.get(), a.size, "bin/shx", e) == Error::not_found);
    CHECK(l4::cpio::find(a.data.get(), a.size, "TRAILER!!!", e) == Error::not_found);

    // Before the damage an entry is found; past it the damage is the answer.
    std::string damaged = archive({{.name = "good", .data = "1"}}, false);
    damaged += archive({{.name = "bad", .data = "2", .magic = "070707"}});
    const Exact d(damaged);
    CHECK(l4::cpio::find(d.data.get(), d.size, "good", e) == Error::none);
    CHECK(l4::cpio::find(d.data.get(), d.size, "other", e) == Error::bad_magic);
}

TEST_CASE("libl4 cpio: empty archives, trailers and what follows them")
{
    CHECK(first_error("") == Error::missing_trailer);
    Reader null_reader(nullptr, 100);
    Entry e{};
    CHECK(!null_reader.next(e));
    CHECK(null_reader.error() == Error::missing_trailer);

    CHECK(first_error(trailer()) == Error::none);
    CHECK(first_error(archive(sample_members(), false)) == Error::missing_trailer);

    // Padding and a second archive after the trailer are not read.
    std::string padded = archive(sample_members()) + std::string(512, '\0') + "garbage";
    const Walk w = walk(Exact(padded));
    CHECK(w.error == Error::none);
    CHECK(w.entries.size() == sample_members().size());

    // The trailer's padding may be missing at the very end.
    std::string tight = archive({{.name = "a", .data = "xyz"}});
    while (tight.back() == '\0' && tight[tight.size() - 2] == '\0')
        tight.pop_back(); // strips the padding after "TRAILER!!!\0"
    CHECK((tight.size() % 4) != 0);
    CHECK(first_error(tight) == Error::none);

    // A last entry whose data padding is cut off is still whole.
    std::string unpadded = archive({{.name = "ab", .data = "x"}}, false);
    unpadded.resize(unpadded.size() - 3);
    const Walk u = walk(Exact(unpadded));
    CHECK(u.entries.size() == 1);
    CHECK(u.error == Error::missing_trailer);
}

TEST_CASE("libl4 cpio: damaged headers")
{
    // Truncated inside the header.
    const std::string whole = archive({{.name = "file", .data = "data"}});
    for (size_t cut = 1; cut < l4::cpio::kHeaderSize; ++cut)
        CHECK(first_error(whole.substr(0, cut)) == Error::truncated_header);

    CHECK(first_error(archive({{.name = "f", .magic = "070707"}})) == Error::bad_magic); // odc
    CHECK(first_error(archive({{.name = "f", .magic = "070700"}})) == Error::bad_magic);
    CHECK(first_error(archive({{.name = "f", .magic = "170701"}})) == Error::bad_magic);
    CHECK(first_error(std::string(200, '\0')) == Error::bad_magic);

    // Every field, one non-hex character at a time.
    for (size_t field = 0; field < 13; ++field) {
        for (char bad : {'g', 'G', ' ', '-', '\0', 'x', '\xff'}) {
            std::string s = whole;
            s[6 + field * 8 + 3] = bad;
            INFO("field " << field << " char " << int(bad));
            CHECK(first_error(s) == Error::bad_number);
        }
    }
    // Lower-case hex is accepted.
    std::string lower = archive({{.name = "f", .data = std::string(0xab, 'q')}});
    for (size_t i = 6; i < 110; ++i)
        lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[i])));
    const Walk w = walk(Exact(lower));
    CHECK(w.error == Error::none);
    REQUIRE(w.entries.size() == 1);
    CHECK(w.entries[0].size == 0xab);

    // The error points at the bad header, after the good ones.
    std::string second_bad = archive({{.name = "ok", .data = "12345"}}, false);
    const size_t bad_at = second_bad.size();
    second_bad += archive({{.name = "f", .magic = "07070X"}});
    const Walk s = walk(Exact(second_bad));
    CHECK(s.entries.size() == 1);
    CHECK(s.error == Error::bad_magic);
    CHECK(s.offset == bad_at);
}

TEST_CASE("libl4 cpio: damaged names")
{
    CHECK(first_error(archive({{.name = "", .namesize = 0}})) == Error::empty_name);
    CHECK(first_error(archive({{.name = "abc", .namesize = 0x7fffffff}})) == Error::name_past_end);
    CHECK(first_error(archive({{.name = "abc", .namesize = 0xffffffff}})) == Error::name_past_end);
    // The name is the archive's last bytes, without its NUL.
    std::string cut = archive({{.name = "name"}}, false);
    cut.resize(l4::cpio::kHeaderSize + 4);
    CHECK(first_error(cut) == Error::name_past_end);
    cut.resize(l4::cpio::kHeaderSize + 5);
    CHECK(first_error(cut) == Error::missing_trailer); // the NUL is there: a whole entry
    // namesize counts no NUL.
    CHECK(first_error(archive({{.name = "abcd", .namesize = 4, .terminate_name = false}})) == Error::name_unterminated);
    // namesize stops short of the NUL.
    CHECK(first_error(archive({{.name = "abcdef", .namesize = 3}})) == Error::name_unterminated);
    // A NUL inside the name.
    CHECK(first_error(archive({{.name = std::string("ab\0cd", 5)}})) == Error::name_unterminated);
    // namesize past the real NUL takes in the padding and data.
    CHECK(first_error(archive({{.name = "ab", .data = "zzzzzzzz", .namesize = 6}})) == Error::name_unterminated);
    // The empty name (just the NUL) is allowed.
    CHECK(first_error(archive({{.name = ""}})) == Error::none);
}

TEST_CASE("libl4 cpio: damaged sizes and checksums")
{
    CHECK(first_error(archive({{.name = "f", .data = "abc", .filesize = 0xffffffff}})) == Error::data_past_end);
    CHECK(first_error(archive({{.name = "f", .data = "abc", .filesize = 1000}})) == Error::data_past_end);
    // The data is cut: the data, not the trailer, is what is missing.
    std::string cut = archive({{.name = "file", .data = std::string(100, 'd')}}, false);
    cut.resize(cut.size() - 10);
    CHECK(first_error(cut) == Error::data_past_end);
    // A name ending just at the archive's end with data still due.
    std::string name_only = archive({{.name = "abc", .data = "12"}}, false);
    name_only.resize(l4::cpio::kHeaderSize + 4 + 1); // inside the name padding
    CHECK(first_error(name_only) == Error::data_past_end);
    // A size that claims the following headers: they are data then, and the trailer is gone.
    const std::string two = archive({{.name = "a", .data = "1"}, {.name = "b", .data = "2"}}, true);
    std::string greedy = two;
    const std::string field = hex8(two.size() - 112); // from a's data (header + "a\0") to the end
    greedy.replace(6 + 6 * 8, 8, field);
    CHECK(first_error(greedy) == Error::missing_trailer);

    // 070702: the check field is the sum of the data bytes.
    const std::string data = "\x01\x02\xff";
    CHECK(first_error(archive({{.name = "c", .data = data, .magic = "070702", .check = 0x102}})) == Error::none);
    CHECK(first_error(archive({{.name = "c", .data = data, .magic = "070702", .check = 0x103}})) ==
          Error::bad_checksum);
    CHECK(first_error(archive({{.name = "c", .data = data, .check = 0x999}})) == Error::none); // 070701: ignored
}

TEST_CASE("libl4 cpio: every truncation of a valid archive fails cleanly")
{
    const std::string whole = archive(sample_members());
    for (size_t cut = 0; cut < whole.size(); ++cut) {
        const Walk w = walk(Exact(whole.substr(0, cut)));
        INFO("cut at " << cut);
        // Only the trailer's own padding may go missing.
        CHECK((w.error != Error::none || cut + 3 >= whole.size()));
        CHECK(w.error != Error::bad_magic);
        CHECK(w.error != Error::bad_number);
        CHECK(w.entries.size() <= sample_members().size());
    }
}

TEST_CASE("libl4 cpio: fuzzed archives never read out of bounds")
{
    std::mt19937 rng(0xc010);
    const std::string base = archive(sample_members());
    const char interesting[] = {'0', '1', '7', 'f', 'F', 'g', '\0', '/', 'T', '!', 'x'};
    size_t clean = 0;
    for (int round = 0; round < 4000; ++round) {
        std::string s = base;
        const int flips = 1 + static_cast<int>(rng() % 6);
        for (int i = 0; i < flips; ++i) {
            const size_t at = rng() % s.size();
            s[at] = rng() % 2 ? interesting[rng() % sizeof interesting] : static_cast<char>(rng());
        }
        if (rng() % 3 == 0)
            s.resize(rng() % (s.size() + 1));
        if (rng() % 5 == 0 && s.size() >= l4::cpio::kHeaderSize) {
            // The first header's filesize or namesize, often a large one.
            const size_t field = rng() % 2 ? 6 : 11;
            s.replace(6 + field * 8, 8, hex8(rng() % 2 ? rng() : rng() % 256));
        }
        const Exact a(s);
        const Walk w = walk(a);
        clean += w.error == Error::none;
        Entry e{};
        const Error found = l4::cpio::find(a.data.get(), a.size, "bin/sh", e);
        CHECK((found == Error::none || found == Error::not_found || found == w.error));
        size_t count = 0;
        if (l4::cpio::validate(a.data.get(), a.size, &count) == Error::none)
            CHECK(count == w.entries.size());
    }
    CHECK(clean > 0); // some mutations hit data bytes only
}
