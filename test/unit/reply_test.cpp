// Host tests of deferred replies (reply objects) and of notifications bound to a thread: the
// real ipc.cpp, reply.cpp, notification.cpp over the fake arch.
#include "fake_arch/kernel_world.hpp"

using namespace kt;

namespace {

constexpr cap::Selector kEp = 0;
constexpr cap::Selector kReplyA = 3;
constexpr cap::Selector kReplyB = 4;
constexpr cap::Selector kNote = 5;

// A server and two clients of equal priority; the server runs first and waits on kEp.
struct Served : World {
    Served()
    {
        ep = make_endpoint(kEp);
        server = make_thread("server", 10);
        a = make_thread("a", 10);
        b = make_thread("b", 10);
        for (Thread* t : {server, a, b})
            scheduler::make_ready(*t);
        start();
        REQUIRE(&current() == server);
        receive(*server, kEp);
        REQUIRE(&current() == a);
    }
    // `client` calls with one word; the server (which must be receiving) then runs.
    void call_with(Thread& client, uint64_t value)
    {
        set_message(client, MessageTag::make(1, 1), {value});
        call(client, kEp);
        REQUIRE(&current() == server);
        REQUIRE(word(*server, 0) == value);
    }
    Endpoint* ep = nullptr;
    Thread* server = nullptr;
    Thread* a = nullptr;
    Thread* b = nullptr;
};

} // namespace

TEST_CASE("reply: two kept replies answered in the other order", "[reply]")
{
    Served w;
    Reply* ra = w.make_reply(kReplyA);
    Reply* rb = w.make_reply(kReplyB);
    w.call_with(*w.a, 1);
    reply_save(*w.server, kReplyA);
    CHECK(status(*w.server) == Error::ok);
    CHECK(ra->caller == w.a);
    CHECK(w.a->kept_reply == ra);
    CHECK(w.a->server == nullptr);
    CHECK(w.server->caller == nullptr);
    CHECK(w.a->wait == Wait::reply);

    // Receiving again does not abandon a kept caller.
    receive(*w.server, kEp);
    REQUIRE(&current() == w.b);
    CHECK(w.a->state() == State::blocked);
    w.call_with(*w.b, 2);
    reply_save(*w.server, kReplyB);
    CHECK(status(*w.server) == Error::ok);

    set_message(*w.server, MessageTag::make(20, 1), {200});
    reply_to(*w.server, kReplyB);
    CHECK(status(*w.server) == Error::ok);
    CHECK(rb->caller == nullptr);
    CHECK(w.b->kept_reply == nullptr);
    CHECK(w.b->state() == State::ready);
    CHECK(status(*w.b) == Error::ok);
    CHECK(tag(*w.b).raw == MessageTag::make(20, 1).raw);
    CHECK(word(*w.b, 0) == 200);
    CHECK(w.a->state() == State::blocked); // still kept

    set_message(*w.server, MessageTag::make(10, 1), {100});
    reply_to(*w.server, kReplyA);
    CHECK(status(*w.server) == Error::ok);
    CHECK(status(*w.a) == Error::ok);
    CHECK(word(*w.a, 0) == 100);
    CHECK(w.a->state() == State::ready);

    // Each is used once: both objects are empty again.
    reply_to(*w.server, kReplyA);
    CHECK(status(*w.server) == Error::invalid_selector);
    reply_to(*w.server, kReplyB);
    CHECK(status(*w.server) == Error::invalid_selector);
}

TEST_CASE("reply: saving needs a caller and an empty reply object", "[reply]")
{
    Served w;
    w.make_reply(kReplyA);
    w.make_endpoint(6);
    w.call_with(*w.a, 1);
    reply_save(*w.server, 6);
    CHECK(status(*w.server) == Error::wrong_type);
    reply_save(*w.server, 7);
    CHECK(status(*w.server) == Error::invalid_selector);
    CHECK(w.server->caller == w.a); // nothing moved
    REQUIRE(cap::CapSpace::derive(w.task->caps(), kReplyA, w.task->caps(), 8, l4::abi::rights::receive) == Error::ok);
    reply_save(*w.server, 8);
    CHECK(status(*w.server) == Error::missing_rights);
    reply_save(*w.server, kReplyA);
    CHECK(status(*w.server) == Error::ok);
    reply_save(*w.server, kReplyA);
    CHECK(status(*w.server) == Error::invalid_selector); // no caller left to keep

    receive(*w.server, kEp);
    w.call_with(*w.b, 2);
    reply_save(*w.server, kReplyA);
    CHECK(status(*w.server) == Error::busy); // it keeps a's reply
    CHECK(w.server->caller == w.b);
    // The reply through a reply object is checked like any reply.
    set_message(*w.server, MessageTag::make(1, 65));
    reply_to(*w.server, kReplyA);
    CHECK(status(*w.server) == Error::invalid_argument);
    CHECK(w.a->state() == State::blocked);
}

