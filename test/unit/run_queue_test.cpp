// Host tests of sched::RunQueue: ordering, rotation, removal, misuse, and a long random
// sequence checked step by step against a simple model.
#include "sched/run_queue.hpp"

#include <catch2/catch.hpp>

#include "xorshift.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <iterator>
#include <vector>

namespace {

using sched::QueueLink;
using sched::RunQueue;

QueueLink make_link(uint8_t priority)
{
    QueueLink link;
    link.priority = priority;
    return link;
}

// The links of one level, head first, following `next` and checking `prev` on the way.
std::vector<const QueueLink*> level(const RunQueue& q, uint8_t priority)
{
    std::vector<const QueueLink*> out;
    const QueueLink* head = q.head(priority);
    if (head == nullptr) {
        return out;
    }
    const QueueLink* at = head;
    do {
        out.push_back(at);
        if (at->next->prev != at || !at->queued || at->owner != &q) {
            FAIL("level " << int{priority} << " is not a consistent circular list");
        }
        at = at->next;
        if (out.size() > 10000) {
            FAIL("level " << int{priority} << " does not come back to its head");
        }
    } while (at != head);
    return out;
}

// Pops everything in scheduling order, as the scheduler would if no one else ran.
std::vector<const QueueLink*> drain(RunQueue& q)
{
    std::vector<const QueueLink*> order;
    while (QueueLink* next = q.highest()) {
        order.push_back(next);
        REQUIRE(q.remove(*next));
    }
    return order;
}

} // namespace

TEST_CASE("run queue: empty queue", "[run_queue]")
{
    RunQueue q;
    CHECK(q.empty());
    CHECK(q.highest() == nullptr);
    CHECK(q.highest_priority() == 0);
    q.rotate(0);
    q.rotate(255);
    CHECK(q.empty());
}

TEST_CASE("run queue: FIFO within a level", "[run_queue]")
{
    RunQueue q;
    QueueLink a = make_link(10), b = make_link(10), c = make_link(10);
    REQUIRE(q.enqueue(a));
    REQUIRE(q.enqueue(b));
    REQUIRE(q.enqueue(c));
    CHECK_FALSE(q.empty());
    CHECK(q.highest_priority() == 10);
    CHECK(q.highest() == &a);
    CHECK(level(q, 10) == std::vector<const QueueLink*>{&a, &b, &c});
    CHECK(drain(q) == std::vector<const QueueLink*>{&a, &b, &c});
    CHECK(q.empty());
    CHECK_FALSE(a.queued);
    CHECK(a.next == nullptr);
    CHECK(a.prev == nullptr);
    CHECK(a.owner == nullptr);
}

TEST_CASE("run queue: priority order across levels, including 0 and 255", "[run_queue]")
{
    RunQueue q;
    // One level in each bitmap word and on both edges of each word.
    const uint8_t priorities[] = {0, 63, 64, 127, 128, 191, 192, 255, 1, 100, 200, 254};
    std::vector<QueueLink> links;
    for (uint8_t p : priorities) {
        links.push_back(make_link(p));
    }
    for (QueueLink& link : links) {
        REQUIRE(q.enqueue(link));
    }
    std::vector<int> order;
    while (!q.empty()) {
        const uint8_t top = q.highest_priority();
        QueueLink* next = q.highest();
        REQUIRE(next != nullptr);
        CHECK(next->priority == top);
        order.push_back(top);
        REQUIRE(q.remove(*next));
    }
    CHECK(order == std::vector<int>{255, 254, 200, 192, 191, 128, 127, 100, 64, 63, 1, 0});
    CHECK(q.highest() == nullptr);
}

TEST_CASE("run queue: only priority 0, then a higher one arrives", "[run_queue]")
{
    RunQueue q;
    QueueLink idle = make_link(0), worker = make_link(255);
    REQUIRE(q.enqueue(idle));
    CHECK(q.highest() == &idle);
    CHECK(q.highest_priority() == 0);
    REQUIRE(q.enqueue(worker));
    CHECK(q.highest() == &worker);
    CHECK(q.highest_priority() == 255);
    REQUIRE(q.remove(worker));
    CHECK(q.highest() == &idle);
}

