// Host tests of mem::MappingDb: derivation, rights, exhaustion, deep trees, and a long
// randomized run checked step by step against a plain std::map model.
#include <catch2/catch.hpp>

#include "xorshift.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mem/mapping_db.hpp"

using mem::Mapping;
using mem::MappingDb;

namespace {

constexpr uint8_t R = mem::page_rights::read, W = mem::page_rights::write;
constexpr uint8_t X = mem::page_rights::execute, RWX = mem::page_rights::all;
constexpr uint8_t RW = R | W, RX = R | X;

uint8_t u8(unsigned v) { return static_cast<uint8_t>(v); }

// One callback report; rights 0: removed.
struct Change {
    uint32_t space;
    uint64_t page, frame;
    uint8_t rights;
    auto tie() const { return std::tie(space, page, frame, rights); }
    bool operator==(const Change& o) const { return tie() == o.tie(); }
    bool operator<(const Change& o) const { return tie() < o.tie(); }
};
using Changes = std::vector<Change>;

std::ostream& operator<<(std::ostream& os, const Change& c)
{
    return os << c.space << ':' << c.page << " frame " << c.frame << " -> " << unsigned{c.rights};
}

Change gone(const Mapping* m) { return {m->space(), m->page(), m->frame(), 0}; }
Change now(const Mapping* m, uint8_t r) { return {m->space(), m->page(), m->frame(), r}; }

Changes sorted(Changes v)
{
    std::sort(v.begin(), v.end());
    return v;
}

// Storage full of junk (the database must initialise what it needs) and a recording callback.
struct Fixture {
    std::vector<Mapping> nodes;
    std::vector<uint32_t> index;
    MappingDb db;
    Changes changes;

    explicit Fixture(size_t capacity, size_t index_slots = 0)
        : nodes(junk(capacity)), index(index_slots ? index_slots : 2 * capacity, ~0u),
          db(nodes.data(), capacity, index.data(), index.size())
    {
    }

    static std::vector<Mapping> junk(size_t n)
    {
        std::vector<Mapping> v(n);
        if (n)
            std::memset(static_cast<void*>(v.data()), 0xa5, n * sizeof(Mapping));
        return v;
    }
    static void record(void* self, uint32_t space, uint64_t page, uint64_t frame, uint8_t r)
    {
        static_cast<Fixture*>(self)->changes.push_back({space, page, frame, r});
    }
    MappingDb::Callback cb() { return {&record, this}; }

    // The reports since the last call, sorted: their order within one operation is unspecified.
    Changes taken() { return sorted(std::exchange(changes, {})); }

    // A mapping in one line, e.g. "4:5 frame 0x900 rw- from 0:1", so one CHECK shows it all.
    std::string show(const Mapping* m) const
    {
        if (!m)
            return "none";
        std::ostringstream s;
        s << m->space() << ':' << m->page() << " frame 0x" << std::hex << m->frame() << ' '
          << (m->rights() & R ? 'r' : '-') << (m->rights() & W ? 'w' : '-') << (m->rights() & X ? 'x' : '-')
          << std::dec;
        if (const Mapping* p = db.parent(*m))
            s << " from " << p->space() << ':' << p->page();
        return s.str();
    }
};

} // namespace

TEST_CASE("mapping db: root insert and find")
{
    Fixture f(64);
    MappingDb& db = f.db;
    CHECK((db.capacity() == 64 && db.find(1, 0x10) == nullptr));
    Mapping* a = db.insert_root(1, 0x10, 0x100, RWX);
    CHECK(f.show(a) == "1:16 frame 0x100 rwx");
    CHECK((db.find(1, 0x10) == a && !db.find(1, 0x11) && !db.find(2, 0x10)));

    // Occupied, no read, or junk rights bits.
    CHECK(db.insert_root(1, 0x10, 0x200, RWX) == nullptr);
    CHECK(db.insert_root(1, 0x20, 0x200, W | X) == nullptr);
    CHECK(f.show(db.insert_root(2, 0x10, 0x100, 0xff)) == "2:16 frame 0x100 rwx");
    CHECK(f.show(a) == "1:16 frame 0x100 rwx");
    CHECK(db.size() == 2);

    // Fill up with neighbouring pages of several spaces; every one stays findable.
    for (uint32_t i = 0; db.size() < 64; ++i)
        REQUIRE(db.insert_root(3 + i % 3, i, i, R));
    for (uint32_t i = 0; i < 62; ++i) {
        const Mapping* m = db.find(3 + i % 3, i);
        REQUIRE((m && m->frame() == i));
    }
    CHECK(db.insert_root(9, 9, 9, R) == nullptr);

    // An undersized index cuts the capacity to what it holds at half load.
    CHECK(Fixture(100, 100).db.capacity() == 50);
    CHECK(Fixture(0).db.insert_root(1, 1, 1, R) == nullptr);
}