TEST_CASE("reply: deleting a reply object that keeps a caller ends its call", "[reply]")
{
    Served w;
    w.make_reply(kReplyA);
    w.call_with(*w.a, 1);
    reply_save(*w.server, kReplyA);
    uint64_t before = w.factory->used();
    REQUIRE(w.task->caps().remove(kReplyA) == Error::ok);
    CHECK(w.factory->used() == before - mem::KernelHeap::charged_size(sizeof(Reply)));
    CHECK(w.a->state() == State::ready);
    CHECK(w.a->kept_reply == nullptr);
    CHECK(status(*w.a) == Error::object_destroyed);
}

TEST_CASE("reply: a kept caller that is killed leaves the reply object empty", "[reply]")
{
    Served w;
    Reply* ra = w.make_reply(kReplyA);
    w.call_with(*w.a, 1);
    reply_save(*w.server, kReplyA);
    w.release(*w.a);
    CHECK(ra->caller == nullptr);
    reply_to(*w.server, kReplyA);
    CHECK(status(*w.server) == Error::invalid_selector);
    // The object is reusable.
    receive(*w.server, kEp);
    w.call_with(*w.b, 2);
    reply_save(*w.server, kReplyA);
    CHECK(status(*w.server) == Error::ok);
    CHECK(ra->caller == w.b);
}

TEST_CASE("reply: the server's death ends every kept call", "[reply]")
{
    Served w;
    // The reply objects live in a task of the server's own that dies with it.
    Task* server_task = w.make_task(*w.factory, 8, "server-task");
    Error error = Error::ok;
    Reply* r1 = Reply::create(w.factory, error);
    Reply* r2 = Reply::create(w.factory, error);
    REQUIRE(server_task->caps().insert_original(0, r1, l4::abi::rights::all) == Error::ok);
    REQUIRE(server_task->caps().insert_original(1, r2, l4::abi::rights::all) == Error::ok);
    w.call_with(*w.a, 1);
    REQUIRE(ipc::save_reply(*w.server, *r1) == Error::ok);
    receive(*w.server, kEp);
    w.call_with(*w.b, 2);
    REQUIRE(ipc::save_reply(*w.server, *r2) == Error::ok);
    w.release(*server_task);
    for (Thread* t : {w.a, w.b}) {
        CHECK(t->state() == State::ready);
        CHECK(t->kept_reply == nullptr);
        CHECK(status(*t) == Error::object_destroyed);
    }
}

TEST_CASE("bound notification: a signal ends the bound thread's receive", "[notification]")
{
    Served w; // the server waits on kEp
    Notification* note = w.make_notification(kNote);
    REQUIRE(note->bind(*w.server) == Error::ok);
    CHECK(w.server->bound_notification == note);
    notify_signal(*w.a, kNote, 0x5);
    CHECK(status(*w.a) == Error::ok);
    CHECK(w.server->state() == State::ready);
    CHECK(w.server->wait == Wait::none);
    CHECK(w.ep->receivers.empty());
    CHECK(status(*w.server) == Error::ok);
    CHECK(tag(*w.server).raw == MessageTag::make(l4::abi::label::notification, 1).raw);
    CHECK(word(*w.server, 0) == 0x5);
    CHECK(badge(*w.server) == 0);
    CHECK_FALSE(note->pending()); // delivered, so cleared
}

