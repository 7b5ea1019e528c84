// Host tests of cap::CapSpace: every operation and error, the derivation tree, and a long
// randomized run checked step by step against a std::map model.
#include <catch2/catch.hpp>

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

struct TestObject : cap::Object {
    static constexpr ObjectType kType = ObjectType::endpoint;   // for object_cast tests
    int id;
    CapSpace* owned_space = nullptr;   // a "task": its space is cleared when it is released
    TestObject(ObjectType t, int i) : cap::Object(t), id(i) {}
};

// What the release hook saw: ids in order, and whether any count was nonzero at the time.
struct Releases {
    std::vector<int> ids;
    bool bad_count = false;
};

void record_release(cap::Object* o, void* context) {
    auto* r = static_cast<Releases*>(context);
    auto* t = static_cast<TestObject*>(o);
    if (t->references != 0) r->bad_count = true;
    r->ids.push_back(t->id);
    // A dying task takes its capabilities with it, as the kernel will do.
    if (t->owned_space != nullptr) t->owned_space->clear();
}

template <size_t N>
struct Space {
    std::array<Slot, N> storage;
    CapSpace cs;
    explicit Space(Releases* r = nullptr)
        : cs(storage.data(), N, r != nullptr ? record_release : nullptr, r) {}
    const Slot& at(Selector s) const { return storage[s]; }
};

using Small = Space<8>;

bool is_root_without_links(const Slot& s) {
    return s.parent() == nullptr && s.next_sibling() == nullptr && s.prev_sibling() == nullptr;
}

size_t child_count(const Slot& s) {
    size_t n = 0;
    for (const Slot* c = s.first_child(); c != nullptr; c = c->next_sibling()) ++n;
    return n;
}

} // namespace

TEST_CASE("cap space: the constructor empties the storage; slot() and selector_of()") {
    std::array<Slot, 4> storage;
    TestObject junk(ObjectType::task, 0);
    Small other;
    REQUIRE(other.cs.insert_original(0, &junk, rights::all) == Error::ok);
    CapSpace cs(storage.data(), storage.size());
    REQUIRE(cs.size() == 4);
    for (Selector s = 0; s < 4; ++s) {
        REQUIRE(cs.slot(s) == &storage[s]);
        REQUIRE(cs.slot(s)->empty());
        REQUIRE(cs.slot(s)->object() == nullptr);
        REQUIRE(cs.selector_of(&storage[s]) == s);
    }
    REQUIRE(cs.slot(4) == nullptr);
    REQUIRE(cs.slot(~Selector{0}) == nullptr);
    REQUIRE(cs.selector_of(other.cs.slot(0)) == cs.size());
    REQUIRE(cs.selector_of(nullptr) == cs.size());
}