TEST_CASE("mapping db: unmap of a chain takes back everything derived")
{
    Fixture f(16);
    MappingDb& db = f.db;
    Mapping* a = db.insert_root(0, 1, 0x500, RWX);
    Mapping* b = db.map(a, 1, 2, RWX, f.cb());
    Mapping* c = db.map(b, 2, 3, RWX, f.cb());
    CHECK(f.show(b) == "1:2 frame 0x500 rwx from 0:1");
    CHECK(f.show(c) == "2:3 frame 0x500 rwx from 1:2");
    CHECK((f.taken().empty() && db.size() == 3));

    SECTION("from the root, excluding it")
    {
        const Changes expect = sorted({gone(b), gone(c)});
        db.unmap(a, R, false, f.cb());
        CHECK(f.taken() == expect);
        CHECK((db.size() == 1 && db.find(0, 1) == a && !db.find(1, 2) && !db.find(2, 3)));
        CHECK(f.show(a) == "0:1 frame 0x500 rwx");
        CHECK(db.map(a, 1, 2, RW, f.cb()) != nullptr); // the freed nodes are reusable
    }
    SECTION("from the middle, including it")
    {
        const Changes expect = sorted({gone(b), gone(c)});
        db.unmap(b, RWX, true, f.cb());
        CHECK(f.taken() == expect);
        CHECK((db.size() == 1 && !db.find(1, 2)));
    }
    SECTION("the root itself, when the caller asks")
    {
        const Changes expect = sorted({gone(a), gone(b), gone(c)});
        db.unmap(a, R, true, f.cb());
        CHECK(f.taken() == expect);
        CHECK(db.size() == 0);
    }
}

// memory_unmap_in: one task's mapping (with self) and what it passed on go; its siblings from the
// same source, that source, and their own derivations stay.
TEST_CASE("mapping db: unmap of one derived mapping leaves its siblings")
{
    Fixture f(16);
    MappingDb& db = f.db;
    Mapping* server = db.insert_root(0, 1, 0x800, RWX);
    Mapping* a = db.map(server, 1, 7, RW, f.cb());
    Mapping* b = db.map(server, 2, 7, RW, f.cb());
    Mapping* a_onward = db.map(a, 3, 9, RW, f.cb());
    Mapping* b_onward = db.map(b, 4, 9, R, f.cb());
    REQUIRE((a && b && a_onward && b_onward && f.taken().empty()));

    SECTION("taking write from one task")
    {
        db.unmap(a, W, true, f.cb());
        CHECK(f.taken() == sorted({now(a, R), now(a_onward, R)}));
        CHECK(f.show(b) == "2:7 frame 0x800 rw- from 0:1");
        CHECK(f.show(server) == "0:1 frame 0x800 rwx");
    }
    SECTION("removing it from one task")
    {
        const Changes expect = sorted({gone(a), gone(a_onward)});
        db.unmap(a, RWX, true, f.cb());
        CHECK(f.taken() == expect);
        CHECK((db.size() == 3 && !db.find(1, 7) && !db.find(3, 9)));
        CHECK(f.show(db.find(2, 7)) == "2:7 frame 0x800 rw- from 0:1");
        CHECK(f.show(db.find(4, 9)) == "4:9 frame 0x800 r-- from 2:7");
        // The source may map it there again, as new.
        bool added = false;
        CHECK(f.show(db.map(server, 1, 7, R, f.cb(), &added)) == "1:7 frame 0x800 r-- from 0:1");
        CHECK(added);
    }
}

