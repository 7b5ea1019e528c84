// Host tests of ThreadOp::force_exception (user_return.cpp) and of the IPC cancel it makes
// (ipc::cancel): the real kernel over the fake arch. A thread "returns to user mode" when the
// test runs its kernel exit (user_return::check) while it is current, as the kernel does.
#include <stddef.h>

#include "fake_arch/kernel_world.hpp"
#include "l4/abi/utcb.hpp"

using namespace kt;

namespace {

constexpr cap::Selector kHandlerEp = 0; // the victim's exception handler receives here
constexpr cap::Selector kOther = 1;     // an endpoint nobody receives on
constexpr cap::Selector kNote = 2;
constexpr cap::Selector kReply = 3;
constexpr uint64_t kIp = 0x401000, kSp = 0x7ff000;

using l4::abi::ExceptionState;

constexpr uint64_t index_of(size_t offset) { return offset / sizeof(uint64_t); }
constexpr uint64_t kRax = index_of(offsetof(ExceptionState, rax));
constexpr uint64_t kRip = index_of(offsetof(ExceptionState, rip));
constexpr uint64_t kVector = index_of(offsetof(ExceptionState, vector));

// A guest (the thread that forces), a handler waiting on kHandlerEp, and the victim whose
// exception handler that is, all of one priority; the victim runs.
struct Forced : World {
    Forced()
    {
        make_endpoint(kHandlerEp);
        other = make_endpoint(kOther);
        guest = make_thread("guest", 10);
        handler = make_thread("handler", 10);
        victim = make_thread("victim", 10);
        REQUIRE(cap::CapSpace::derive(task->caps(), kHandlerEp, victim->special_caps(), Thread::exception_handler,
                                      l4::abi::rights::send) == Error::ok);
        victim->set_entry(kIp, kSp);
        for (Thread* t : {guest, handler, victim})
            scheduler::make_ready(*t);
        start();
        scheduler::yield(); // the guest lets the handler wait first
        REQUIRE(&current() == handler);
        receive(*handler, kHandlerEp);
        REQUIRE(&current() == victim);
    }

    // The victim is preempted in user code (as by the timer): the guest runs.
    void victim_preempted()
    {
        scheduler::yield();
        REQUIRE(&current() == guest);
    }

    // The guest lets the victim run; it leaves the kernel.
    void victim_runs()
    {
        scheduler::yield();
        REQUIRE(&current() == victim);
        user_return::check(*victim);
    }

    // The handler has the victim's forced exception; it resumes it unchanged.
    void expect_forced(uint64_t rax, uint64_t rip)
    {
        REQUIRE(&current() == handler);
        CHECK(status(*handler) == Error::ok);
        CHECK(tag(*handler).label() == l4::abi::label::exception);
        CHECK(tag(*handler).words() == l4::abi::kExceptionWords);
        CHECK(word(*handler, kVector) == l4::abi::kForcedVector);
        CHECK(word(*handler, kRax) == rax);
        CHECK(word(*handler, kRip) == rip);
        CHECK(victim->kernel_message);
        CHECK(victim->return_work == 0);
        set_message(*handler, MessageTag::make(l4::abi::reply_label::resume, 0));
        reply(*handler);
        CHECK(status(*handler) == Error::ok);
        CHECK(victim->state() == State::ready);
        CHECK_FALSE(victim->kernel_message);
    }

    Endpoint* other = nullptr;
    Thread* guest = nullptr;
    Thread* handler = nullptr;
    Thread* victim = nullptr;
};

Error force(Thread& target) { return user_return::force_exception(target); }

} // namespace

TEST_CASE("force_exception: a thread preempted in user code enters its handler where it was", "[force]")
{
    Forced w;
    w.victim->user_frame().rax = 0x77;
    w.victim_preempted();
    CHECK(force(*w.victim) == Error::ok);
    CHECK(w.victim->state() == State::ready); // nothing happens before it runs
    CHECK(w.victim->return_work == Thread::forced_exception);
    w.victim_runs();
    w.expect_forced(0x77, kIp);
    CHECK(w.victim->user_frame().rip == kIp); // resumed unchanged
    CHECK(w.victim->user_frame().rax == 0x77);
}

TEST_CASE("force_exception: a blocked receive ends with cancelled, seen by the handler", "[force]")
{
    Forced w;
    receive(*w.victim, kOther);
    REQUIRE(&current() == w.guest);
    REQUIRE(w.other->receivers.head() == w.victim);
    CHECK(force(*w.victim) == Error::ok);
    CHECK(w.victim->state() == State::ready);
    CHECK(w.victim->wait == Wait::none);
    CHECK(w.other->receivers.empty());
    CHECK(status(*w.victim) == Error::cancelled);
    w.victim_runs();
    w.expect_forced(static_cast<uint64_t>(Error::cancelled), kIp);
    CHECK(status(*w.victim) == Error::cancelled); // its receive returns that once resumed
}

TEST_CASE("force_exception: a queued send is taken out of the queue", "[force]")
{
    Forced w;
    set_message(*w.victim, MessageTag::make(1, 0));
    send(*w.victim, kOther);
    REQUIRE(w.other->senders.head() == w.victim);
    CHECK(force(*w.victim) == Error::ok);
    CHECK(w.other->senders.empty());
    CHECK(status(*w.victim) == Error::cancelled);
}

