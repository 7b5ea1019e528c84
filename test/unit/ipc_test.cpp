// Host tests of IPC rendezvous: the real ipc.cpp, sys_ipc.cpp, endpoint.cpp and scheduler.cpp
// over the fake arch (test/unit/fake_arch/fake_arch.hpp), driven through the system-call
// handlers on behalf of whichever thread the scheduler runs.
#include "fake_arch/kernel_world.hpp"

using namespace kt;

namespace {

constexpr cap::Selector kEp = 0;     // an unbadged capability to the endpoint
constexpr cap::Selector kBadged = 1; // a second capability to it, badge 0x42
constexpr cap::Selector kOther = 2;  // another endpoint

// A client and a server of equal priority, the server first in line.
struct Pair : World {
    Pair()
    {
        ep = make_endpoint(kEp);
        REQUIRE(cap::CapSpace::derive(task->caps(), kEp, task->caps(), kBadged, l4::abi::rights::all, 0x42) ==
                Error::ok);
        server = make_thread("server", 10);
        client = make_thread("client", 10);
        scheduler::make_ready(*server);
        scheduler::make_ready(*client);
        start();
        REQUIRE(&current() == server);
    }
    Endpoint* ep = nullptr;
    Thread* server = nullptr;
    Thread* client = nullptr;
};

} // namespace

TEST_CASE("ipc: call and reply between two threads", "[ipc]")
{
    Pair w;
    receive(*w.server, kEp);
    CHECK(w.server->state() == State::blocked);
    CHECK(w.server->wait == Wait::receive);
    CHECK(w.ep->receivers.head() == w.server);
    REQUIRE(&current() == w.client);

    // Eight words: six travel in registers, two in the UTCB.
    set_message(*w.client, MessageTag::make(7, 8), {100, 101, 102, 103, 104, 105, 106, 107});
    call(*w.client, kBadged);
    // The server runs at once (direct switch); the client waits for its reply.
    REQUIRE(&current() == w.server);
    CHECK(w.client->state() == State::blocked);
    CHECK(w.client->wait == Wait::reply);
    CHECK(w.server->caller == w.client);
    CHECK(w.client->server == w.server);
    CHECK(w.ep->receivers.empty());
    CHECK(status(*w.server) == Error::ok);
    CHECK(tag(*w.server).raw == MessageTag::make(7, 8).raw);
    CHECK(badge(*w.server) == 0x42);
    for (uint64_t i = 0; i < 8; ++i)
        CHECK(word(*w.server, i) == 100 + i);

    set_message(*w.server, MessageTag::make(9, 2), {55, 66});
    reply(*w.server);
    CHECK(status(*w.server) == Error::ok);
    CHECK(&current() == w.server); // equal priority: the replier keeps the CPU
    CHECK(w.client->state() == State::ready);
    CHECK(w.client->wait == Wait::none);
    CHECK(w.server->caller == nullptr);
    CHECK(w.client->server == nullptr);
    CHECK(status(*w.client) == Error::ok);
    CHECK(tag(*w.client).raw == MessageTag::make(9, 2).raw);
    CHECK(badge(*w.client) == 0);
    CHECK(word(*w.client, 0) == 55);
    CHECK(word(*w.client, 1) == 66);
    CHECK(fake::switches() == std::vector<std::string>{"server", "client", "server"});

    // A second reply has no caller to go to.
    reply(*w.server);
    CHECK(status(*w.server) == Error::invalid_selector);
}

TEST_CASE("ipc: a caller queued before the server receives", "[ipc]")
{
    Pair w;
    scheduler::yield(); // the server lets the client run first
    REQUIRE(&current() == w.client);
    set_message(*w.client, MessageTag::make(1, 1), {11});
    call(*w.client, kEp);
    CHECK(w.client->wait == Wait::send);
    CHECK(w.ep->senders.head() == w.client);
    REQUIRE(&current() == w.server);
    receive(*w.server, kEp);
    CHECK(&current() == w.server); // a sender was waiting: no block
    CHECK(status(*w.server) == Error::ok);
    CHECK(word(*w.server, 0) == 11);
    CHECK(badge(*w.server) == 0);
    CHECK(w.client->wait == Wait::reply);
    CHECK(w.server->caller == w.client);
    CHECK(w.ep->senders.empty());
}