TEST_CASE("run queue: enqueue_front keeps a preempted thread's turn", "[run_queue]")
{
    RunQueue q;
    QueueLink a = make_link(5), b = make_link(5), c = make_link(5), solo = make_link(6);
    REQUIRE(q.enqueue(a));
    REQUIRE(q.enqueue(b));
    REQUIRE(q.enqueue_front(c));
    CHECK(level(q, 5) == std::vector<const QueueLink*>{&c, &a, &b});
    REQUIRE(q.enqueue_front(solo)); // onto an empty level
    CHECK(level(q, 6) == std::vector<const QueueLink*>{&solo});
    CHECK(drain(q) == std::vector<const QueueLink*>{&solo, &c, &a, &b});
}

TEST_CASE("run queue: rotate moves the head to the tail", "[run_queue]")
{
    RunQueue q;
    QueueLink a = make_link(7), b = make_link(7), c = make_link(7), other = make_link(3);
    REQUIRE(q.enqueue(a));
    REQUIRE(q.enqueue(b));
    REQUIRE(q.enqueue(c));
    REQUIRE(q.enqueue(other));
    q.rotate(7);
    CHECK(level(q, 7) == std::vector<const QueueLink*>{&b, &c, &a});
    CHECK(q.highest() == &b);
    q.rotate(7);
    q.rotate(7);
    CHECK(level(q, 7) == std::vector<const QueueLink*>{&a, &b, &c});
    q.rotate(3); // a single link stays where it is
    CHECK(level(q, 3) == std::vector<const QueueLink*>{&other});
    q.rotate(100); // an empty level: nothing happens
    CHECK(q.head(100) == nullptr);
    CHECK(q.highest_priority() == 7);
}

TEST_CASE("run queue: remove from head, middle, tail and only", "[run_queue]")
{
    RunQueue q;
    QueueLink a = make_link(9), b = make_link(9), c = make_link(9), d = make_link(9);
    for (QueueLink* link : {&a, &b, &c, &d}) {
        REQUIRE(q.enqueue(*link));
    }
    SECTION("head")
    {
        REQUIRE(q.remove(a));
        CHECK(level(q, 9) == std::vector<const QueueLink*>{&b, &c, &d});
        CHECK(q.highest() == &b);
    }
    SECTION("middle")
    {
        REQUIRE(q.remove(c));
        CHECK(level(q, 9) == std::vector<const QueueLink*>{&a, &b, &d});
    }
    SECTION("tail")
    {
        REQUIRE(q.remove(d));
        CHECK(level(q, 9) == std::vector<const QueueLink*>{&a, &b, &c});
        REQUIRE(q.enqueue(d)); // back at the tail
        CHECK(level(q, 9) == std::vector<const QueueLink*>{&a, &b, &c, &d});
    }
    SECTION("only")
    {
        REQUIRE(q.remove(a));
        REQUIRE(q.remove(b));
        REQUIRE(q.remove(c));
        CHECK(q.highest() == &d);
        REQUIRE(q.remove(d));
        CHECK(q.empty());
        CHECK(q.head(9) == nullptr);
        CHECK(q.highest() == nullptr);
    }
}

TEST_CASE("run queue: misuse is refused and changes nothing", "[run_queue]")
{
    RunQueue q;
    QueueLink a = make_link(4), b = make_link(4), stray = make_link(4);
    REQUIRE(q.enqueue(a));
    REQUIRE(q.enqueue(b));

    CHECK_FALSE(q.enqueue(a));
    CHECK_FALSE(q.enqueue_front(b));
    CHECK_FALSE(q.remove(stray));
    CHECK(level(q, 4) == std::vector<const QueueLink*>{&a, &b});

    SECTION("a link queued elsewhere")
    {
        RunQueue other;
        CHECK_FALSE(other.enqueue(a));
        CHECK_FALSE(other.remove(a));
        CHECK(other.empty());
        CHECK(level(q, 4) == std::vector<const QueueLink*>{&a, &b});
    }
    SECTION("a removed link cannot be removed twice")
    {
        REQUIRE(q.remove(a));
        CHECK_FALSE(q.remove(a));
        CHECK(level(q, 4) == std::vector<const QueueLink*>{&b});
    }
    SECTION("priority changed while queued: remove still unlinks from the right level")
    {
        a.priority = 200;
        REQUIRE(q.remove(a));
        CHECK(q.head(200) == nullptr);
        CHECK(level(q, 4) == std::vector<const QueueLink*>{&b});
        REQUIRE(q.enqueue(a)); // the new priority takes effect on the next enqueue
        CHECK(q.highest() == &a);
        CHECK(q.highest_priority() == 200);
    }
}