TEST_CASE("mapping db: partial unmap only shrinks rights")
{
    Fixture f(16);
    MappingDb& db = f.db;
    Mapping* a = db.insert_root(0, 1, 0x700, RWX);
    Mapping* b = db.map(a, 1, 2, RWX, f.cb());
    Mapping* c = db.map(b, 2, 3, RWX, f.cb());
    Mapping* d = db.map(a, 3, 4, RX, f.cb()); // has no write to lose
    REQUIRE((b && c && d));

    db.unmap(a, W, false, f.cb());
    CHECK(f.taken() == sorted({now(b, RX), now(c, RX)}));
    CHECK(f.show(b) == "1:2 frame 0x700 r-x from 0:1");
    CHECK(f.show(c) == "2:3 frame 0x700 r-x from 1:2");
    CHECK(f.show(d) == "3:4 frame 0x700 r-x from 0:1");

    db.unmap(a, X, true, f.cb());
    CHECK(f.taken() == sorted({now(a, RW), now(b, R), now(c, R), now(d, R)}));

    // Nothing left to take below the root: nothing reported.
    db.unmap(a, W | X, false, f.cb());
    db.unmap(a, 0, true, f.cb());
    CHECK((f.taken().empty() && db.size() == 4));

    // A later derivation cannot regain what was taken.
    CHECK(f.show(db.map(b, 4, 5, RWX, f.cb())) == "4:5 frame 0x700 r-- from 1:2");
}

TEST_CASE("mapping db: grant moves a mapping with its children")
{
    Fixture f(16);
    MappingDb& db = f.db;
    Mapping* a = db.insert_root(0, 1, 0x900, RWX);
    Mapping* b = db.map(a, 1, 2, RWX, f.cb());
    Mapping* c = db.map(b, 2, 3, RW, f.cb());
    Mapping* d = db.map(b, 3, 4, RWX, f.cb());
    REQUIRE((b && c && d));

    CHECK(db.grant(b, 4, 5, RWX, f.cb()) == b); // the same node, moved
    CHECK(f.taken() == Changes{{1, 2, 0x900, 0}});
    CHECK((db.find(1, 2) == nullptr && db.find(4, 5) == b));
    CHECK(f.show(b) == "4:5 frame 0x900 rwx from 0:1");
    CHECK(f.show(c) == "2:3 frame 0x900 rw- from 4:5");
    CHECK(f.show(d) == "3:4 frame 0x900 rwx from 4:5");

    // With fewer rights: the children shrink with it (c had no execute to lose).
    CHECK(db.grant(b, 5, 6, RW, f.cb()) == b);
    CHECK(f.taken() == sorted({{4, 5, 0x900, 0}, now(d, RW)}));
    CHECK(f.show(b) == "5:6 frame 0x900 rw- from 0:1");
    // Onto itself: only the rights shrink.
    CHECK(db.grant(b, 5, 6, R, f.cb()) == b);
    CHECK(f.taken() == sorted({now(b, R), now(c, R), now(d, R)}));
    // Onto an ancestor, or without read: refused, nothing changes.
    CHECK(db.grant(c, 0, 1, RWX, f.cb()) == nullptr);
    CHECK(db.grant(b, 5, 7, W, f.cb()) == nullptr);
    CHECK((f.taken().empty() && db.size() == 4));

    // Onto another frame's mapping: that one goes, with its subtree.
    Mapping* z = db.insert_root(7, 7, 0xa00, RWX);
    Mapping* zc = db.map(z, 8, 8, RWX, f.cb());
    const Changes expect = sorted({gone(z), gone(zc), {5, 6, 0x900, 0}});
    CHECK(db.grant(b, 7, 7, RWX, f.cb()) == b);
    CHECK(f.taken() == expect);
    CHECK(f.show(db.find(7, 7)) == "7:7 frame 0x900 r-- from 0:1");
    CHECK((db.find(8, 8) == nullptr && db.size() == 4));

    // A root can be granted too.
    CHECK(f.show(db.grant(a, 9, 9, RWX, f.cb())) == "9:9 frame 0x900 rwx");
    CHECK(f.show(b) == "7:7 frame 0x900 r-- from 9:9");
}