TEST_CASE("ipc: reply_wait answers the caller and waits for the next message", "[ipc]")
{
    Pair w;
    receive(*w.server, kEp);
    set_message(*w.client, MessageTag::make(1, 1), {1});
    call(*w.client, kEp);
    REQUIRE(&current() == w.server);

    set_message(*w.server, MessageTag::make(2, 1), {2});
    reply_wait(*w.server, kEp);
    // No sender: the server waits to receive and hands the CPU straight to the caller.
    CHECK(w.server->state() == State::blocked);
    CHECK(w.server->wait == Wait::receive);
    CHECK(w.ep->receivers.head() == w.server);
    REQUIRE(&current() == w.client);
    CHECK(status(*w.client) == Error::ok);
    CHECK(tag(*w.client).raw == MessageTag::make(2, 1).raw);
    CHECK(word(*w.client, 0) == 2);
    CHECK(w.client->wait == Wait::none);
    CHECK(w.server->caller == nullptr);

    set_message(*w.client, MessageTag::make(3, 1), {3});
    call(*w.client, kBadged);
    REQUIRE(&current() == w.server);
    CHECK(status(*w.server) == Error::ok);
    CHECK(word(*w.server, 0) == 3);
    CHECK(badge(*w.server) == 0x42);
    CHECK(fake::switches() == std::vector<std::string>{"server", "client", "server", "client", "server"});
}

TEST_CASE("ipc: reply_wait with a sender queued takes it at once", "[ipc]")
{
    Pair w;
    Thread* second = w.make_thread("second", 10);
    scheduler::make_ready(*second);
    receive(*w.server, kEp);
    set_message(*w.client, MessageTag::make(1, 1), {1});
    call(*w.client, kEp);
    REQUIRE(&current() == w.server);
    scheduler::yield(); // second runs and calls: it queues
    REQUIRE(&current() == second);
    set_message(*second, MessageTag::make(5, 1), {5});
    call(*second, kBadged);
    CHECK(w.ep->senders.head() == second);
    REQUIRE(&current() == w.server);

    set_message(*w.server, MessageTag::make(2, 1), {2});
    reply_wait(*w.server, kEp);
    CHECK(&current() == w.server);
    CHECK(status(*w.server) == Error::ok);
    CHECK(word(*w.server, 0) == 5);
    CHECK(badge(*w.server) == 0x42);
    CHECK(w.server->caller == second);
    CHECK(w.client->state() == State::ready);
    CHECK(status(*w.client) == Error::ok);
    CHECK(word(*w.client, 0) == 2);
}

TEST_CASE("ipc: a send with zero timeout and no receiver times out", "[ipc]")
{
    Pair w;
    scheduler::yield();
    REQUIRE(&current() == w.client);
    set_message(*w.client, MessageTag::make(1, 1), {1});
    send(*w.client, kEp, l4::abi::kTimeoutZero);
    CHECK(status(*w.client) == Error::timeout);
    CHECK(&current() == w.client);
    CHECK(w.client->state() == State::running);
    CHECK(w.ep->senders.empty());
    call(*w.client, kEp, l4::abi::kTimeoutZero);
    CHECK(status(*w.client) == Error::timeout);
    receive(*w.client, kEp, l4::abi::kTimeoutZero);
    CHECK(status(*w.client) == Error::timeout);
    CHECK(w.ep->receivers.empty());
}

TEST_CASE("ipc: a receive with a finite timeout expires", "[ipc]")
{
    Pair w;
    fake::set_ticks(100);
    receive(*w.server, kEp, 5);
    CHECK(w.server->deadline == 105);
    CHECK(ipc::timeouts_pending());
    REQUIRE(&current() == w.client);

    ipc::expire_timeouts(104);
    CHECK(w.server->state() == State::blocked);
    ipc::expire_timeouts(105);
    CHECK(w.server->state() == State::ready);
    CHECK(w.server->wait == Wait::none);
    CHECK(status(*w.server) == Error::timeout);
    CHECK(w.ep->receivers.empty());
    CHECK_FALSE(ipc::timeouts_pending());
    CHECK(w.server->deadline == Thread::kNoDeadline);

    // A sender that finds nobody now queues instead of meeting the expired receiver.
    set_message(*w.client, MessageTag::make(1, 0));
    send(*w.client, kEp, 3);
    CHECK(w.ep->senders.head() == w.client);
    CHECK(w.client->deadline == 103);
    REQUIRE(&current() == w.server);
    receive(*w.server, kEp); // takes the message before the deadline: the deadline goes
    CHECK(status(*w.server) == Error::ok);
    CHECK(status(*w.client) == Error::ok);
    CHECK(w.client->state() == State::ready);
    CHECK_FALSE(ipc::timeouts_pending());
}

TEST_CASE("ipc: a deadline past the tick counter's range is no deadline", "[ipc]")
{
    Pair w;
    fake::set_ticks(10);
    receive(*w.server, kEp, Thread::kNoDeadline - 10);
    CHECK(w.server->deadline == Thread::kNoDeadline);
    CHECK_FALSE(ipc::timeouts_pending());
}