TEST_CASE("cap space: insert_original success and errors") {
    Releases rel;
    Small sp(&rel);
    TestObject ep(ObjectType::endpoint, 1), task(ObjectType::task, 2), none(ObjectType::none, 3);

    REQUIRE(sp.cs.insert_original(3, &ep, rights::send | rights::receive, 77) == Error::ok);
    REQUIRE(sp.at(3).object() == &ep);
    REQUIRE(sp.at(3).rights() == (rights::send | rights::receive));
    REQUIRE(sp.at(3).badge() == 77);
    REQUIRE(is_root_without_links(sp.at(3)));
    REQUIRE(sp.at(3).first_child() == nullptr);
    REQUIRE(ep.references == 1);

    REQUIRE(sp.cs.insert_original(8, &task, rights::all) == Error::invalid_selector);
    REQUIRE(sp.cs.insert_original(~Selector{0}, &task, rights::all) == Error::invalid_selector);
    REQUIRE(sp.cs.insert_original(3, &task, rights::all) == Error::slot_occupied);
    REQUIRE(sp.cs.insert_original(0, nullptr, rights::all) == Error::invalid_argument);
    REQUIRE(sp.cs.insert_original(0, &none, rights::all) == Error::invalid_argument);
    REQUIRE(sp.cs.insert_original(0, &task, rights::all, 5) == Error::invalid_argument);
    REQUIRE(task.references == 0);
    REQUIRE(sp.at(0).empty());

    // Unknown rights bits are dropped; a second root for a live object is allowed.
    REQUIRE(sp.cs.insert_original(0, &task, 0xffff'ffffu) == Error::ok);
    REQUIRE(sp.at(0).rights() == rights::all);
    REQUIRE(sp.cs.insert_original(1, &task, rights::control) == Error::ok);
    REQUIRE(task.references == 2);
    REQUIRE(is_root_without_links(sp.at(1)));

    // A notification takes a badge too; a reference count at its maximum refuses another.
    TestObject ntf(ObjectType::notification, 4);
    REQUIRE(sp.cs.insert_original(2, &ntf, rights::send, 9) == Error::ok);
    ntf.references = UINT32_MAX;
    REQUIRE(sp.cs.insert_original(4, &ntf, rights::send) == Error::out_of_memory);
    ntf.references = 1;
    REQUIRE(rel.ids.empty());
}

TEST_CASE("cap space: lookup errors and success") {
    Small sp;
    TestObject ep(ObjectType::endpoint, 1);
    REQUIRE(sp.cs.insert_original(2, &ep, rights::send | rights::grant) == Error::ok);

    auto r = sp.cs.lookup(2, ObjectType::endpoint, rights::send);
    REQUIRE(r.error == Error::ok);
    REQUIRE(r.slot == &sp.storage[2]);
    REQUIRE(sp.cs.lookup(2, ObjectType::endpoint, rights::send | rights::grant).error == Error::ok);
    REQUIRE(sp.cs.lookup(2, ObjectType::endpoint, 0).error == Error::ok);
    REQUIRE(sp.cs.lookup(2, ObjectType::none, rights::grant).slot == &sp.storage[2]);

    auto check = [&](Selector sel, ObjectType t, Rights need, Error want) {
        auto res = sp.cs.lookup(sel, t, need);
        REQUIRE(res.error == want);
        REQUIRE(res.slot == nullptr);
    };
    check(8, ObjectType::endpoint, 0, Error::invalid_selector);
    check(~Selector{0}, ObjectType::none, 0, Error::invalid_selector);
    check(1, ObjectType::none, 0, Error::invalid_selector);
    check(2, ObjectType::thread, 0, Error::wrong_type);
    check(2, ObjectType::notification, rights::send, Error::wrong_type);
    check(2, ObjectType::endpoint, rights::receive, Error::missing_rights);
    check(2, ObjectType::endpoint, rights::send | rights::receive, Error::missing_rights);
    check(2, ObjectType::none, rights::control, Error::missing_rights);
}

TEST_CASE("cap space: object_cast checks the type tag") {
    TestObject ep(ObjectType::endpoint, 1), task(ObjectType::task, 2);
    REQUIRE(cap::object_cast<TestObject>(&ep) == &ep);
    REQUIRE(cap::object_cast<TestObject>(&task) == nullptr);
    REQUIRE(cap::object_cast<TestObject>(nullptr) == nullptr);
    REQUIRE(cap::takes_badge(ObjectType::endpoint));
    REQUIRE(cap::takes_badge(ObjectType::notification));
    REQUIRE_FALSE(cap::takes_badge(ObjectType::task));
    REQUIRE_FALSE(cap::takes_badge(ObjectType::reply));
}

TEST_CASE("cap space: derive success, tree links and errors") {
    Small a, b;
    TestObject ep(ObjectType::endpoint, 1);
    REQUIRE(a.cs.insert_original(0, &ep, rights::all) == Error::ok);

    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 5, rights::send | rights::grant) == Error::ok);
    REQUIRE(b.at(5).object() == &ep);
    REQUIRE(b.at(5).rights() == (rights::send | rights::grant));
    REQUIRE(b.at(5).badge() == 0);
    REQUIRE(b.at(5).parent() == &a.at(0));
    REQUIRE(a.at(0).first_child() == &b.at(5));
    REQUIRE(ep.references == 2);

    // Within the same space, and a second child of the same source.
    REQUIRE(CapSpace::derive(a.cs, 0, a.cs, 1, rights::all) == Error::ok);
    REQUIRE(a.at(1).parent() == &a.at(0));
    REQUIRE(child_count(a.at(0)) == 2);
    REQUIRE(a.at(0).first_child()->next_sibling()->prev_sibling() == a.at(0).first_child());
    REQUIRE(ep.references == 3);

    REQUIRE(CapSpace::derive(a.cs, 8, b.cs, 0, rights::all) == Error::invalid_selector);
    REQUIRE(CapSpace::derive(a.cs, 2, b.cs, 0, rights::all) == Error::invalid_selector);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 8, rights::all) == Error::invalid_selector);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, ~Selector{0}, rights::all) == Error::invalid_selector);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 5, rights::all) == Error::slot_occupied);
    REQUIRE(CapSpace::derive(a.cs, 0, a.cs, 0, rights::all) == Error::slot_occupied);
    ep.references = UINT32_MAX;
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 0, rights::all) == Error::out_of_memory);
    ep.references = 3;
    REQUIRE(b.at(0).empty());
    REQUIRE(child_count(a.at(0)) == 2);
}

TEST_CASE("cap space: rights only shrink through a chain") {
    Small a, b, c, d;
    TestObject ep(ObjectType::endpoint, 1);
    REQUIRE(a.cs.insert_original(0, &ep, rights::send | rights::receive | rights::grant) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 0, rights::send | rights::grant) == Error::ok);
    REQUIRE(b.at(0).rights() == (rights::send | rights::grant));
    // Asking for more than the source has (receive, control) gives nothing extra.
    REQUIRE(CapSpace::derive(b.cs, 0, c.cs, 0, rights::all) == Error::ok);
    REQUIRE(c.at(0).rights() == (rights::send | rights::grant));
    REQUIRE(CapSpace::derive(c.cs, 0, d.cs, 0, rights::receive | rights::send) == Error::ok);
    REQUIRE(d.at(0).rights() == rights::send);
    REQUIRE(d.cs.lookup(0, ObjectType::endpoint, rights::grant).error == Error::missing_rights);
    REQUIRE(d.cs.lookup(0, ObjectType::endpoint, rights::receive).error == Error::missing_rights);
    REQUIRE(CapSpace::derive(d.cs, 0, d.cs, 1, 0) == Error::ok);
    REQUIRE(d.at(1).rights() == 0);
    REQUIRE(CapSpace::derive(d.cs, 1, d.cs, 2, rights::all) == Error::ok);
    REQUIRE(d.at(2).rights() == 0);
    REQUIRE(d.cs.lookup(2, ObjectType::endpoint, 0).error == Error::ok);
}

