// Host tests of cap::CapSpace: every operation and error, the derivation tree, and a long
// randomized run checked step by step against a std::map model.
#include <catch2/catch.hpp>

#include "xorshift.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cap/cap_space.hpp"

using cap::CapSpace;
using cap::ObjectType;
using cap::Selector;
using cap::Slot;
using Error = l4::abi::Error;
using Rights = l4::abi::Rights;
namespace rights = l4::abi::rights;

namespace {

constexpr Rights kAll = rights::all;
constexpr Rights kSR = rights::send | rights::receive;
constexpr Selector kBad = ~Selector{0};

struct TestObject : cap::Object {
    static constexpr ObjectType kType = ObjectType::endpoint; // for lookup<TestObject>
    int id;
    CapSpace* owned_space = nullptr; // a "task": its space is cleared when it is released
    TestObject(ObjectType t, int i) : cap::Object(t), id(i) {}
};

// What the release hook saw: ids in order, and whether any count was nonzero at the time.
struct Releases {
    std::vector<int> ids;
    bool bad_count = false;
};

void record_release(cap::Object* o, void* context)
{
    auto* r = static_cast<Releases*>(context);
    auto* t = static_cast<TestObject*>(o);
    r->bad_count = r->bad_count || t->references != 0;
    r->ids.push_back(t->id);
    if (t->owned_space != nullptr)
        t->owned_space->clear(); // a dying task's capabilities go
}

bool unlinked_root(const Slot& s)
{
    return s.parent() == nullptr && s.next_sibling() == nullptr && s.prev_sibling() == nullptr;
}

// Empty, and linked to nothing.
bool gone(const Slot& s) { return s.empty() && unlinked_root(s) && s.first_child() == nullptr; }

bool holds(const Slot& s, const cap::Object* o, Rights r, uint64_t badge)
{
    return s.object() == o && s.rights() == r && s.badge() == badge;
}

size_t child_count(const Slot& s)
{
    size_t n = 0;
    for (const Slot* c = s.first_child(); c != nullptr; c = c->next_sibling())
        ++n;
    return n;
}

// Three spaces of 8 slots sharing one hook; (space, selector) pairs name slots.
struct Rig {
    Releases rel;
    std::array<std::array<Slot, 8>, 3> storage;
    std::array<std::unique_ptr<CapSpace>, 3> sp;
    explicit Rig(bool hook = true)
    {
        for (size_t i = 0; i < 3; ++i)
            sp[i] = std::make_unique<CapSpace>(storage[i].data(), 8, hook ? record_release : nullptr, &rel);
    }
    CapSpace& operator[](int i) { return *sp[static_cast<size_t>(i)]; }
    const Slot& at(int i, Selector s) const { return storage[static_cast<size_t>(i)][s]; }
    Error derive(int fs, Selector f, int ts, Selector t, Rights mask = kAll, uint64_t badge = 0)
    {
        return CapSpace::derive((*this)[fs], f, (*this)[ts], t, mask, badge);
    }
    Error move(int fs, Selector f, int ts, Selector t) { return CapSpace::move((*this)[fs], f, (*this)[ts], t); }
    // Builds a tree: each edge {from space, from sel, to space, to sel} with all rights.
    void build(std::initializer_list<std::array<int, 4>> edges)
    {
        for (const auto& e : edges)
            REQUIRE(derive(e[0], static_cast<Selector>(e[1]), e[2], static_cast<Selector>(e[3])) == Error::ok);
    }
};

} // namespace

TEST_CASE("cap space: the constructor empties the storage; slot() and selector_of()")
{
    Rig r;
    TestObject junk(ObjectType::task, 0);
    REQUIRE(r[0].insert_original(0, &junk, kAll) == Error::ok);
    CapSpace again(r.storage[0].data(), 4); // over used storage: emptied, not trusted
    REQUIRE(again.size() == 4);
    for (Selector s = 0; s < 4; ++s) {
        REQUIRE(again.slot(s) == &r.storage[0][s]);
        REQUIRE(gone(*again.slot(s)));
        REQUIRE(again.selector_of(&r.storage[0][s]) == s);
    }
    REQUIRE((again.slot(4) == nullptr && again.slot(kBad) == nullptr));
    REQUIRE(again.selector_of(&r.storage[0][4]) == 4); // outside its 4 slots
    REQUIRE(again.selector_of(r[1].slot(0)) == 4);
    REQUIRE(again.selector_of(nullptr) == 4);
}