TEST_CASE("mapping db: map onto an occupied page")
{
    Fixture f(16);
    MappingDb& db = f.db;
    Mapping* a = db.insert_root(0, 1, 0x100, RWX);
    Mapping* z = db.insert_root(0, 2, 0x200, RWX);
    Mapping* b = db.map(a, 1, 10, RWX, f.cb());
    Mapping* c = db.map(b, 2, 20, RWX, f.cb());
    REQUIRE((b && c));

    SECTION("of another frame: replaced, the old subtree removed")
    {
        const Changes expect = sorted({gone(b), gone(c)});
        CHECK(f.show(db.map(z, 1, 10, RW, f.cb())) == "1:10 frame 0x200 rw- from 0:2");
        CHECK(f.taken() == expect);
        CHECK((db.find(2, 20) == nullptr && db.size() == 3));
    }
    SECTION("by a child of the sender: upgraded in place, never downgraded")
    {
        Mapping* e = db.map(a, 3, 30, R, f.cb());
        CHECK(db.map(a, 3, 30, RW, f.cb()) == e);
        CHECK(db.map(a, 3, 30, R, f.cb()) == e);
        CHECK(f.show(e) == "3:30 frame 0x100 rw- from 0:1");
        CHECK((f.taken().empty() && db.size() == 5));
    }
    SECTION("by the sender or its ancestor: left as is")
    {
        CHECK(db.map(c, 0, 1, RWX, f.cb()) == a);
        CHECK(db.map(c, 2, 20, RWX, f.cb()) == c);
        CHECK((f.taken().empty() && db.size() == 4));
        CHECK(f.show(c) == "2:20 frame 0x100 rwx from 1:10");
    }
    SECTION("by a deeper descendant of the same frame: re-derived from the sender")
    {
        CHECK(f.show(db.map(a, 2, 20, RX, f.cb())) == "2:20 frame 0x100 r-x from 0:1");
        CHECK((f.taken() == Changes{{2, 20, 0x100, 0}} && db.size() == 4));
    }
}

// What vm.cpp's accounting rests on: `added` says whether the target gained a node, also when
// a replacement reuses the very node it freed (the double refund of issue 8, bug 5).
TEST_CASE("mapping db: map and grant report whether the target gained a node")
{
    Fixture f(16);
    MappingDb& db = f.db;
    Mapping* a = db.insert_root(0, 1, 0x100, RWX);
    Mapping* z = db.insert_root(0, 2, 0x200, RWX);
    bool added = true;

    Mapping* b = db.map(a, 1, 10, RW, f.cb(), &added);
    CHECK((b != nullptr && added));
    CHECK((db.map(a, 1, 10, RWX, f.cb(), &added) == b && !added));     // upgraded in place
    CHECK((db.map(b, 0, 1, RWX, f.cb(), &added) == a && !added));      // the sender's ancestor
    CHECK((db.map(a, 1, 11, 0, f.cb(), &added) == nullptr && !added)); // no read right

    // The replacement frees b's node; the new mapping is allocated from the free list's head,
    // which is that node again: same pointer, yet a new mapping.
    Mapping* r = db.map(z, 1, 10, RW, f.cb(), &added);
    CHECK(r == b);
    CHECK(added);
    CHECK(f.show(r) == "1:10 frame 0x200 rw- from 0:2");
    CHECK(db.size() == 3);

    Mapping* g = db.grant(r, 2, 5, RW, f.cb(), &added);
    CHECK((g == r && added && db.find(1, 10) == nullptr));
    CHECK((db.grant(g, 2, 5, R, f.cb(), &added) == g && !added));        // onto itself: shrinks only
    CHECK((db.grant(g, 0, 2, RW, f.cb(), &added) == nullptr && !added)); // onto its ancestor
    CHECK(db.size() == 3);
}

TEST_CASE("mapping db: rights only shrink along a derivation")
{
    Fixture f(8);
    MappingDb& db = f.db;
    Mapping* a = db.insert_root(0, 0, 1, RX);
    Mapping* b = db.map(a, 1, 1, RWX, f.cb()); // gets the intersection
    CHECK(f.show(b) == "1:1 frame 0x1 r-x from 0:0");
    CHECK(f.show(db.map(b, 2, 2, RW, f.cb())) == "2:2 frame 0x1 r-- from 1:1");
    CHECK(db.map(a, 3, 3, W | X, f.cb()) == nullptr); // nothing readable left
    CHECK(db.map(nullptr, 3, 3, RWX, f.cb()) == nullptr);
    CHECK((f.taken().empty() && db.size() == 3));
}