TEST_CASE("cap space: badges are set once and only on IPC objects") {
    Small a, b;
    TestObject ep(ObjectType::endpoint, 1), ntf(ObjectType::notification, 2),
        task(ObjectType::task, 3);
    REQUIRE(a.cs.insert_original(0, &ep, rights::all) == Error::ok);
    REQUIRE(a.cs.insert_original(1, &ntf, rights::all) == Error::ok);
    REQUIRE(a.cs.insert_original(2, &task, rights::all) == Error::ok);
    REQUIRE(a.cs.insert_original(3, &ep, rights::all, 42) == Error::ok);

    // Mint from an unbadged source.
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 0, rights::send, 7) == Error::ok);
    REQUIRE(b.at(0).badge() == 7);
    REQUIRE(CapSpace::derive(a.cs, 1, b.cs, 1, rights::send, ~uint64_t{0}) == Error::ok);
    REQUIRE(b.at(1).badge() == ~uint64_t{0});
    // Badge 0 keeps the source's badge, through any number of copies.
    REQUIRE(CapSpace::derive(b.cs, 0, b.cs, 2, rights::all) == Error::ok);
    REQUIRE(b.at(2).badge() == 7);
    REQUIRE(CapSpace::derive(b.cs, 2, b.cs, 3, rights::all) == Error::ok);
    REQUIRE(b.at(3).badge() == 7);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 4, rights::all) == Error::ok);
    REQUIRE(b.at(4).badge() == 0);
    // A badged source cannot be re-badged, not even to the same value.
    REQUIRE(CapSpace::derive(b.cs, 0, b.cs, 5, rights::send, 8) == Error::invalid_argument);
    REQUIRE(CapSpace::derive(b.cs, 0, b.cs, 5, rights::send, 7) == Error::invalid_argument);
    REQUIRE(CapSpace::derive(a.cs, 3, b.cs, 5, rights::send, 1) == Error::invalid_argument);
    // No badges on other objects.
    REQUIRE(CapSpace::derive(a.cs, 2, b.cs, 5, rights::all, 1) == Error::invalid_argument);
    REQUIRE(CapSpace::derive(a.cs, 2, b.cs, 5, rights::all) == Error::ok);
    REQUIRE(b.at(5).badge() == 0);
    REQUIRE(ep.references == 6);
}

TEST_CASE("cap space: move keeps the derivation tree") {
    Releases rel;
    Small a(&rel), b(&rel), c(&rel);
    TestObject ep(ObjectType::endpoint, 1);
    // a0 -> b0 -> {c0, c1}, a0 -> a1
    REQUIRE(a.cs.insert_original(0, &ep, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 0, a.cs, 1, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 0, rights::send | rights::receive, 5) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 0, c.cs, 0, rights::send) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 0, c.cs, 1, rights::receive) == Error::ok);

    // Move the middle node to another space: contents, parent, siblings and children follow.
    REQUIRE(CapSpace::move(b.cs, 0, c.cs, 7) == Error::ok);
    REQUIRE(b.at(0).empty());
    REQUIRE(b.at(0).parent() == nullptr);
    REQUIRE(b.at(0).first_child() == nullptr);
    const Slot& m = c.at(7);
    REQUIRE(m.object() == &ep);
    REQUIRE(m.rights() == (rights::send | rights::receive));
    REQUIRE(m.badge() == 5);
    REQUIRE(m.parent() == &a.at(0));
    REQUIRE(c.at(0).parent() == &m);
    REQUIRE(c.at(1).parent() == &m);
    REQUIRE(child_count(m) == 2);
    REQUIRE(child_count(a.at(0)) == 2);
    bool found = false;
    for (const Slot* s = a.at(0).first_child(); s != nullptr; s = s->next_sibling())
        found = found || s == &m;
    REQUIRE(found);
    REQUIRE(ep.references == 5);

    // Move the root within its space, and a leaf.
    REQUIRE(CapSpace::move(a.cs, 0, a.cs, 5) == Error::ok);
    REQUIRE(is_root_without_links(a.at(5)));
    REQUIRE(m.parent() == &a.at(5));
    REQUIRE(a.at(1).parent() == &a.at(5));
    REQUIRE(CapSpace::move(c.cs, 1, b.cs, 3) == Error::ok);
    REQUIRE(b.at(3).parent() == &m);

    // The moved root still revokes everything.
    REQUIRE(a.cs.revoke(5) == Error::ok);
    REQUIRE(m.empty());
    REQUIRE(a.at(1).empty());
    REQUIRE(c.at(0).empty());
    REQUIRE(b.at(3).empty());
    REQUIRE(a.at(5).first_child() == nullptr);
    REQUIRE(ep.references == 1);

    // Errors.
    REQUIRE(CapSpace::move(a.cs, 8, b.cs, 0) == Error::invalid_selector);
    REQUIRE(CapSpace::move(a.cs, 0, b.cs, 0) == Error::invalid_selector);
    REQUIRE(CapSpace::move(a.cs, 5, b.cs, 8) == Error::invalid_selector);
    REQUIRE(CapSpace::move(a.cs, 5, a.cs, 5) == Error::slot_occupied);
    REQUIRE(c.cs.insert_original(2, &ep, rights::all) == Error::ok);
    REQUIRE(CapSpace::move(a.cs, 5, c.cs, 2) == Error::slot_occupied);
    REQUIRE(a.at(5).object() == &ep);
    REQUIRE(rel.ids.empty());
}