TEST_CASE("run queue: random operations match a model", "[run_queue]")
{
    constexpr size_t kLinks = 64;
    constexpr int kSteps = 30000;
    std::array<QueueLink, kLinks> links{};
    std::array<std::deque<const QueueLink*>, 256> model;
    RunQueue q;

    XorShift rng{0x2545f4914f6cdd1dull};
    auto random = [&rng](uint64_t n) { return rng.below(n); };
    // Few distinct priorities, clustered so that levels often hold several links; and
    // always some at the edges 0 and 255.
    auto random_priority = [&random]() -> uint8_t {
        static constexpr uint8_t kPool[] = {0, 1, 2, 63, 64, 65, 127, 128, 200, 254, 255};
        return random(4) == 0 ? static_cast<uint8_t>(random(256)) : kPool[random(std::size(kPool))];
    };
    for (QueueLink& link : links) {
        link.priority = random_priority();
    }
    auto in_model = [&model](const QueueLink& link) {
        for (const auto& level_model : model) {
            for (const QueueLink* l : level_model) {
                if (l == &link) {
                    return true;
                }
            }
        }
        return false;
    };

    size_t refused = 0, peak = 0, queued = 0;
    for (int step = 0; step < kSteps; ++step) {
        QueueLink& link = links[random(kLinks)];
        const bool was_queued = in_model(link);
        REQUIRE(link.queued == was_queued);
        switch (random(7)) {
        case 0:
        case 1: {
            const bool ok = q.enqueue(link);
            REQUIRE(ok == !was_queued);
            if (ok) {
                model[link.priority].push_back(&link);
            } else {
                ++refused;
            }
            break;
        }
        case 2: {
            const bool ok = q.enqueue_front(link);
            REQUIRE(ok == !was_queued);
            if (ok) {
                model[link.priority].push_front(&link);
            } else {
                ++refused;
            }
            break;
        }
        case 3:
        case 4: {
            const uint8_t p = link.queued ? link.queued_priority : 0;
            const bool ok = q.remove(link);
            REQUIRE(ok == was_queued);
            if (ok) {
                auto& level_model = model[p];
                level_model.erase(std::find(level_model.begin(), level_model.end(), &link));
            } else {
                ++refused;
            }
            break;
        }
        case 5: { // the scheduler's tick: rotate the running level
            const uint8_t p = random(2) == 0 ? q.highest_priority() : link.priority;
            q.rotate(p);
            if (!model[p].empty()) {
                model[p].push_back(model[p].front());
                model[p].pop_front();
            }
            break;
        }
        default: // a new priority, legal only while not queued
            if (!was_queued) {
                link.priority = random_priority();
            }
            break;
        }

        // Compare every level after every step (one assertion, or the log would drown).
        int top = -1;
        bool same = true;
        queued = 0;
        for (int p = 255; p >= 0; --p) {
            const auto prio = static_cast<uint8_t>(p);
            if (model[prio].empty()) {
                same = same && q.head(prio) == nullptr;
                continue;
            }
            const std::vector<const QueueLink*> actual = level(q, prio);
            same = same && std::equal(actual.begin(), actual.end(), model[prio].begin(), model[prio].end());
            top = top < 0 ? p : top;
            queued += model[prio].size();
        }
        REQUIRE(same);
        peak = std::max(peak, queued);
        REQUIRE(q.empty() == (top < 0));
        if (top < 0) {
            REQUIRE(q.highest() == nullptr);
        } else {
            REQUIRE(q.highest_priority() == top);
            REQUIRE(q.highest() == model[static_cast<size_t>(top)].front());
        }
    }
    // The sequence must have exercised both a crowded and a refusing queue.
    CHECK(peak > 32);
    CHECK(refused > 1000);
}