TEST_CASE("ipc: a caller the server abandons gets object_destroyed", "[ipc]")
{
    Pair w;
    receive(*w.server, kEp);
    set_message(*w.client, MessageTag::make(1, 0));
    call(*w.client, kEp);
    REQUIRE(&current() == w.server);
    receive(*w.server, kEp); // receives again without replying
    // Woken, and run at once: the server now waits to receive.
    CHECK(w.client->state() == State::running);
    CHECK(w.client->wait == Wait::none);
    CHECK(status(*w.client) == Error::object_destroyed);
    CHECK(w.client->server == nullptr);
    CHECK(w.server->caller == nullptr);
    CHECK(w.server->wait == Wait::receive);
    CHECK(&current() == w.client);
}

TEST_CASE("ipc: an endpoint destroyed with queued senders wakes them all", "[ipc]")
{
    Pair w;
    Thread* third = w.make_thread("third", 5); // runs when both others wait
    scheduler::make_ready(*third);
    scheduler::yield();
    REQUIRE(&current() == w.client);
    set_message(*w.client, MessageTag::make(1, 0));
    call(*w.client, kEp);
    REQUIRE(&current() == w.server);
    send(*w.server, kBadged);
    REQUIRE(&current() == third);
    CHECK(w.ep->senders.head() == w.client);
    CHECK(w.client->wait_next == w.server);

    uint64_t before = w.factory->used();
    REQUIRE(w.task->caps().remove(kEp) == Error::ok);
    CHECK(w.server->wait == Wait::send); // a capability is left
    REQUIRE(w.task->caps().remove(kBadged) == Error::ok);
    CHECK(w.factory->used() == before - mem::KernelHeap::charged_size(sizeof(Endpoint)));
    for (Thread* t : {w.client, w.server}) {
        CHECK(t->state() == State::ready);
        CHECK(t->wait == Wait::none);
        CHECK(t->wait_queue == nullptr);
        CHECK(status(*t) == Error::object_destroyed);
    }
    CHECK(&current() == third);
    // The badged sender was cancelled first (its badge's last capability went before the
    // endpoint did); both run ahead of the low-priority thread.
    scheduler::yield();
    CHECK(&current() == w.server);
}

TEST_CASE("ipc: an endpoint destroyed with queued receivers wakes them all", "[ipc]")
{
    Pair w;
    Thread* third = w.make_thread("third", 5);
    scheduler::make_ready(*third);
    receive(*w.server, kEp);
    REQUIRE(&current() == w.client);
    receive(*w.client, kEp, 50);
    REQUIRE(&current() == third);
    CHECK(ipc::timeouts_pending());
    REQUIRE(w.task->caps().remove(kBadged) == Error::ok);
    REQUIRE(w.task->caps().remove(kEp) == Error::ok);
    for (Thread* t : {w.server, w.client}) {
        CHECK(t->state() == State::ready);
        CHECK(status(*t) == Error::object_destroyed);
    }
    CHECK_FALSE(ipc::timeouts_pending()); // the woken receiver's deadline went too
    receive(*third, kEp);
    CHECK(status(*third) == Error::invalid_selector); // its capability is gone
}

TEST_CASE("ipc: a server killed while a caller waits for its reply", "[ipc]")
{
    Pair w;
    Thread* third = w.make_thread("third", 5);
    scheduler::make_ready(*third);
    Endpoint* other = w.make_endpoint(kOther);
    receive(*w.server, kEp);
    set_message(*w.client, MessageTag::make(1, 0));
    call(*w.client, kEp);
    REQUIRE(&current() == w.server);
    // The server, holding the client's reply, calls on: nobody receives there.
    set_message(*w.server, MessageTag::make(2, 0));
    call(*w.server, kOther);
    REQUIRE(&current() == third);
    CHECK(other->senders.head() == w.server);

    // The thread's last capability goes: it is killed and freed.
    w.release(*w.server);
    CHECK(other->senders.empty());
    CHECK(w.client->state() == State::ready);
    CHECK(status(*w.client) == Error::object_destroyed);
    CHECK(w.client->server == nullptr);
}

TEST_CASE("ipc: a caller killed while the server holds its reply", "[ipc]")
{
    Pair w;
    receive(*w.server, kEp);
    set_message(*w.client, MessageTag::make(1, 0));
    call(*w.client, kEp);
    REQUIRE(&current() == w.server);
    w.release(*w.client);
    CHECK(w.server->caller == nullptr);
    set_message(*w.server, MessageTag::make(2, 0));
    reply(*w.server);
    CHECK(status(*w.server) == Error::invalid_selector);
}