TEST_CASE("cap space: revoke through a three-level chain across three spaces") {
    Releases rel;
    Small a(&rel), b(&rel), c(&rel);
    TestObject ep(ObjectType::endpoint, 1), other(ObjectType::endpoint, 2);
    // A (a0) -> B (b0) -> C (c0, c1); B also keeps its own second copy b1 -> c2.
    // Sibling of B: a1 (a copy A gave elsewhere), and an unrelated object in all spaces.
    REQUIRE(a.cs.insert_original(0, &ep, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 0, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 0, a.cs, 1, rights::send) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 0, c.cs, 0, rights::send) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 0, c.cs, 1, rights::send, 3) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 0, b.cs, 1, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 1, c.cs, 2, rights::all) == Error::ok);
    REQUIRE(a.cs.insert_original(4, &other, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 4, b.cs, 4, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 4, c.cs, 4, rights::all) == Error::ok);
    REQUIRE(ep.references == 7);

    SECTION("B revokes: C loses everything from B, B keeps b0, A and the sibling are untouched") {
        REQUIRE(b.cs.revoke(0) == Error::ok);
        REQUIRE(b.at(0).object() == &ep);
        REQUIRE(b.at(0).first_child() == nullptr);
        REQUIRE(b.at(0).parent() == &a.at(0));
        REQUIRE(b.at(1).empty());
        REQUIRE(c.at(0).empty());
        REQUIRE(c.at(1).empty());
        REQUIRE(c.at(2).empty());
        REQUIRE(a.at(1).object() == &ep);
        REQUIRE(ep.references == 3);
    }
    SECTION("A revokes: everything derived from a0 goes, a0 stays") {
        REQUIRE(a.cs.revoke(0) == Error::ok);
        REQUIRE(a.at(0).object() == &ep);
        REQUIRE(a.at(0).first_child() == nullptr);
        for (Selector s = 0; s < 4; ++s) {
            REQUIRE(b.at(s).empty());
            REQUIRE(c.at(s).empty());
        }
        REQUIRE(a.at(1).empty());
        REQUIRE(ep.references == 1);
    }
    SECTION("a leaf revokes: nothing happens") {
        REQUIRE(c.cs.revoke(0) == Error::ok);
        REQUIRE(ep.references == 7);
        REQUIRE(c.at(0).object() == &ep);
    }
    // The unrelated object never moved; revoke never releases anything.
    REQUIRE(other.references == 3);
    REQUIRE(b.at(4).parent() == &a.at(4));
    REQUIRE(c.at(4).parent() == &b.at(4));
    REQUIRE(rel.ids.empty());
    REQUIRE(a.cs.revoke(7) == Error::invalid_selector);
    REQUIRE(a.cs.revoke(8) == Error::invalid_selector);
}

TEST_CASE("cap space: remove re-parents children so the root still revokes them") {
    Releases rel;
    Small a(&rel), b(&rel), c(&rel);
    TestObject ep(ObjectType::endpoint, 1);
    // a0 -> a1 (sibling) ; a0 -> b0 -> {c0 -> c1, c2}
    REQUIRE(a.cs.insert_original(0, &ep, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 0, a.cs, 1, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 0, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 0, c.cs, 0, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(c.cs, 0, c.cs, 1, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 0, c.cs, 2, rights::all) == Error::ok);

    // The intermediary deletes its copy: its children now hang off a0, next to a1.
    REQUIRE(b.cs.remove(0) == Error::ok);
    REQUIRE(b.at(0).empty());
    REQUIRE(b.at(0).first_child() == nullptr);
    REQUIRE(c.at(0).parent() == &a.at(0));
    REQUIRE(c.at(2).parent() == &a.at(0));
    REQUIRE(c.at(1).parent() == &c.at(0));
    REQUIRE(child_count(a.at(0)) == 3);
    REQUIRE(ep.references == 5);

    // Remove a leaf and a first child, then the root's revoke still reaches the rest.
    REQUIRE(c.cs.remove(2) == Error::ok);
    REQUIRE(child_count(a.at(0)) == 2);
    REQUIRE(a.cs.revoke(0) == Error::ok);
    REQUIRE(c.at(0).empty());
    REQUIRE(c.at(1).empty());
    REQUIRE(a.at(1).empty());
    REQUIRE(ep.references == 1);
    REQUIRE(rel.ids.empty());

    // Removing a root makes each child a root of its own, without sibling links.
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 1, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 2, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 1, c.cs, 3, rights::all) == Error::ok);
    REQUIRE(a.cs.remove(0) == Error::ok);
    REQUIRE(is_root_without_links(b.at(1)));
    REQUIRE(is_root_without_links(b.at(2)));
    REQUIRE(c.at(3).parent() == &b.at(1));
    REQUIRE(b.cs.revoke(1) == Error::ok);
    REQUIRE(c.at(3).empty());
    REQUIRE(b.at(2).object() == &ep);

    REQUIRE(a.cs.remove(0) == Error::invalid_selector);
    REQUIRE(a.cs.remove(8) == Error::invalid_selector);
    REQUIRE(a.cs.remove(~Selector{0}) == Error::invalid_selector);
}