TEST_CASE("cap space: insert_original success and errors")
{
    Rig r;
    TestObject ep(ObjectType::endpoint, 1), task(ObjectType::task, 2), none(ObjectType::none, 3),
        ntf(ObjectType::notification, 4);
    REQUIRE(r[0].insert_original(3, &ep, kSR, 77) == Error::ok);
    REQUIRE(holds(r.at(0, 3), &ep, kSR, 77));
    REQUIRE((unlinked_root(r.at(0, 3)) && r.at(0, 3).first_child() == nullptr));
    REQUIRE(ep.references == 1);

    REQUIRE(r[0].insert_original(8, &task, kAll) == Error::invalid_selector);
    REQUIRE(r[0].insert_original(kBad, &task, kAll) == Error::invalid_selector);
    REQUIRE(r[0].insert_original(3, &task, kAll) == Error::slot_occupied);
    REQUIRE(r[0].insert_original(0, nullptr, kAll) == Error::invalid_argument);
    REQUIRE(r[0].insert_original(0, &none, kAll) == Error::invalid_argument);
    REQUIRE(r[0].insert_original(0, &task, kAll, 5) == Error::invalid_argument);
    REQUIRE((task.references == 0 && gone(r.at(0, 0))));

    // Unknown rights bits are dropped; a second root for a live object is allowed.
    REQUIRE(r[0].insert_original(0, &task, 0xffff'ffffu) == Error::ok);
    REQUIRE(holds(r.at(0, 0), &task, kAll, 0));
    REQUIRE(r[0].insert_original(1, &task, rights::control) == Error::ok);
    REQUIRE((task.references == 2 && unlinked_root(r.at(0, 1))));
    // A notification takes a badge too; a count at its maximum refuses another capability.
    REQUIRE(r[0].insert_original(2, &ntf, rights::send, 9) == Error::ok);
    ntf.references = UINT32_MAX;
    REQUIRE(r[0].insert_original(4, &ntf, rights::send) == Error::out_of_memory);
    ntf.references = 1;
    REQUIRE(r.rel.ids.empty());
}

TEST_CASE("cap space: lookup errors and success; typed lookup")
{
    Rig r;
    TestObject ep(ObjectType::endpoint, 1), task(ObjectType::task, 2);
    REQUIRE(r[0].insert_original(2, &ep, rights::send | rights::grant) == Error::ok);
    auto finds = [&](Selector sel, ObjectType t, Rights need) {
        auto f = r[0].lookup(sel, t, need);
        return f.error == Error::ok && f.slot == &r.storage[0][sel];
    };
    REQUIRE(finds(2, ObjectType::endpoint, rights::send));
    REQUIRE(finds(2, ObjectType::endpoint, rights::send | rights::grant));
    REQUIRE(finds(2, ObjectType::endpoint, 0));
    REQUIRE(finds(2, ObjectType::none, rights::grant));
    auto fails = [&](Selector sel, ObjectType t, Rights need, Error want) {
        auto f = r[0].lookup(sel, t, need);
        return f.error == want && f.slot == nullptr;
    };
    REQUIRE(fails(8, ObjectType::endpoint, 0, Error::invalid_selector));
    REQUIRE(fails(kBad, ObjectType::none, 0, Error::invalid_selector));
    REQUIRE(fails(1, ObjectType::none, 0, Error::invalid_selector));
    REQUIRE(fails(2, ObjectType::thread, 0, Error::wrong_type));
    REQUIRE(fails(2, ObjectType::notification, rights::send, Error::wrong_type));
    REQUIRE(fails(2, ObjectType::endpoint, rights::receive, Error::missing_rights));
    REQUIRE(fails(2, ObjectType::endpoint, kSR, Error::missing_rights));
    REQUIRE(fails(2, ObjectType::none, rights::control, Error::missing_rights));

    // lookup<T>: the object as a T, or the same errors with nothing to cast.
    REQUIRE(r[0].insert_original(3, &task, rights::control) == Error::ok);
    auto typed = r[0].lookup<TestObject>(2, rights::send);
    REQUIRE((typed.error == Error::ok && typed.object == &ep && typed.slot == &r.storage[0][2]));
    auto other = r[0].lookup<TestObject>(3, 0); // a task is no TestObject (an "endpoint")
    REQUIRE((other.error == Error::wrong_type && other.object == nullptr && other.slot == nullptr));
    auto weak = r[0].lookup<TestObject>(2, rights::receive);
    REQUIRE((weak.error == Error::missing_rights && weak.object == nullptr));
    auto none = r[0].lookup<TestObject>(7, 0);
    REQUIRE((none.error == Error::invalid_selector && none.object == nullptr));
}

TEST_CASE("cap space: derive success, tree links and errors")
{
    Rig r;
    TestObject ep(ObjectType::endpoint, 1);
    REQUIRE(r[0].insert_original(0, &ep, kAll) == Error::ok);
    REQUIRE(r.derive(0, 0, 1, 5, rights::send | rights::grant) == Error::ok);
    REQUIRE(holds(r.at(1, 5), &ep, rights::send | rights::grant, 0));
    REQUIRE(r.at(1, 5).parent() == &r.at(0, 0));
    REQUIRE(r.at(0, 0).first_child() == &r.at(1, 5));
    REQUIRE(r.derive(0, 0, 0, 1) == Error::ok); // same space, second child
    REQUIRE(r.at(0, 1).parent() == &r.at(0, 0));
    REQUIRE(child_count(r.at(0, 0)) == 2);
    REQUIRE(r.at(1, 5).prev_sibling() == &r.at(0, 1));
    REQUIRE(ep.references == 3);

    REQUIRE(r.derive(0, 8, 1, 0) == Error::invalid_selector);
    REQUIRE(r.derive(0, 2, 1, 0) == Error::invalid_selector);
    REQUIRE(r.derive(0, 0, 1, 8) == Error::invalid_selector);
    REQUIRE(r.derive(0, 0, 1, kBad) == Error::invalid_selector);
    REQUIRE(r.derive(0, 0, 1, 5) == Error::slot_occupied);
    REQUIRE(r.derive(0, 0, 0, 0) == Error::slot_occupied);
    ep.references = UINT32_MAX;
    REQUIRE(r.derive(0, 0, 1, 0) == Error::out_of_memory);
    ep.references = 3;
    REQUIRE((gone(r.at(1, 0)) && child_count(r.at(0, 0)) == 2));
}

TEST_CASE("cap space: rights only shrink through a chain")
{
    Rig r;
    TestObject ep(ObjectType::endpoint, 1);
    constexpr Rights kSG = rights::send | rights::grant;
    REQUIRE(r[0].insert_original(0, &ep, kSR | rights::grant) == Error::ok);
    REQUIRE(r.derive(0, 0, 1, 0, kSG) == Error::ok);
    REQUIRE(r.at(1, 0).rights() == kSG);
    REQUIRE(r.derive(1, 0, 2, 0, kAll) == Error::ok); // asking for more gives nothing extra
    REQUIRE(r.at(2, 0).rights() == kSG);
    REQUIRE(r.derive(2, 0, 2, 1, kSR) == Error::ok);
    REQUIRE(r.at(2, 1).rights() == rights::send);
    REQUIRE(r[2].lookup(1, ObjectType::endpoint, rights::grant).error == Error::missing_rights);
    REQUIRE(r[2].lookup(1, ObjectType::endpoint, rights::receive).error == Error::missing_rights);
    REQUIRE(r.derive(2, 1, 2, 2, 0) == Error::ok);
    REQUIRE(r.derive(2, 2, 2, 3, kAll) == Error::ok);
    REQUIRE(r.at(2, 3).rights() == 0);
    REQUIRE(r[2].lookup(3, ObjectType::endpoint, 0).error == Error::ok);
}

TEST_CASE("cap space: badges are set once and only on IPC objects")
{
    Rig r;
    TestObject ep(ObjectType::endpoint, 1), ntf(ObjectType::notification, 2), task(ObjectType::task, 3);
    REQUIRE(r[0].insert_original(0, &ep, kAll) == Error::ok);
    REQUIRE(r[0].insert_original(1, &ntf, kAll) == Error::ok);
    REQUIRE(r[0].insert_original(2, &task, kAll) == Error::ok);
    REQUIRE(r[0].insert_original(3, &ep, kAll, 42) == Error::ok);
    // Mint from an unbadged source; badge 0 keeps the source's badge through any copies.
    REQUIRE(r.derive(0, 0, 1, 0, rights::send, 7) == Error::ok);
    REQUIRE(r.derive(0, 1, 1, 1, rights::send, ~uint64_t{0}) == Error::ok);
    REQUIRE(r.derive(1, 0, 1, 2) == Error::ok);
    REQUIRE(r.derive(1, 2, 1, 3) == Error::ok);
    REQUIRE(r.derive(0, 0, 1, 4) == Error::ok);
    REQUIRE(holds(r.at(1, 0), &ep, rights::send, 7));
    REQUIRE(holds(r.at(1, 1), &ntf, rights::send, ~uint64_t{0}));
    REQUIRE(holds(r.at(1, 3), &ep, rights::send, 7));
    REQUIRE(holds(r.at(1, 4), &ep, kAll, 0));
    // A badged source cannot be re-badged, not even to the same value; no badges on other types.
    REQUIRE(r.derive(1, 0, 1, 5, rights::send, 8) == Error::invalid_argument);
    REQUIRE(r.derive(1, 0, 1, 5, rights::send, 7) == Error::invalid_argument);
    REQUIRE(r.derive(0, 3, 1, 5, rights::send, 1) == Error::invalid_argument);
    REQUIRE(r.derive(0, 2, 1, 5, kAll, 1) == Error::invalid_argument);
    REQUIRE(gone(r.at(1, 5)));
    REQUIRE(r.derive(0, 2, 1, 5) == Error::ok);
    REQUIRE(holds(r.at(1, 5), &task, kAll, 0));
    REQUIRE(ep.references == 6);
}

TEST_CASE("cap space: move keeps the derivation tree")
{
    Rig r;
    TestObject ep(ObjectType::endpoint, 1);
    REQUIRE(r[0].insert_original(0, &ep, kAll) == Error::ok);
    REQUIRE(r.derive(0, 0, 1, 0, kSR, 5) == Error::ok);
    r.build({{0, 0, 0, 1}, {1, 0, 2, 0}, {1, 0, 2, 1}}); // 0:0 -> {0:1, 1:0 -> {2:0, 2:1}}

    // The middle node moves to another space: contents, parent, siblings, children follow.
    REQUIRE(r.move(1, 0, 2, 7) == Error::ok);
    REQUIRE(gone(r.at(1, 0)));
    const Slot& m = r.at(2, 7);
    REQUIRE(holds(m, &ep, kSR, 5));
    REQUIRE(m.parent() == &r.at(0, 0));
    REQUIRE((r.at(2, 0).parent() == &m && r.at(2, 1).parent() == &m && child_count(m) == 2));
    REQUIRE(r.at(0, 0).first_child() == &r.at(0, 1)); // the most recent child comes first
    REQUIRE((r.at(0, 1).next_sibling() == &m && m.prev_sibling() == &r.at(0, 1)));
    REQUIRE(ep.references == 5);
    // The root moves within its space, a leaf to a third space; the root still revokes all.
    REQUIRE(r.move(0, 0, 0, 5) == Error::ok);
    REQUIRE(unlinked_root(r.at(0, 5)));
    REQUIRE((m.parent() == &r.at(0, 5) && r.at(0, 1).parent() == &r.at(0, 5)));
    REQUIRE(r.at(0, 5).first_child() == &r.at(0, 1));
    REQUIRE(r.move(2, 1, 1, 3) == Error::ok);
    REQUIRE(r.at(1, 3).parent() == &m);
    REQUIRE(r[0].revoke(5) == Error::ok);
    REQUIRE((gone(m) && gone(r.at(0, 1)) && gone(r.at(2, 0)) && gone(r.at(1, 3))));
    REQUIRE((r.at(0, 5).first_child() == nullptr && ep.references == 1));

    REQUIRE(r.move(0, 8, 1, 0) == Error::invalid_selector);
    REQUIRE(r.move(0, 0, 1, 0) == Error::invalid_selector);
    REQUIRE(r.move(0, 5, 1, 8) == Error::invalid_selector);
    REQUIRE(r.move(0, 5, 0, 5) == Error::slot_occupied);
    REQUIRE(r[2].insert_original(2, &ep, kAll) == Error::ok);
    REQUIRE(r.move(0, 5, 2, 2) == Error::slot_occupied);
    REQUIRE(r.at(0, 5).object() == &ep);
    REQUIRE(r.rel.ids.empty());
}

TEST_CASE("cap space: revoke through a three-level chain across three spaces")
{
    Rig r;
    TestObject ep(ObjectType::endpoint, 1), other(ObjectType::endpoint, 2);
    // A (0:0) -> {A's other copy 0:1, B (1:0) -> {C 2:0, C 2:1, B's own copy 1:1 -> C 2:2}};
    // an unrelated object 0:4 -> 1:4 -> 2:4.
    REQUIRE(r[0].insert_original(0, &ep, kAll) == Error::ok);
    REQUIRE(r[0].insert_original(4, &other, kAll) == Error::ok);
    r.build({{0, 0, 1, 0},
             {0, 0, 0, 1},
             {1, 0, 2, 0},
             {1, 0, 2, 1},
             {1, 0, 1, 1},
             {1, 1, 2, 2},
             {0, 4, 1, 4},
             {1, 4, 2, 4}});
    REQUIRE(ep.references == 7);

    SECTION("B revokes: C loses all it got from B; B keeps its own; A and siblings stay")
    {
        REQUIRE(r[1].revoke(0) == Error::ok);
        REQUIRE(r.at(1, 0).object() == &ep);
        REQUIRE((r.at(1, 0).first_child() == nullptr && r.at(1, 0).parent() == &r.at(0, 0)));
        REQUIRE((gone(r.at(1, 1)) && gone(r.at(2, 0)) && gone(r.at(2, 1)) && gone(r.at(2, 2))));
        REQUIRE(r.at(0, 1).object() == &ep);
        REQUIRE(ep.references == 3);
    }
    SECTION("A revokes: everything derived from A goes, A stays")
    {
        REQUIRE(r[0].revoke(0) == Error::ok);
        REQUIRE((r.at(0, 0).object() == &ep && r.at(0, 0).first_child() == nullptr));
        for (Selector s = 0; s < 4; ++s)
            REQUIRE((gone(r.at(1, s)) && gone(r.at(2, s))));
        REQUIRE((gone(r.at(0, 1)) && ep.references == 1));
    }
    SECTION("a leaf revokes: nothing happens")
    {
        REQUIRE(r[2].revoke(0) == Error::ok);
        REQUIRE(ep.references == 7);
    }
    // The unrelated tree is untouched; revoke never releases anything.
    REQUIRE((other.references == 3 && r.at(2, 4).parent() == &r.at(1, 4)));
    REQUIRE(r.rel.ids.empty());
    REQUIRE(r[0].revoke(7) == Error::invalid_selector);
    REQUIRE(r[0].revoke(8) == Error::invalid_selector);
}

TEST_CASE("cap space: remove re-parents children so the root still revokes them")
{
    Rig r;
    TestObject ep(ObjectType::endpoint, 1);
    REQUIRE(r[0].insert_original(0, &ep, kAll) == Error::ok);
    r.build({{0, 0, 0, 1}, {0, 0, 1, 0}, {1, 0, 2, 0}, {2, 0, 2, 1}, {1, 0, 2, 2}});
    // 0:0 -> {0:1, 1:0 -> {2:0 -> 2:1, 2:2}}. The intermediary 1:0 deletes its copy.
    REQUIRE(r[1].remove(0) == Error::ok);
    REQUIRE(gone(r.at(1, 0)));
    REQUIRE((r.at(2, 0).parent() == &r.at(0, 0) && r.at(2, 2).parent() == &r.at(0, 0)));
    REQUIRE(r.at(2, 1).parent() == &r.at(2, 0));
    REQUIRE((child_count(r.at(0, 0)) == 3 && ep.references == 5));
    REQUIRE(r[2].remove(2) == Error::ok); // a leaf
    REQUIRE(child_count(r.at(0, 0)) == 2);
    REQUIRE(r[0].revoke(0) == Error::ok);
    REQUIRE((gone(r.at(2, 0)) && gone(r.at(2, 1)) && gone(r.at(0, 1))));
    REQUIRE((ep.references == 1 && r.rel.ids.empty()));

    // Removing a root makes each child a root of its own, without sibling links.
    r.build({{0, 0, 1, 1}, {0, 0, 1, 2}, {1, 1, 2, 3}});
    REQUIRE(r[0].remove(0) == Error::ok);
    REQUIRE((unlinked_root(r.at(1, 1)) && unlinked_root(r.at(1, 2))));
    REQUIRE(r.at(2, 3).parent() == &r.at(1, 1));
    REQUIRE(r[1].revoke(1) == Error::ok);
    REQUIRE((gone(r.at(2, 3)) && r.at(1, 2).object() == &ep));

    REQUIRE(r[0].remove(0) == Error::invalid_selector);
    REQUIRE(r[0].remove(8) == Error::invalid_selector);
    REQUIRE(r[0].remove(kBad) == Error::invalid_selector);
}

TEST_CASE("cap space: the release hook fires once per object, when its last capability goes")
{
    Rig r;
    TestObject ep(ObjectType::endpoint, 1), th(ObjectType::thread, 2), irq(ObjectType::irq, 3),
        fac(ObjectType::factory, 4);
    REQUIRE(r[0].insert_original(0, &ep, kAll) == Error::ok);
    REQUIRE(r[0].insert_original(1, &th, kAll) == Error::ok);
    REQUIRE(r[1].insert_original(2, &irq, kAll) == Error::ok);
    REQUIRE(r[1].insert_original(3, &fac, kAll) == Error::ok);
    r.build({{0, 0, 1, 0}, {1, 0, 1, 1}, {1, 2, 0, 2}, {1, 3, 2, 0}});

    REQUIRE(r[0].revoke(0) == Error::ok); // the revoker keeps its reference: no release
    REQUIRE(r.rel.ids.empty());
    REQUIRE(r[0].remove(0) == Error::ok);
    REQUIRE(r.rel.ids == std::vector<int>{1});
    REQUIRE(r.move(0, 1, 1, 5) == Error::ok); // moving does not count
    REQUIRE(th.references == 1);
    REQUIRE(r[1].remove(2) == Error::ok); // root first: the release comes with the copy
    REQUIRE(r.rel.ids.size() == 1);
    REQUIRE(r[0].remove(2) == Error::ok);
    REQUIRE(r.rel.ids == std::vector<int>{1, 3});
    // clear() removes the rest of space 1; the factory's copy in space 2 keeps it alive.
    r[1].clear();
    REQUIRE(r.rel.ids == std::vector<int>{1, 3, 2});
    REQUIRE(unlinked_root(r.at(2, 0)));
    r[1].clear(); // idempotent
    r[2].clear();
    REQUIRE(r.rel.ids == std::vector<int>{1, 3, 2, 4});
    REQUIRE_FALSE(r.rel.bad_count);
    for (int i = 0; i < 3; ++i)
        for (Selector s = 0; s < 8; ++s)
            REQUIRE(gone(r.at(i, s)));

    Rig quiet(false); // no hook: counts still drop
    REQUIRE(quiet[0].insert_original(0, &ep, kAll) == Error::ok);
    REQUIRE(quiet[0].remove(0) == Error::ok);
    REQUIRE(ep.references == 0);
}

TEST_CASE("cap space: a release hook may clear another space (a dying task)")
{
    Rig r;
    TestObject task(ObjectType::task, 1), ep(ObjectType::endpoint, 2), ntf(ObjectType::notification, 3);
    task.owned_space = &r[1];
    // Space 0 holds the only capability to the task owning space 1; space 1 holds copies of
    // 0's endpoint (one with a grandchild back in 0) and the only capability to a notification.
    REQUIRE(r[0].insert_original(0, &task, rights::control) == Error::ok);
    REQUIRE(r[0].insert_original(1, &ep, kAll) == Error::ok);
    REQUIRE(r[1].insert_original(1, &ntf, kAll) == Error::ok);
    r.build({{0, 1, 1, 0}, {1, 0, 0, 2}, {1, 0, 1, 3}});
    REQUIRE(r[0].remove(0) == Error::ok);
    REQUIRE(r.rel.ids == std::vector<int>{1, 3});
    for (Selector s = 0; s < 8; ++s)
        REQUIRE(gone(r.at(1, s)));
    REQUIRE((r.at(0, 2).parent() == &r.at(0, 1) && ep.references == 2));
    REQUIRE(r[0].revoke(1) == Error::ok);
    REQUIRE((gone(r.at(0, 2)) && !r.rel.bad_count));
}

TEST_CASE("cap space: deep chains revoke and remove without deep recursion")
{
    constexpr size_t kDepth = 200000;
    auto storage = std::make_unique<Slot[]>(kDepth);
    Releases rel;
    CapSpace cs(storage.get(), kDepth, record_release, &rel);
    TestObject ep(ObjectType::endpoint, 1);
    REQUIRE(cs.insert_original(0, &ep, kAll) == Error::ok);
    bool all_ok = true;
    for (Selector s = 1; s < kDepth; ++s)
        all_ok = all_ok && CapSpace::derive(cs, s - 1, cs, s, kAll) == Error::ok;
    REQUIRE((all_ok && ep.references == kDepth));
    REQUIRE(cs.remove(kDepth / 2) == Error::ok);
    REQUIRE(storage[kDepth / 2 + 1].parent() == &storage[kDepth / 2 - 1]);
    REQUIRE(cs.revoke(1) == Error::ok);
    REQUIRE((ep.references == 2 && storage[1].first_child() == nullptr));
    cs.clear();
    REQUIRE(rel.ids == std::vector<int>{1});
}

// ---- Randomized run against a model -----------------------------------------------------------

namespace {

constexpr int kSpaces = 4;
constexpr Selector kSlots = 32;
using Key = std::pair<int, Selector>; // (space, selector)

// The rules of cap_space.hpp restated as plainly as possible: a map of capabilities, each
// naming its parent by key. Objects are indices into the vectors.
struct Model {
    struct Cap {
        size_t object;
        Rights rights;
        uint64_t badge;
        std::optional<Key> parent;
    };
    std::map<Key, Cap> caps; // occupied slots only
    std::vector<ObjectType> types;
    std::vector<uint32_t> refs;
    std::vector<bool> released;

    bool has(Key k) const { return caps.count(k) != 0; }
    static bool valid(Key k) { return k.second < kSlots; }
    void drop(size_t o) { released[o] = released[o] || --refs[o] == 0; }

    Error insert(Key k, std::optional<size_t> o, Rights r, uint64_t badge)
    {
        if (!valid(k))
            return Error::invalid_selector;
        if (has(k))
            return Error::slot_occupied;
        if (!o || (badge != 0 && !cap::takes_badge(types[*o])))
            return Error::invalid_argument;
        caps[k] = {*o, r & kAll, badge, std::nullopt};
        ++refs[*o];
        return Error::ok;
    }
    Error lookup(Key k, ObjectType t, Rights need) const
    {
        if (!has(k))
            return Error::invalid_selector;
        const Cap& c = caps.at(k);
        if (t != ObjectType::none && types[c.object] != t)
            return Error::wrong_type;
        return (c.rights & need) == need ? Error::ok : Error::missing_rights;
    }
    Error derive(Key from, Key to, Rights mask, uint64_t badge)
    {
        if (!has(from) || !valid(to))
            return Error::invalid_selector;
        if (has(to))
            return Error::slot_occupied;
        const Cap src = caps[from];
        if (badge != 0 && (src.badge != 0 || !cap::takes_badge(types[src.object])))
            return Error::invalid_argument;
        caps[to] = {src.object, src.rights & mask, badge != 0 ? badge : src.badge, from};
        ++refs[src.object];
        return Error::ok;
    }
    Error move(Key from, Key to)
    {
        if (!has(from) || !valid(to))
            return Error::invalid_selector;
        if (has(to))
            return Error::slot_occupied;
        caps[to] = caps[from];
        caps.erase(from);
        for (auto& [key, c] : caps)
            if (c.parent == from)
                c.parent = to;
        return Error::ok;
    }
    Error remove(Key k)
    {
        if (!has(k))
            return Error::invalid_selector;
        const Cap c = caps[k];
        caps.erase(k);
        for (auto& [key, other] : caps)
            if (other.parent == k)
                other.parent = c.parent;
        drop(c.object);
        return Error::ok;
    }
    bool descends(Key k, Key ancestor) const
    {
        for (auto p = caps.at(k).parent; p; p = caps.at(*p).parent)
            if (*p == ancestor)
                return true;
        return false;
    }
    Error revoke(Key k)
    {
        if (!has(k))
            return Error::invalid_selector;
        std::vector<Key> doomed;
        for (const auto& [key, c] : caps)
            if (descends(key, k))
                doomed.push_back(key);
        for (Key d : doomed) {
            drop(caps[d].object);
            caps.erase(d);
        }
        return Error::ok;
    }
    void clear(int space)
    {
        for (Selector s = 0; s < kSlots; ++s)
            (void)remove({space, s});
    }
};

struct World {
    Releases rel;
    std::array<std::array<Slot, kSlots>, kSpaces> storage;
    std::vector<std::unique_ptr<CapSpace>> spaces;
    std::vector<std::unique_ptr<TestObject>> objects; // index == id
    World()
    {
        for (auto& st : storage)
            spaces.push_back(std::make_unique<CapSpace>(st.data(), kSlots, record_release, &rel));
    }
    CapSpace& operator[](Key k) { return *spaces[static_cast<size_t>(k.first)]; }
    std::optional<Key> key_of(const Slot* s) const
    {
        if (s == nullptr)
            return std::nullopt;
        for (int i = 0; i < kSpaces; ++i)
            if (Selector sel = spaces[static_cast<size_t>(i)]->selector_of(s); sel < kSlots)
                return Key{i, sel};
        return Key{-1, 0}; // points outside every space: never matches
    }
};

// Empty when the kernel's state equals the model's; otherwise what differs.
std::string compare(const World& w, const Model& m)
{
    std::ostringstream out;
    std::map<Key, std::set<Key>> children;
    for (const auto& [key, c] : m.caps)
        if (c.parent)
            children[*c.parent].insert(key);
    for (int i = 0; i < kSpaces; ++i)
        for (Selector s = 0; s < kSlots; ++s) {
            const Key k{i, s};
            const Slot& slot = w.storage[static_cast<size_t>(i)][s];
            const std::string at = "slot " + std::to_string(i) + ":" + std::to_string(s);
            auto it = m.caps.find(k);
            if (it == m.caps.end()) {
                if (!slot.empty() || !unlinked_root(slot) || slot.first_child() || slot.badge() || slot.rights())
                    out << at << " should be empty and unlinked\n";
                continue;
            }
            const Model::Cap& c = it->second;
            const auto* o = static_cast<const TestObject*>(slot.object());
            if (o == nullptr || static_cast<size_t>(o->id) != c.object)
                out << at << " object differs\n";
            if (slot.rights() != c.rights || slot.badge() != c.badge)
                out << at << " rights or badge differ\n";
            if (w.key_of(slot.parent()) != c.parent)
                out << at << " parent differs\n";
            if (!slot.parent() && !unlinked_root(slot))
                out << at << " is a root with siblings\n";
            std::set<Key> got; // each child links back, and prev links match next links
            const Slot* prev = nullptr;
            for (const Slot* ch = slot.first_child(); ch && got.size() <= kSpaces * kSlots;
                 prev = ch, ch = ch->next_sibling()) {
                if (ch->parent() != &slot || ch->prev_sibling() != prev)
                    out << at << " child links broken\n";
                got.insert(*w.key_of(ch));
            }
            if (got != children[k])
                out << at << " children differ\n";
        }
    for (size_t o = 0; o < w.objects.size(); ++o)
        if (w.objects[o]->references != m.refs[o])
            out << "object " << o << " references\n";
    std::vector<bool> released(m.released.size(), false);
    for (int id : w.rel.ids) {
        if (released[static_cast<size_t>(id)])
            out << "object " << id << " released twice\n";
        released[static_cast<size_t>(id)] = true;
    }
    if (released != m.released || w.rel.bad_count)
        out << "releases differ\n";
    return out.str();
}

} // namespace

TEST_CASE("cap space: randomized operations match a model")
{
    constexpr std::array<ObjectType, 8> kTypes = {ObjectType::task,         ObjectType::thread,  ObjectType::endpoint,
                                                  ObjectType::notification, ObjectType::irq,     ObjectType::factory,
                                                  ObjectType::reply,        ObjectType::io_ports};
    World w;
    Model m;
    XorShift rng{0x9e3779b97f4a7c15u};
    std::array<std::optional<size_t>, 16> handle{}; // the ~16 objects in play
    std::map<std::string, int> successes;
    size_t max_depth = 0;

    // A few selectors past the end, to hit invalid_selector.
    auto any_key = [&] { return Key{static_cast<int>(rng.below(kSpaces)), rng.below(kSlots + 2)}; };
    // Mostly an occupied slot, so that operations on capabilities usually get past the checks.
    auto used_key = [&] {
        if (m.caps.empty() || rng.chance(15))
            return any_key();
        return std::next(m.caps.begin(), static_cast<long>(rng.below(m.caps.size())))->first;
    };
    auto any_rights = [&] { return rng.chance(10) ? 0xffff'ffffu : static_cast<Rights>(rng.below(16)); };
    auto any_badge = [&]() -> uint64_t { return rng.chance(60) ? 0 : 1 + rng.below(4); };

    for (int step = 0; step < 30000; ++step) {
        const uint64_t op = rng.below(100);
        std::string name;
        Error got{}, want{};
        if (op < 14) {
            name = "insert";
            const Key k = any_key();
            auto& h = handle[rng.below(handle.size())];
            // A dead object's handle gets a fresh object; a live one gets a second root.
            if (!h || m.released[*h]) {
                const ObjectType t = kTypes[rng.below(kTypes.size())];
                h = m.types.size();
                m.types.push_back(t);
                m.refs.push_back(0);
                m.released.push_back(false);
                w.objects.push_back(std::make_unique<TestObject>(t, static_cast<int>(*h)));
            }
            const auto o = rng.chance(3) ? std::nullopt : h;
            const Rights r = any_rights();
            const uint64_t b = any_badge();
            want = m.insert(k, o, r, b);
            got = w[k].insert_original(k.second, o ? w.objects[*o].get() : nullptr, r, b);
        } else if (op < 44) {
            name = "derive";
            const Key from = used_key(), to = any_key();
            const Rights mask = any_rights();
            const uint64_t b = any_badge();
            want = m.derive(from, to, mask, b);
            got = CapSpace::derive(w[from], from.second, w[to], to.second, mask, b);
        } else if (op < 54) {
            name = "move";
            const Key from = used_key(), to = rng.chance(5) ? from : any_key();
            want = m.move(from, to);
            got = CapSpace::move(w[from], from.second, w[to], to.second);
        } else if (op < 68) {
            name = "remove";
            const Key k = used_key();
            want = m.remove(k);
            got = w[k].remove(k.second);
        } else if (op < 76) {
            name = "revoke";
            const Key k = used_key();
            want = m.revoke(k);
            got = w[k].revoke(k.second);
        } else if (op < 99) {
            name = "lookup";
            const Key k = used_key();
            // Half the time ask for what the capability has, so that lookups also succeed.
            const bool fit = m.has(k) && rng.chance(50);
            const ObjectType t = rng.chance(25) ? ObjectType::none
                                 : fit          ? m.types[m.caps[k].object]
                                                : kTypes[rng.below(kTypes.size())];
            const Rights need = static_cast<Rights>(rng.below(16)) & (fit ? m.caps[k].rights : kAll);
            want = m.lookup(k, t, need);
            const CapSpace::Lookup r = w[k].lookup(k.second, t, need);
            got = r.error;
            if (r.slot != (r.error == Error::ok ? w[k].slot(k.second) : nullptr))
                got = Error::busy; // a wrong slot pointer shows up as a mismatch
        } else {
            name = "clear";
            const Key k = any_key();
            m.clear(k.first);
            w[k].clear();
            want = got = Error::ok;
        }
        successes[name] += got == Error::ok;
        for (const auto& [key, c] : m.caps) {
            size_t depth = 0;
            for (auto p = c.parent; p; p = m.caps.at(*p).parent)
                ++depth;
            max_depth = std::max(max_depth, depth);
        }
        const std::string diff = compare(w, m);
        if (got != want || !diff.empty()) {
            INFO("step " << step << " " << name << ": got " << static_cast<uint64_t>(got) << ", want "
                         << static_cast<uint64_t>(want) << "\n"
                         << diff);
            REQUIRE(got == want);
            REQUIRE(diff.empty());
        }
    }
    // The run must exercise every operation, deep trees and releases, not just fail checks.
    for (const auto& [op, n] : successes) {
        INFO(op << ": " << n << " successes");
        CHECK(n >= (op == "clear" ? 100 : 500));
    }
    CHECK(successes.size() == 7);
    CHECK(max_depth >= 5);
    CHECK(std::count(m.released.begin(), m.released.end(), true) >= 200);
}
