// Host tests of a pager's reply: the pages it reports, and a reply the faulting task's quota
// cannot pay for, which fails to the pager and leaves the thread waiting for it. The real
// ipc.cpp and sys_ipc.cpp over the fake arch; what vm reports is set (fake::set_fault_reply).
#include "fake_arch/kernel_world.hpp"

using namespace kt;

namespace {

constexpr cap::Selector kPager = 0;
constexpr cap::Selector kReply = 1;
constexpr uint64_t kAddress = 0x2000'0008;

// A pager waiting on kPager and a thread of the same priority whose page fault reaches it.
struct Paged : World {
    Paged()
    {
        make_endpoint(kPager);
        pager = make_thread("pager", 10);
        faulter = make_thread("faulter", 10);
        REQUIRE(cap::CapSpace::derive(task->caps(), kPager, faulter->special_caps(), Thread::pager,
                                      l4::abi::rights::send) == Error::ok);
        for (Thread* t : {pager, faulter})
            scheduler::make_ready(*t);
        start();
        REQUIRE(&current() == pager);
        receive(*pager, kPager);
        REQUIRE(&current() == faulter);
        REQUIRE(ipc::raise_page_fault(*faulter, kAddress, 1, 0x401000));
        scheduler::preempt_if_needed();
        REQUIRE(&current() == pager);
        REQUIRE(tag(*pager).label() == l4::abi::label::page_fault);
        REQUIRE(word(*pager, 0) == kAddress);
    }
    // The pager's reply: label 0, one map item (what the fake vm does with it is set).
    void set_reply() { set_message(*pager, MessageTag::make(0, 0, 0, 1)); }
    uint64_t pages() { return pager->user_context().arg(1); } // rsi
    // The pager's ipc_reply, with vm reporting `outcome`: its status.
    Error reply_with(fake::FaultReply outcome)
    {
        fake::set_fault_reply(outcome);
        set_reply();
        reply(*pager);
        return status(*pager);
    }
    // The fault is answered: the thread runs on, and the pager holds no reply to it.
    bool answered() const
    {
        return faulter->state() == State::ready && !faulter->kernel_message && pager->caller == nullptr &&
               faulter->server == nullptr;
    }
    bool faulter_waits_for_pager() const
    {
        return faulter->state() == State::blocked && faulter->wait == Wait::reply && faulter->kernel_message;
    }
    Thread* pager = nullptr;
    Thread* faulter = nullptr;
};

} // namespace

TEST_CASE("pager reply: rsi says how many pages were installed", "[pager]")
{
    Paged w;
    CHECK(w.reply_with({16, false, true}) == Error::ok);
    CHECK(w.pages() == 16);
    CHECK(w.answered());
}

TEST_CASE("pager reply: over quota without the faulting page fails and keeps the thread waiting", "[pager]")
{
    Paged w;
    CHECK(w.reply_with({3, true, false}) == Error::quota_exhausted);
    CHECK(w.pages() == 3); // what arrived before the refusal stays, and counts
    CHECK(w.faulter_waits_for_pager());
    CHECK(w.pager->caller == w.faulter);
    CHECK(w.faulter->server == w.pager);

    // Memory freed: the same reply goes through.
    CHECK(w.reply_with({1, false, true}) == Error::ok);
    CHECK(w.pages() == 1);
    CHECK(w.answered());
}

TEST_CASE("pager reply: over quota once the faulting page is in succeeds", "[pager]")
{
    Paged w;
    CHECK(w.reply_with({2, true, true}) == Error::ok);
    CHECK(w.pages() == 2);
    CHECK(w.answered());
}

TEST_CASE("pager reply_wait: over quota returns at once without receiving", "[pager]")
{
    Paged w;
    fake::set_fault_reply({0, true, false});
    w.set_reply();
    reply_wait(*w.pager, kPager, l4::abi::kTimeoutZero);
    CHECK(status(*w.pager) == Error::quota_exhausted);
    CHECK(&current() == w.pager);
    CHECK(w.faulter_waits_for_pager()); // not abandoned by a receive
    CHECK(w.pager->caller == w.faulter);

    fake::set_fault_reply({1, false, true});
    reply_wait(*w.pager, kPager, l4::abi::kTimeoutZero);
    CHECK(status(*w.pager) == Error::timeout); // replied, then nothing to receive
    CHECK(w.faulter->state() == State::ready);
}

TEST_CASE("pager reply_to: a kept page-fault reply reports pages and stays kept over quota", "[pager]")
{
    Paged w;
    Reply* kept = w.make_reply(kReply);
    reply_save(*w.pager, kReply);
    REQUIRE(status(*w.pager) == Error::ok);
    fake::set_fault_reply({0, true, false});
    w.set_reply();
    reply_to(*w.pager, kReply);
    CHECK(status(*w.pager) == Error::quota_exhausted);
    CHECK(w.pages() == 0);
    CHECK(kept->caller == w.faulter);
    CHECK(w.faulter->kept_reply == kept);
    CHECK(w.faulter_waits_for_pager());

    fake::set_fault_reply({4, false, true});
    reply_to(*w.pager, kReply);
    CHECK(status(*w.pager) == Error::ok);
    CHECK(w.pages() == 4);
    CHECK(kept->caller == nullptr);
    CHECK(w.faulter->kept_reply == nullptr);
    CHECK(w.faulter->state() == State::ready);
}

TEST_CASE("reply: a normal reply's rsi is the pages its caller received", "[pager]")
{
    World w;
    w.make_endpoint(kPager);
    Thread* server = w.make_thread("server", 10);
    Thread* client = w.make_thread("client", 10);
    for (Thread* t : {server, client})
        scheduler::make_ready(*t);
    w.start();
    receive(*server, kPager);
    set_message(*client, MessageTag::make(1, 0));
    call(*client, kPager);
    REQUIRE(&current() == server);
    client->utcb().received_pages = 77; // the fake vm moves nothing: the reply sets 0
    set_message(*server, MessageTag::make(2, 0));
    reply(*server);
    CHECK(status(*server) == Error::ok);
    CHECK(server->user_context().arg(1) == 0);
    CHECK(client->utcb().received_pages == 0);
}