TEST_CASE("cap space: the release hook fires once per object, when its last capability goes") {
    Releases rel;
    Small a(&rel), b(&rel);
    TestObject ep(ObjectType::endpoint, 1), th(ObjectType::thread, 2), irq(ObjectType::irq, 3);
    REQUIRE(a.cs.insert_original(0, &ep, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 0, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 0, b.cs, 1, rights::all) == Error::ok);
    REQUIRE(a.cs.insert_original(1, &th, rights::all) == Error::ok);
    REQUIRE(b.cs.insert_original(2, &irq, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 2, a.cs, 2, rights::all) == Error::ok);

    // Revoke leaves the revoker's reference: no release.
    REQUIRE(a.cs.revoke(0) == Error::ok);
    REQUIRE(rel.ids.empty());
    REQUIRE(ep.references == 1);
    // Removing the last one releases; the slot is already empty when the hook runs.
    REQUIRE(a.cs.remove(0) == Error::ok);
    REQUIRE(rel.ids == std::vector<int>{1});
    // Moving does not count.
    REQUIRE(CapSpace::move(a.cs, 1, b.cs, 5) == Error::ok);
    REQUIRE(th.references == 1);
    REQUIRE(rel.ids.size() == 1);
    // The root goes first, the derived copy last: the release comes with the second.
    REQUIRE(b.cs.remove(2) == Error::ok);
    REQUIRE(rel.ids.size() == 1);
    REQUIRE(a.cs.remove(2) == Error::ok);
    REQUIRE(rel.ids == std::vector<int>{1, 3});
    // clear() removes the rest.
    b.cs.clear();
    REQUIRE(rel.ids == std::vector<int>{1, 3, 2});
    REQUIRE_FALSE(rel.bad_count);
    for (Selector s = 0; s < 8; ++s) {
        REQUIRE(a.at(s).empty());
        REQUIRE(b.at(s).empty());
    }

    // No hook: counts still drop, nothing crashes.
    Small quiet;
    TestObject n(ObjectType::notification, 9);
    REQUIRE(quiet.cs.insert_original(0, &n, rights::all) == Error::ok);
    REQUIRE(quiet.cs.remove(0) == Error::ok);
    REQUIRE(n.references == 0);
}