TEST_CASE("mapping db: storage exhaustion returns nullptr and changes nothing")
{
    Fixture f(4);
    MappingDb& db = f.db;
    Mapping* a = db.insert_root(0, 0, 0x10, RWX);
    Mapping* b = db.map(a, 1, 1, RWX, f.cb());
    Mapping* c = db.map(b, 2, 2, RW, f.cb());
    Mapping* z = db.insert_root(0, 9, 0x20, RWX);
    REQUIRE(db.size() == db.capacity());
    auto all = [&] { return f.show(a) + '|' + f.show(b) + '|' + f.show(c) + '|' + f.show(z); };
    const std::string before = all();

    CHECK(db.insert_root(5, 5, 5, R) == nullptr);
    CHECK(db.map(a, 3, 3, RWX, f.cb()) == nullptr);
    CHECK(db.map(c, 4, 4, R, f.cb()) == nullptr);
    CHECK((f.taken().empty() && db.size() == 4 && all() == before));

    // Needing no new node still works when full: an upgrade, a grant, a replacement.
    CHECK(db.map(b, 2, 2, RWX, f.cb()) == c);
    CHECK(db.grant(c, 3, 3, RWX, f.cb()) == c);
    CHECK(f.taken() == Changes{{2, 2, 0x10, 0}});
    CHECK(f.show(db.map(z, 1, 1, R, f.cb())) == "1:1 frame 0x20 r-- from 0:9");
    CHECK(f.taken() == sorted({{1, 1, 0x10, 0}, {3, 3, 0x10, 0}}));
    CHECK((db.map(a, 4, 4, R, f.cb()) && db.size() == 4));
}

TEST_CASE("mapping db: deep and wide trees need no recursion")
{
    constexpr uint32_t N = 100000;
    Fixture f(N);
    MappingDb& db = f.db;
    std::vector<Mapping*> chain{db.insert_root(0, 0, 0x42, RWX)};
    for (uint32_t i = 1; i < N; ++i)
        chain.push_back(db.map(chain.back(), i, i, RWX));
    REQUIRE((db.size() == N && db.parent(*chain[N - 1]) == chain[N - 2]));

    db.unmap(chain[0], W, false, f.cb());
    CHECK((f.taken().size() == N - 1 && chain[N - 1]->rights() == RX && chain[0]->rights() == RWX));
    // The deepest node mapped onto the root's page: the ancestor walk spans the whole chain.
    CHECK(db.map(chain[N - 1], 0, 0, R, f.cb()) == chain[0]);
    // Moving a middle node keeps the lower half hanging from it.
    CHECK(db.grant(chain[N / 2], N, N, RX, f.cb()) == chain[N / 2]);
    CHECK((f.taken().size() == 1 && db.parent(*chain[N / 2 + 1]) == chain[N / 2]));

    db.unmap(chain[0], R, false, f.cb());
    CHECK((f.taken().size() == N - 1 && db.size() == 1));
    db.unmap(chain[0], R, true, f.cb());
    CHECK((f.taken() == Changes{{0, 0, 0x42, 0}} && db.size() == 0));

    // Wide: one root with N - 1 children; one is removed from the middle, then all.
    Mapping* root = db.insert_root(0, 0, 0x43, RWX);
    for (uint32_t i = 1; i < N; ++i)
        static_cast<void>(db.map(root, i, i, RWX));
    REQUIRE(db.size() == N);
    db.unmap(db.find(N / 2, N / 2), R, true, f.cb());
    CHECK(f.taken() == Changes{{N / 2, N / 2, 0x43, 0}});
    db.unmap(root, X, false, f.cb());
    CHECK(f.taken().size() == N - 2);
    db.unmap(root, RWX, true, f.cb());
    CHECK((f.taken().size() == N - 1 && db.size() == 0));
}

namespace {

using Key = std::pair<uint32_t, uint64_t>;

// The specification, written the obvious way: recursion, full scans, no pruning.
struct Model {
    struct Entry {
        uint64_t frame;
        uint8_t rights;
        std::optional<Key> parent;
    };
    std::map<Key, Entry> entries;
    Changes changes;
    size_t capacity;