TEST_CASE("force_exception: a notification wait ends with cancelled and loses its deadline", "[force]")
{
    Forced w;
    Notification* note = w.make_notification(kNote);
    notify_wait(*w.victim, kNote, 50);
    REQUIRE(&current() == w.guest);
    CHECK(ipc::timeouts_pending());
    CHECK(force(*w.victim) == Error::ok);
    CHECK_FALSE(ipc::timeouts_pending());
    CHECK(w.victim->wait == Wait::none);
    CHECK(status(*w.victim) == Error::cancelled);
    note->signal(1); // no waiter left: the bits stay
    CHECK(note->pending());
}

TEST_CASE("force_exception: a call waiting for its reply is cancelled; the server's reply finds no caller", "[force]")
{
    Forced w;
    w.victim_preempted();
    receive(*w.guest, kOther);
    REQUIRE(&current() == w.victim);
    set_message(*w.victim, MessageTag::make(1, 0));
    call(*w.victim, kOther);
    REQUIRE(&current() == w.guest);
    REQUIRE(w.guest->caller == w.victim);
    CHECK(force(*w.victim) == Error::ok);
    CHECK(w.guest->caller == nullptr);
    CHECK(w.victim->server == nullptr);
    CHECK(status(*w.victim) == Error::cancelled);
    set_message(*w.guest, MessageTag::make(2, 0));
    reply(*w.guest);
    CHECK(status(*w.guest) == Error::invalid_selector);
    CHECK(status(*w.victim) == Error::cancelled);
}

TEST_CASE("force_exception: a call kept in a reply object is cancelled; reply_to finds no caller", "[force]")
{
    Forced w;
    w.make_reply(kReply);
    w.victim_preempted();
    receive(*w.guest, kOther);
    set_message(*w.victim, MessageTag::make(1, 0));
    call(*w.victim, kOther);
    REQUIRE(&current() == w.guest);
    reply_save(*w.guest, kReply);
    REQUIRE(status(*w.guest) == Error::ok);
    CHECK(force(*w.victim) == Error::ok);
    CHECK(w.victim->kept_reply == nullptr);
    set_message(*w.guest, MessageTag::make(2, 0));
    reply_to(*w.guest, kReply);
    CHECK(status(*w.guest) == Error::invalid_selector);
}

TEST_CASE("force_exception: a thread in exception IPC already is busy", "[force]")
{
    Forced w;
    w.victim_preempted();
    REQUIRE(force(*w.victim) == Error::ok);
    w.victim_runs();
    REQUIRE(&current() == w.handler);
    CHECK(force(*w.victim) == Error::busy); // waiting for the handler's reply
    CHECK(w.victim->return_work == 0);
    w.expect_forced(0, kIp);
}

TEST_CASE("force_exception: without a handler it is refused and nothing changes", "[force]")
{
    Forced w;
    w.victim_preempted();
    CHECK(force(*w.handler) == Error::invalid_argument); // blocked in its receive, no handler
    CHECK(w.handler->wait == Wait::receive);
    CHECK(w.handler->return_work == 0);
    CHECK(force(*w.guest) == Error::invalid_argument); // itself, running
    CHECK(w.guest->return_work == 0);
}

TEST_CASE("force_exception: a thread never started is busy", "[force]")
{
    Forced w;
    Thread* idle = w.make_thread("unstarted", 10);
    REQUIRE(cap::CapSpace::derive(w.task->caps(), kHandlerEp, idle->special_caps(), Thread::exception_handler,
                                  l4::abi::rights::send) == Error::ok);
    CHECK(force(*idle) == Error::busy);
    CHECK(idle->return_work == 0);
}

TEST_CASE("force_exception: forced twice before it runs, one exception", "[force]")
{
    Forced w;
    w.victim_preempted();
    CHECK(force(*w.victim) == Error::ok);
    CHECK(force(*w.victim) == Error::ok);
    w.victim_runs();
    w.expect_forced(0, kIp);
    // The handler waits again: no second exception comes when the victim goes on.
    receive(*w.handler, kHandlerEp);
    REQUIRE(&current() == w.guest);
    w.victim_runs();
    CHECK(&current() == w.victim);
    CHECK(w.handler->wait == Wait::receive);
}

TEST_CASE("force_exception: forcing itself is an exception right after the call", "[force]")
{
    Forced w;
    w.victim->user_frame().rip = kIp + 0x20; // after its syscall
    w.victim->user_context().set_status(Error::ok);
    CHECK(force(*w.victim) == Error::ok);
    user_return::check(*w.victim); // its thread_control returns
    w.expect_forced(0, kIp + 0x20);
}

TEST_CASE("force_exception: a suspended thread takes it when resumed", "[force]")
{
    Forced w;
    receive(*w.victim, kOther);
    REQUIRE(&current() == w.guest);
    w.victim->suspend_requested = true; // thread_control suspend of a blocked thread
    CHECK(force(*w.victim) == Error::ok);
    CHECK(w.victim->state() == State::suspended); // its receive ended, it stays stopped
    CHECK(status(*w.victim) == Error::cancelled);
    CHECK(w.victim->return_work == Thread::forced_exception);
    w.victim->suspend_requested = false; // resume
    scheduler::make_ready(*w.victim);
    w.victim_runs();
    w.expect_forced(static_cast<uint64_t>(Error::cancelled), kIp);
}

TEST_CASE("force_exception: a handler gone before delivery drops the force", "[force]")
{
    Forced w;
    w.victim_preempted();
    REQUIRE(force(*w.victim) == Error::ok);
    REQUIRE(w.victim->special_caps().remove(Thread::exception_handler) == Error::ok);
    w.victim_runs();
    CHECK(&current() == w.victim); // goes on in user mode
    CHECK(w.victim->return_work == 0);
    CHECK_FALSE(w.victim->kernel_message);
    CHECK(w.handler->wait == Wait::receive);
}
