// Host tests of the scheduler (the real scheduler.cpp over the fake arch): priorities, round
// robin, yield, blocking, the timer's slices and preemption, suspended threads.
#include "fake_arch/kernel_world.hpp"

#include "arch/x86_64/cpu_local.hpp"

using namespace kt;

namespace {
using Names = std::vector<std::string>;
constexpr cap::Selector kEp = 0;

struct Pair {
    Thread* first;
    Thread* second;
};

// Two threads of priority 10 with an endpoint at kEp, made ready in order, the world started:
// `first` runs.
Pair start_two(World& w, const char* first, const char* second)
{
    w.make_endpoint(kEp);
    Pair pair{w.make_thread(first, 10), w.make_thread(second, 10)};
    scheduler::make_ready(*pair.first);
    scheduler::make_ready(*pair.second);
    w.start();
    return pair;
}
} // namespace

TEST_CASE("scheduler: highest priority first, round robin within a priority", "[scheduler]")
{
    World w;
    w.make_endpoint(kEp);
    Thread* a = w.make_thread("a", 10);
    Thread* b = w.make_thread("b", 10);
    Thread* high = w.make_thread("high", 20);
    Thread* low = w.make_thread("low", 5);
    for (Thread* t : {a, b, high, low})
        scheduler::make_ready(*t);
    for (Thread* t : {a, b, high, low})
        CHECK(t->state() == State::ready);

    w.start();
    REQUIRE(&current() == high);
    CHECK(high->state() == State::running);
    receive(*high, kEp); // blocks: never picked again while it waits
    REQUIRE(&current() == a);
    scheduler::yield();
    REQUIRE(&current() == b);
    CHECK(a->state() == State::ready);
    scheduler::yield();
    REQUIRE(&current() == a);

    // A slice is two ticks: the first leaves a running, the second moves on to b.
    scheduler::timer_tick();
    CHECK(&current() == a);
    scheduler::timer_tick();
    CHECK(&current() == b);
    CHECK(a->remaining_slice() == a->time_slice());
    scheduler::timer_tick();
    scheduler::timer_tick();
    CHECK(&current() == a);

    // Only when both wait does the low-priority thread run; then idle.
    receive(*a, kEp);
    REQUIRE(&current() == b);
    receive(*b, kEp);
    REQUIRE(&current() == low);
    receive(*low, kEp);
    CHECK(&current() == this_cpu().idle);
    CHECK(fake::switches() == Names{"high", "a", "b", "a", "b", "a", "b", "low", "idle"});
    CHECK(w.task->caps().remove(kEp) == Error::ok); // wakes all four, in receive order
    for (Thread* t : {a, b, high, low})
        CHECK(status(*t) == Error::object_destroyed);
    scheduler::timer_tick(); // idle leaves for the best of them
    CHECK(&current() == high);
}

TEST_CASE("scheduler: a woken thread of higher priority preempts on kernel exit", "[scheduler]")
{
    World w;
    w.make_endpoint(kEp);
    Thread* server = w.make_thread("server", 20);
    Thread* client = w.make_thread("client", 10);
    Thread* other = w.make_thread("other", 10);
    for (Thread* t : {server, client, other})
        scheduler::make_ready(*t);
    w.start();
    receive(*server, kEp);
    REQUIRE(&current() == client);
    set_message(*client, MessageTag::make(1, 0));
    send(*client, kEp); // the server wakes; the client keeps its place at the head
    CHECK(status(*client) == Error::ok);
    REQUIRE(&current() == server);
    CHECK(client->state() == State::ready);
    receive(*server, kEp);
    CHECK(&current() == client); // ahead of `other`, which waited behind it
}

TEST_CASE("scheduler: the timer preempts for a higher-priority ready thread", "[scheduler]")
{
    World w;
    Thread* a = w.make_thread("a", 10);
    Thread* b = w.make_thread("b", 10);
    Thread* high = w.make_thread("high", 30);
    scheduler::make_ready(*a);
    scheduler::make_ready(*b);
    w.start();
    REQUIRE(&current() == a);
    scheduler::timer_tick();      // one tick of a's slice used
    scheduler::make_ready(*high); // woken, e.g. by an interrupt, outside any system call
    CHECK(&current() == a);
    scheduler::timer_tick();
    REQUIRE(&current() == high);
    CHECK(a->state() == State::ready);
    scheduler::yield(); // alone at its level: it keeps the CPU
    CHECK(&current() == high);
}

TEST_CASE("scheduler: a thread preempted at every tick still uses up its slice", "[scheduler]")
{
    World w;
    auto [a, b] = start_two(w, "a", "b");
    // At every tick a higher-priority thread (a server's timeout) takes the CPU, then blocks.
    const uint32_t slice = a->time_slice();
    for (uint32_t tick = 0; tick < slice; ++tick) {
        REQUIRE(&current() == a);
        Thread* high = w.make_thread("high", 30);
        scheduler::make_ready(*high);
        scheduler::timer_tick();
        REQUIRE(&current() == high);
        receive(*high, kEp);
    }
    CHECK(&current() == b); // a's slice ran out under the preemptions: b's turn
    CHECK(a->state() == State::ready);
}

TEST_CASE("scheduler: make_ready of a thread with a suspend request suspends it", "[scheduler]")
{
    World w;
    Thread* t = w.make_thread("t", 10);
    t->suspend_requested = true;
    scheduler::make_ready(*t);
    CHECK(t->state() == State::suspended);
    CHECK_FALSE(t->queued);
    w.start();
    CHECK(&current() == this_cpu().idle);
    scheduler::timer_tick();
    CHECK(&current() == this_cpu().idle);
    CHECK(fake::switches().empty());

    t->suspend_requested = false; // resumed
    scheduler::make_ready(*t);
    CHECK(t->state() == State::ready);
    CHECK(t->queued);
    scheduler::timer_tick();
    CHECK(&current() == t);
}

TEST_CASE("scheduler: a direct switch yields to a ready thread of higher priority", "[scheduler]")
{
    World w;
    auto [server, client] = start_two(w, "server", "client");
    receive(*server, kEp);
    REQUIRE(&current() == client);
    Thread* high = w.make_thread("high", 15);
    scheduler::make_ready(*high); // ready, not yet run (no kernel exit since)
    Error result = ipc::send(*client, *w.task->caps().lookup<Endpoint>(kEp, 0).object, 0, true, kNever);
    CHECK(result == ipc::kStatusSet);
    CHECK(&current() == high); // not the server, which is now ready behind it
    CHECK(server->state() == State::ready);
    CHECK(client->wait == Wait::reply);
}