    std::optional<Key> insert_root(Key k, uint64_t frame, uint8_t r)
    {
        if (!(r & R) || entries.size() == capacity || entries.count(k))
            return {};
        entries[k] = {frame, r, {}};
        return k;
    }
    std::optional<Key> map(Key from, Key to, uint8_t rights)
    {
        const Entry src = entries.at(from);
        const uint8_t r = u8(src.rights & rights);
        if (!(r & R))
            return {};
        if (auto it = entries.find(to); it != entries.end()) {
            if (it->second.parent == from) {
                it->second.rights = u8(it->second.rights | r);
                return to;
            }
            if (above(to, from))
                return to;
            remove(to);
        } else if (entries.size() == capacity) {
            return {};
        }
        entries[to] = {src.frame, r, from};
        return to;
    }
    std::optional<Key> grant(Key from, Key to, uint8_t rights)
    {
        const uint8_t r = u8(entries.at(from).rights & rights);
        const uint8_t lost = u8(entries.at(from).rights & ~r);
        if (!(r & R))
            return {};
        if (to == from) {
            shrink(from, lost, true);
            return to;
        }
        if (entries.count(to) && above(to, from))
            return {};
        if (entries.count(to))
            remove(to);
        const Entry e = entries.at(from);
        changes.push_back({from.first, from.second, e.frame, 0});
        entries.erase(from);
        for (auto& [k, v] : entries)
            v.parent = v.parent == from ? to : v.parent;
        entries[to] = e;
        shrink(to, lost, false);
        entries[to].rights = r;
        return to;
    }
    void unmap(Key k, uint8_t rights, bool self)
    {
        if (!(rights & R))
            return shrink(k, rights, self);
        if (self)
            return remove(k);
        for (const Key& c : children(k))
            remove(c);
    }

    std::vector<Key> children(Key k) const
    {
        std::vector<Key> out;
        for (const auto& [ck, v] : entries)
            if (v.parent == k)
                out.push_back(ck);
        return out;
    }
    void remove(Key k)
    {
        for (const Key& c : children(k))
            remove(c);
        changes.push_back({k.first, k.second, entries.at(k).frame, 0});
        entries.erase(k);
    }
    void shrink(Key k, uint8_t mask, bool self)
    {
        Entry& e = entries.at(k);
        if (self && (e.rights & mask)) {
            e.rights = u8(e.rights & ~mask);
            changes.push_back({k.first, k.second, e.frame, e.rights});
        }
        for (const Key& c : children(k))
            shrink(c, mask, true);
    }
    bool above(Key a, Key n) const
    { // a is n or one of its ancestors
        std::optional<Key> i = n;
        while (i && *i != a)
            i = entries.at(*i).parent;
        return i.has_value();
    }
};

constexpr uint32_t kSpaces = 6, kPages = 64, kFrames = 16;

std::optional<Key> key_of(const Mapping* m) { return m ? std::optional<Key>({m->space(), m->page()}) : std::nullopt; }

// Empty when the database holds what the model holds. Every model entry is looked up; with
// equal sizes there is no room for extras, and a sweep now and then checks the index too.
std::string compare(const MappingDb& db, const Model& model, bool sweep)
{
    std::string err = db.size() == model.entries.size() ? "" : "sizes differ\n";
    for (const auto& [k, e] : model.entries) {
        const Mapping* m = db.find(k.first, k.second);
        if (!m || key_of(m) != k || m->frame() != e.frame || m->rights() != e.rights ||
            key_of(db.parent(*m)) != e.parent) {
            err += "differs at " + std::to_string(k.first) + ':' + std::to_string(k.second) + '\n';
        }
    }
    for (uint32_t i = 0; sweep && i < kSpaces * kPages; ++i) {
        const Key k{i / kPages, (i % kPages) * uint64_t{0x1001}};
        if (db.find(k.first, k.second) && !model.entries.count(k))
            err += "extra mapping\n";
    }
    return err;
}

void random_run(uint64_t seed, size_t capacity, size_t index_slots, int steps)
{
    Fixture f(capacity, index_slots);
    MappingDb& db = f.db;
    Model model{{}, {}, capacity};
    XorShift rng{seed};
    auto below = [&](uint32_t n) { return static_cast<uint32_t>(rng.below(n)); };
    auto random_key = [&] { return Key{below(kSpaces), below(kPages) * uint64_t{0x1001}}; };
    auto random_rights = [&] { return u8(below(8) | (below(10) < 8 ? R : 0)); };

    for (int step = 0; step < steps; ++step) {
        INFO("seed " << seed << " step " << step);
        const uint32_t op = below(100);
        const Key k = random_key();
        const uint8_t r = random_rights();
        // Each REQUIRE runs the database and the model; neither depends on the other.
        if (op < 12 || model.entries.empty()) {
            const uint64_t frame = below(kFrames);
            REQUIRE(key_of(db.insert_root(k.first, k.second, frame, r)) == model.insert_root(k, frame, r));
        } else {
            const auto size = static_cast<uint32_t>(model.entries.size());
            const Key from = std::next(model.entries.begin(), below(size))->first;
            Mapping* src = db.find(from.first, from.second);
            REQUIRE(src != nullptr);
            Key to = below(10) ? k : from; // sometimes the sender itself or an ancestor
            for (uint32_t up = to == from ? below(4) : 0; up && model.entries.at(to).parent; --up) {
                to = *model.entries.at(to).parent;
            }
            if (op < 55) {
                REQUIRE(key_of(db.map(src, to.first, to.second, r, f.cb())) == model.map(from, to, r));
            } else if (op < 70) {
                const Mapping* got = db.grant(src, to.first, to.second, r, f.cb());
                REQUIRE(key_of(got) == model.grant(from, to, r));
                REQUIRE((got == nullptr || got == src));
            } else {
                const uint8_t take = u8(1 + below(7));
                const bool self = below(4) == 0;
                model.unmap(from, take, self);
                db.unmap(src, take, self, f.cb());
            }
        }
        REQUIRE(f.taken() == sorted(std::exchange(model.changes, {})));
        REQUIRE(compare(db, model, step % 16 == 0) == "");
    }
}

} // namespace