TEST_CASE("bound notification: bits pending make the receive return at once", "[notification]")
{
    Served w; // a runs
    Notification* note = w.make_notification(kNote);
    Endpoint* other = w.make_endpoint(6);
    REQUIRE(note->bind(*w.a) == Error::ok);
    notify_signal(*w.a, kNote, 0x30);
    CHECK(note->pending());
    scheduler::yield();
    REQUIRE(&current() == w.b);
    set_message(*w.b, MessageTag::make(4, 1), {44});
    send(*w.b, 6); // nobody receives there: b waits
    REQUIRE(&current() == w.a);
    CHECK(other->senders.head() == w.b);

    receive(*w.a, 6); // bits and a message wait: the bits come first, without blocking
    CHECK(&current() == w.a);
    CHECK(status(*w.a) == Error::ok);
    CHECK(tag(*w.a).label() == l4::abi::label::notification);
    CHECK(word(*w.a, 0) == 0x30);
    CHECK(other->senders.head() == w.b);
    receive(*w.a, 6);
    CHECK(status(*w.a) == Error::ok);
    CHECK(tag(*w.a).raw == MessageTag::make(4, 1).raw);
    CHECK(word(*w.a, 0) == 44);
    CHECK(other->senders.empty());
}

TEST_CASE("bound notification: one binding each way; unbind; a plain waiter is served first", "[notification]")
{
    Served w;
    Notification* note = w.make_notification(kNote);
    Notification* second = w.make_notification(6);
    REQUIRE(note->bind(*w.server) == Error::ok);
    CHECK(note->bind(*w.a) == Error::busy);        // the notification is bound
    CHECK(second->bind(*w.server) == Error::busy); // the thread is
    CHECK(second->bound_thread() == nullptr);
    CHECK(w.a->bound_notification == nullptr);

    // A thread in notify_wait gets the bits before the bound receiver.
    notify_wait(*w.a, kNote);
    REQUIRE(&current() == w.b);
    notify_signal(*w.b, kNote, 1);
    CHECK(w.a->state() == State::ready);
    CHECK(w.a->user_context().arg(1) == 1);
    CHECK(w.server->wait == Wait::receive);

    note->unbind();
    CHECK(w.server->bound_notification == nullptr);
    notify_signal(*w.b, kNote, 2);
    CHECK(w.server->wait == Wait::receive); // unbound: the receive goes on
    CHECK(note->pending());
    note->unbind(); // twice is harmless
}

TEST_CASE("bound notification: deleted while its thread waits, the receive goes on", "[notification]")
{
    Served w;
    Notification* note = w.make_notification(kNote);
    REQUIRE(note->bind(*w.server) == Error::ok);
    REQUIRE(w.task->caps().remove(kNote) == Error::ok);
    CHECK(w.server->bound_notification == nullptr);
    CHECK(w.server->wait == Wait::receive);
    w.call_with(*w.a, 9); // still a working server
}

TEST_CASE("bound notification: a killed thread unbinds", "[notification]")
{
    Served w;
    Notification* note = w.make_notification(kNote);
    REQUIRE(note->bind(*w.server) == Error::ok);
    w.release(*w.server);
    CHECK(note->bound_thread() == nullptr);
    notify_signal(*w.a, kNote, 3);
    CHECK(status(*w.a) == Error::ok);
    CHECK(note->pending());
}

TEST_CASE("notify_wait: zero and finite timeouts", "[notification]")
{
    Served w;
    Notification* note = w.make_notification(kNote);
    notify_wait(*w.a, kNote, 0);
    CHECK(status(*w.a) == Error::timeout);
    CHECK(&current() == w.a);
    notify_signal(*w.a, kNote, 8);
    notify_wait(*w.a, kNote, 0);
    CHECK(status(*w.a) == Error::ok);
    CHECK(w.a->user_context().arg(1) == 8);

    notify_wait(*w.a, kNote, 5);
    CHECK(w.a->wait == Wait::notification);
    CHECK(ipc::timeouts_pending());
    REQUIRE(&current() == w.b);
    fake::set_ticks(4);
    ipc::expire_timeouts(4);
    CHECK(w.a->wait == Wait::notification);
    fake::set_ticks(5);
    ipc::expire_timeouts(5);
    CHECK(w.a->state() == State::ready);
    CHECK(status(*w.a) == Error::timeout);
    CHECK_FALSE(ipc::timeouts_pending());
    CHECK_FALSE(note->pending());
}