TEST_CASE("ipc: the checked tag is delivered, not the rewritten tag register", "[ipc]")
{
    Pair w;
    scheduler::yield();
    REQUIRE(&current() == w.client);
    set_message(*w.client, MessageTag::make(3, 2), {31, 32});
    call(*w.client, kEp);
    CHECK(w.client->message_tag == MessageTag::make(3, 2).raw);
    // While it waits in the queue, a sibling rewrites its saved registers (write_registers):
    // a tag the kernel never checked (64 words, 7 capabilities).
    w.client->user_context().set_tag(MessageTag::make(5, 64, 7).raw);
    REQUIRE(&current() == w.server);
    receive(*w.server, kEp);
    CHECK(status(*w.server) == Error::ok);
    CHECK(tag(*w.server).raw == MessageTag::make(3, 2).raw);
    CHECK(word(*w.server, 0) == 31);
    CHECK(word(*w.server, 1) == 32);
    CHECK(w.server->utcb().received_caps == 0);
}

TEST_CASE("ipc: a refused tag fails the call and sends nothing", "[ipc]")
{
    Pair w;
    receive(*w.server, kEp);
    set_message(*w.client, MessageTag{MessageTag::make(1, l4::abi::kMessageWords + 1)});
    call(*w.client, kEp);
    CHECK(status(*w.client) == Error::invalid_argument);
    CHECK(&current() == w.client);
    CHECK(w.ep->receivers.head() == w.server);
    set_message(*w.client, MessageTag::make(1, 0));
    call(*w.client, 9); // an empty slot
    CHECK(status(*w.client) == Error::invalid_selector);
}

TEST_CASE("ipc: a capability moves with the message", "[ipc]")
{
    Pair w;
    receive(*w.server, kEp);
    w.server->utcb().receive_slot = 8;
    w.client->utcb().send_caps[0] = {kOther, l4::abi::rights::send};
    Endpoint* other = w.make_endpoint(kOther);
    set_message(*w.client, MessageTag::make(1, 0, 1));
    call(*w.client, kEp);
    REQUIRE(&current() == w.server);
    CHECK(tag(*w.server).raw == MessageTag::make(1, 0, 1).raw);
    CHECK(w.server->utcb().received_caps == 1);
    const cap::Slot* moved = w.task->caps().slot(8);
    CHECK(moved->object() == other);
    CHECK(moved->rights() == l4::abi::rights::send);
    CHECK(other->references == 2);
}

namespace {

constexpr cap::Selector kCopy = 3, kOtherBadge = 4;

// The client queued calling through `via` (badge 0x42: kBadged or its copy kCopy), the server
// queued sending through kOtherBadge (badge 0x43); a low-priority third thread runs.
struct Queued : Pair {
    explicit Queued(cap::Selector via)
    {
        Thread* third = make_thread("third", 5);
        scheduler::make_ready(*third);
        REQUIRE(cap::CapSpace::derive(task->caps(), kBadged, task->caps(), kCopy, l4::abi::rights::all) == Error::ok);
        REQUIRE(cap::CapSpace::derive(task->caps(), kEp, task->caps(), kOtherBadge, l4::abi::rights::all, 0x43) ==
                Error::ok);
        scheduler::yield();
        REQUIRE(&current() == client);
        set_message(*client, MessageTag::make(1, 0));
        call(*client, via);
        REQUIRE(&current() == server);
        set_message(*server, MessageTag::make(2, 0));
        send(*server, kOtherBadge);
        REQUIRE(&current() == third);
    }
};

} // namespace

TEST_CASE("ipc: the last capability with a badge cancels the sends queued through it", "[ipc]")
{
    Queued w(kCopy); // badge 0x42, through the copy

    // The minted capability goes, its copy stays: nothing is cancelled.
    REQUIRE(w.task->caps().remove(kBadged) == Error::ok);
    CHECK(w.client->wait == Wait::send);
    // The copy was the lineage's last.
    REQUIRE(w.task->caps().remove(kCopy) == Error::ok);
    CHECK(w.client->state() == State::ready);
    CHECK(w.client->wait_queue == nullptr);
    CHECK(status(*w.client) == Error::object_destroyed);
    CHECK(w.server->wait == Wait::send); // another badge
    CHECK(w.ep->senders.head() == w.server);
    CHECK(w.ep->senders.head()->wait_next == nullptr);
}

TEST_CASE("ipc: revoking a badged capability cancels its queued sends, and revoking the original too", "[ipc]")
{
    Queued w(kBadged); // through the minted capability itself

    REQUIRE(w.task->caps().revoke(kBadged) == Error::ok);
    CHECK(w.task->caps().slot(kCopy)->empty());
    CHECK(status(*w.client) == Error::object_destroyed);
    CHECK(w.client->state() == State::ready);
    CHECK(w.server->wait == Wait::send);

    // Revoking the unbadged original removes the 0x43 lineage: its send goes too.
    REQUIRE(w.task->caps().revoke(kEp) == Error::ok);
    CHECK(w.server->state() == State::ready);
    CHECK(status(*w.server) == Error::object_destroyed);
    CHECK(w.ep->senders.empty());
}