TEST_CASE("mapping db: randomized run against a model")
{
    // Tight storage (exhaustion; an index of 300 slots at up to half load) and roomy storage.
    random_run(0x9e3779b97f4a7c15ULL, 150, 300, 30000);
    random_run(0x2545f4914f6cdd1dULL, kSpaces * kPages, 0, 30000);
}

TEST_CASE("mapping db: next_in_space finds every mapping of one space, and only those")
{
    Fixture f(64);
    MappingDb& db = f.db;
    uint32_t cursor = 0;
    CHECK(db.next_in_space(1, cursor) == nullptr); // empty (over junk storage)

    Mapping* a = db.insert_root(1, 0x10, 0x100, RWX);
    Mapping* other = db.insert_root(2, 0x10, 0x200, RWX);
    Mapping* b = db.map(other, 1, 0x20, R, f.cb()); // space 1 again, derived from space 2
    Mapping* c = db.map(a, 3, 0x30, RW, f.cb());
    REQUIRE((a && other && b && c));
    db.unmap(db.insert_root(1, 0x40, 0x400, R), RWX, true, f.cb()); // freed: not found

    std::vector<const Mapping*> seen;
    cursor = 0;
    while (Mapping* m = db.next_in_space(1, cursor))
        seen.push_back(m);
    std::sort(seen.begin(), seen.end());
    std::vector<const Mapping*> want{a, b};
    std::sort(want.begin(), want.end());
    CHECK(seen == want);
    CHECK(db.next_in_space(1, cursor) == nullptr); // stays at the end

    // Sweeping a space the way the kernel does when its task dies: unmap what is found until
    // nothing is left; mappings of other spaces derived from it go too (reported).
    cursor = 0;
    while (Mapping* m = db.next_in_space(1, cursor))
        db.unmap(m, RWX, true, f.cb());
    cursor = 0;
    CHECK(db.next_in_space(1, cursor) == nullptr);
    CHECK(db.find(3, 0x30) == nullptr);                        // derived from a
    CHECK(f.show(db.find(2, 0x10)) == "2:16 frame 0x200 rwx"); // b's parent stays
    CHECK(db.size() == 1);
}