TEST_CASE("cap space: clear keeps other spaces' copies and re-parents them") {
    Releases rel;
    Small a(&rel), b(&rel), c(&rel);
    TestObject ep(ObjectType::endpoint, 1), own(ObjectType::factory, 2);
    // a0 -> b0 -> {b1, c0}; b2 holds a factory only b has.
    REQUIRE(a.cs.insert_original(0, &ep, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 0, b.cs, 0, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 0, b.cs, 1, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(b.cs, 0, c.cs, 0, rights::all) == Error::ok);
    REQUIRE(b.cs.insert_original(2, &own, rights::all) == Error::ok);

    b.cs.clear();
    for (Selector s = 0; s < 8; ++s) REQUIRE(b.at(s).empty());
    REQUIRE(c.at(0).parent() == &a.at(0));
    REQUIRE(a.at(0).first_child() == &c.at(0));
    REQUIRE(c.at(0).next_sibling() == nullptr);
    REQUIRE(ep.references == 2);
    REQUIRE(rel.ids == std::vector<int>{2});
    b.cs.clear();   // idempotent
    REQUIRE(rel.ids.size() == 1);
}

TEST_CASE("cap space: a release hook may clear another space (a dying task)") {
    Releases rel;
    Small a(&rel), t(&rel);
    TestObject task(ObjectType::task, 1), ep(ObjectType::endpoint, 2), ntf(ObjectType::notification, 3);
    task.owned_space = &t.cs;
    // a holds the only capability to the task; the task's space holds copies of a's endpoint
    // (with a grandchild back in a) and the only capability to a notification.
    REQUIRE(a.cs.insert_original(0, &task, rights::control) == Error::ok);
    REQUIRE(a.cs.insert_original(1, &ep, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(a.cs, 1, t.cs, 0, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(t.cs, 0, a.cs, 2, rights::send) == Error::ok);
    REQUIRE(t.cs.insert_original(1, &ntf, rights::all) == Error::ok);
    REQUIRE(CapSpace::derive(t.cs, 0, t.cs, 3, rights::send) == Error::ok);

    REQUIRE(a.cs.remove(0) == Error::ok);
    REQUIRE(rel.ids == std::vector<int>{1, 3});
    for (Selector s = 0; s < 8; ++s) REQUIRE(t.at(s).empty());
    REQUIRE(a.at(2).parent() == &a.at(1));
    REQUIRE(ep.references == 2);
    REQUIRE(a.cs.revoke(1) == Error::ok);
    REQUIRE(a.at(2).empty());
    REQUIRE_FALSE(rel.bad_count);
}

TEST_CASE("cap space: deep chains revoke and remove without deep recursion") {
    constexpr size_t kDepth = 200000;
    auto storage = std::make_unique<Slot[]>(kDepth);
    Releases rel;
    CapSpace cs(storage.get(), kDepth, record_release, &rel);
    TestObject ep(ObjectType::endpoint, 1);
    REQUIRE(cs.insert_original(0, &ep, rights::all) == Error::ok);
    for (Selector s = 1; s < kDepth; ++s) REQUIRE(CapSpace::derive(cs, s - 1, cs, s, rights::all) == Error::ok);
    REQUIRE(ep.references == kDepth);
    REQUIRE(cs.remove(kDepth / 2) == Error::ok);
    REQUIRE(storage[kDepth / 2 + 1].parent() == &storage[kDepth / 2 - 1]);
    REQUIRE(cs.revoke(1) == Error::ok);
    REQUIRE(ep.references == 2);
    REQUIRE(storage[1].first_child() == nullptr);
    cs.clear();
    REQUIRE(rel.ids == std::vector<int>{1});
}

// ---- Randomized run against a model -----------------------------------------------------------

namespace {

constexpr int kSpaces = 4;
constexpr Selector kSlots = 32;
constexpr int kHandles = 16;

using Key = std::pair<int, Selector>;   // (space, selector)

// The rules of cap_space.hpp, restated as plainly as possible over std::map.
struct Model {
    struct Cap {
        int object;
        Rights rights;
        uint64_t badge;
        std::optional<Key> parent;
    };
    std::map<Key, Cap> caps;                 // occupied slots only
    // Indexed by object id; every object ever made.
    std::vector<ObjectType> types;
    std::vector<uint32_t> refs;
    std::vector<bool> released;

    int add_object(ObjectType t) {
        types.push_back(t);
        refs.push_back(0);
        released.push_back(false);
        return static_cast<int>(types.size() - 1);
    }

    static bool in_range(Key k) { return k.second < kSlots; }
    bool occupied(Key k) const { return caps.count(k) != 0; }

    std::vector<Key> children(Key k) const {
        std::vector<Key> out;
        for (const auto& [key, c] : caps)
            if (c.parent == k) out.push_back(key);
        return out;
    }

    void drop(int object) {
        const auto o = static_cast<size_t>(object);
        if (--refs[o] == 0) released[o] = true;
    }

    Error insert(Key k, int object, Rights r, uint64_t badge) {
        if (!in_range(k)) return Error::invalid_selector;
        if (occupied(k)) return Error::slot_occupied;
        if (object < 0) return Error::invalid_argument;
        const auto o = static_cast<size_t>(object);
        if (badge != 0 && !cap::takes_badge(types[o])) return Error::invalid_argument;
        caps[k] = {object, r & rights::all, badge, std::nullopt};
        ++refs[o];
        return Error::ok;
    }

    Error lookup(Key k, ObjectType expected, Rights needed) const {
        auto it = caps.find(k);
        if (!in_range(k) || it == caps.end()) return Error::invalid_selector;
        if (expected != ObjectType::none &&
            types[static_cast<size_t>(it->second.object)] != expected)
            return Error::wrong_type;
        if ((it->second.rights & needed) != needed) return Error::missing_rights;
        return Error::ok;
    }

    Error derive(Key from, Key to, Rights mask, uint64_t badge) {
        auto it = caps.find(from);
        if (!in_range(from) || it == caps.end()) return Error::invalid_selector;
        if (!in_range(to)) return Error::invalid_selector;
        if (occupied(to)) return Error::slot_occupied;
        const Cap src = it->second;
        const auto o = static_cast<size_t>(src.object);
        if (badge != 0 && (src.badge != 0 || !cap::takes_badge(types[o])))
            return Error::invalid_argument;
        caps[to] = {src.object, src.rights & mask, badge != 0 ? badge : src.badge, from};
        ++refs[o];
        return Error::ok;
    }

    Error move(Key from, Key to) {
        if (!in_range(from) || !occupied(from)) return Error::invalid_selector;
        if (!in_range(to)) return Error::invalid_selector;
        if (occupied(to)) return Error::slot_occupied;
        caps[to] = caps[from];
        caps.erase(from);
        for (auto& [key, c] : caps)
            if (c.parent == from) c.parent = to;
        return Error::ok;
    }

    void remove_one(Key k) {
        const Cap c = caps.at(k);
        caps.erase(k);
        for (auto& [key, other] : caps)
            if (other.parent == k) other.parent = c.parent;
        drop(c.object);
    }

    Error remove(Key k) {
        if (!in_range(k) || !occupied(k)) return Error::invalid_selector;
        remove_one(k);
        return Error::ok;
    }

    Error revoke(Key k) {
        if (!in_range(k) || !occupied(k)) return Error::invalid_selector;
        std::vector<Key> todo = children(k), all;
        while (!todo.empty()) {
            Key d = todo.back();
            todo.pop_back();
            all.push_back(d);
            for (Key g : children(d)) todo.push_back(g);
        }
        for (Key d : all) {
            drop(caps.at(d).object);
            caps.erase(d);
        }
        return Error::ok;
    }

    void clear(int space) {
        for (Selector s = 0; s < kSlots; ++s)
            if (occupied({space, s})) remove_one({space, s});
    }
};

struct World {
    Releases rel;
    std::array<std::array<Slot, kSlots>, kSpaces> storage;
    std::vector<std::unique_ptr<CapSpace>> spaces;
    std::vector<std::unique_ptr<TestObject>> objects;   // index == id
    World() {
        for (auto& st : storage)
            spaces.push_back(std::make_unique<CapSpace>(st.data(), kSlots, record_release, &rel));
    }
    std::optional<Key> key_of(const Slot* s) const {
        if (s == nullptr) return std::nullopt;
        for (int i = 0; i < kSpaces; ++i) {
            Selector sel = spaces[static_cast<size_t>(i)]->selector_of(s);
            if (sel < kSlots) return Key{i, sel};
        }
        return Key{-1, 0};   // points outside every space: always a mismatch
    }
};

std::string describe(std::optional<Key> k) {
    if (!k) return "none";
    return std::to_string(k->first) + ":" + std::to_string(k->second);
}

// Empty string when the kernel's state equals the model's; otherwise the first difference.
std::string compare(const World& w, const Model& m) {
    std::ostringstream out;
    std::map<Key, std::set<Key>> model_children;
    for (const auto& [key, c] : m.caps)
        if (c.parent) model_children[*c.parent].insert(key);
    for (int i = 0; i < kSpaces; ++i) {
        for (Selector s = 0; s < kSlots; ++s) {
            const Key k{i, s};
            const Slot& slot = w.storage[static_cast<size_t>(i)][s];
            auto it = m.caps.find(k);
            if (it == m.caps.end()) {
                if (!slot.empty() || slot.parent() != nullptr || slot.first_child() != nullptr ||
                    slot.next_sibling() != nullptr || slot.prev_sibling() != nullptr ||
                    slot.badge() != 0 || slot.rights() != 0)
                    out << "slot " << describe(k) << " should be empty and unlinked\n";
                continue;
            }
            const Model::Cap& c = it->second;
            if (slot.empty()) {
                out << "slot " << describe(k) << " is empty\n";
                continue;
            }
            if (static_cast<TestObject*>(slot.object())->id != c.object)
                out << "slot " << describe(k) << " object differs\n";
            if (slot.rights() != c.rights) out << "slot " << describe(k) << " rights differ\n";
            if (slot.badge() != c.badge) out << "slot " << describe(k) << " badge differs\n";
            if (w.key_of(slot.parent()) != c.parent)
                out << "slot " << describe(k) << " parent " << describe(w.key_of(slot.parent()))
                    << " != " << describe(c.parent) << "\n";
            if (slot.parent() == nullptr && (slot.next_sibling() || slot.prev_sibling()))
                out << "root " << describe(k) << " has siblings\n";
            // Children: each links back, the list is consistent, and the set matches.
            std::set<Key> got;
            const Slot* prev = nullptr;
            for (const Slot* ch = slot.first_child(); ch != nullptr; ch = ch->next_sibling()) {
                if (ch->parent() != &slot || ch->prev_sibling() != prev || got.size() > 200) {
                    out << "slot " << describe(k) << " child list broken\n";
                    break;
                }
                got.insert(*w.key_of(ch));
                prev = ch;
            }
            if (got != model_children[k])
                out << "slot " << describe(k) << " children differ\n";
        }
    }
    for (size_t i = 0; i < w.objects.size(); ++i)
        if (w.objects[i]->references != m.refs[i])
            out << "object " << i << " references " << w.objects[i]->references
                << " != " << m.refs[i] << "\n";
    std::vector<bool> rel(m.released.size(), false);
    for (int id : w.rel.ids) {
        if (rel[static_cast<size_t>(id)]) out << "object " << id << " released twice\n";
        rel[static_cast<size_t>(id)] = true;
    }
    if (rel != m.released) out << "released sets differ\n";
    if (w.rel.bad_count) out << "hook ran with a nonzero count\n";
    return out.str();
}

struct XorShift {
    uint64_t state;
    uint64_t next() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }
    uint64_t below(uint64_t n) { return next() % n; }
    bool chance(uint64_t percent) { return below(100) < percent; }
};

} // namespace

TEST_CASE("cap space: randomized operations match a model") {
    constexpr int kSteps = 30000;
    constexpr std::array<ObjectType, 7> kTypes = {
        ObjectType::task,         ObjectType::thread,  ObjectType::endpoint, ObjectType::notification,
        ObjectType::irq,          ObjectType::factory, ObjectType::reply};
    World w;
    Model m;
    XorShift rng{0x9e3779b97f4a7c15u};
    std::array<int, kHandles> handle{};   // which object each handle names now; -1: none yet
    handle.fill(-1);
    std::map<std::string, int> successes;
    int max_depth = 0;

    auto random_key = [&] {
        // A few selectors past the end, to hit invalid_selector.
        return Key{static_cast<int>(rng.below(kSpaces)), rng.below(kSlots + 2)};
    };
    // Mostly an occupied slot, so that operations on existing capabilities usually succeed.
    auto source_key = [&] {
        if (m.caps.empty() || rng.chance(15)) return random_key();
        auto it = m.caps.begin();
        std::advance(it, static_cast<long>(rng.below(m.caps.size())));
        return it->first;
    };
    auto random_rights = [&]() -> Rights {
        if (rng.chance(10)) return 0xffff'ffffu;
        return static_cast<Rights>(rng.below(16));
    };
    auto random_badge = [&]() -> uint64_t { return rng.chance(60) ? 0 : 1 + rng.below(4); };
    auto space = [&](Key k) -> CapSpace& { return *w.spaces[static_cast<size_t>(k.first)]; };

    for (int step = 0; step < kSteps; ++step) {
        const uint64_t op = rng.below(100);
        std::string name;
        Error got{}, want{};
        if (op < 14) {
            name = "insert";
            const Key k = random_key();
            const size_t h = rng.below(kHandles);
            // A handle whose object died gets a fresh object; a live one gets a second root.
            if (handle[h] < 0 || m.released[static_cast<size_t>(handle[h])]) {
                const ObjectType t = kTypes[rng.below(kTypes.size())];
                const int id = m.add_object(t);
                w.objects.push_back(std::make_unique<TestObject>(t, id));
                handle[h] = id;
            }
            const bool null = rng.chance(3);
            const int id = null ? -1 : handle[h];
            const Rights r = random_rights();
            const uint64_t b = random_badge();
            cap::Object* obj = null ? nullptr : w.objects[static_cast<size_t>(id)].get();
            want = m.insert(k, id, r, b);
            got = space(k).insert_original(k.second, obj, r, b);
        } else if (op < 44) {
            name = "derive";
            const Key from = source_key(), to = random_key();
            const Rights mask = random_rights();
            const uint64_t b = random_badge();
            want = m.derive(from, to, mask, b);
            got = CapSpace::derive(space(from), from.second, space(to), to.second, mask, b);
        } else if (op < 54) {
            name = "move";
            const Key from = source_key(), to = rng.chance(5) ? from : random_key();
            want = m.move(from, to);
            got = CapSpace::move(space(from), from.second, space(to), to.second);
        } else if (op < 68) {
            name = "remove";
            const Key k = source_key();
            want = m.remove(k);
            got = space(k).remove(k.second);
        } else if (op < 76) {
            name = "revoke";
            const Key k = source_key();
            want = m.revoke(k);
            got = space(k).revoke(k.second);
        } else if (op < 99) {
            name = "lookup";
            const Key k = source_key();
            // Half the time ask for what the capability has, so that lookups also succeed.
            auto it = m.caps.find(k);
            const bool fitting = it != m.caps.end() && rng.chance(50);
            const ObjectType t = rng.chance(25)  ? ObjectType::none
                                 : fitting       ? m.types[static_cast<size_t>(it->second.object)]
                                                 : kTypes[rng.below(kTypes.size())];
            const Rights need = static_cast<Rights>(rng.below(16)) &
                                (fitting ? it->second.rights : rights::all);
            want = m.lookup(k, t, need);
            const CapSpace::Lookup r = space(k).lookup(k.second, t, need);
            got = r.error;
            const bool slot_ok = r.error == Error::ok
                                     ? r.slot == space(k).slot(k.second)
                                     : r.slot == nullptr;
            if (!slot_ok) got = Error::busy;   // shows up as a mismatch below
        } else {
            name = "clear";
            const int s = static_cast<int>(rng.below(kSpaces));
            m.clear(s);
            w.spaces[static_cast<size_t>(s)]->clear();
            want = got = Error::ok;
        }
        if (got == Error::ok) ++successes[name];
        for (const auto& [key, c] : m.caps) {
            int depth = 0;
            for (auto p = c.parent; p; p = m.caps.at(*p).parent) ++depth;
            max_depth = std::max(max_depth, depth);
        }
        const std::string diff = compare(w, m);
        if (got != want || !diff.empty()) {
            INFO("step " << step << " op " << name << " got " << static_cast<uint64_t>(got)
                         << " want " << static_cast<uint64_t>(want) << "\n" << diff);
            REQUIRE(got == want);
            REQUIRE(diff.empty());
        }
    }
    // The run must actually exercise every operation, not just fail on empty slots.
    for (const char* op : {"insert", "derive", "move", "remove", "revoke", "lookup", "clear"}) {
        INFO(op << ": " << successes[op] << " successes");
        CHECK(successes[op] >= (std::string(op) == "clear" ? 50 : 500));
    }
    CHECK(std::count(m.released.begin(), m.released.end(), true) >= 50);
    CHECK(max_depth >= 5);
    INFO("objects made: " << w.objects.size());
    CHECK(w.objects.size() >= 60);
}
