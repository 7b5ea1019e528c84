// Host tests of cap::CapSpace: every operation and error, the derivation tree, and a long
// randomized run checked step by step against a std::map model.
#include <catch2/catch.hpp>

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
