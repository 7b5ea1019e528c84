// Memory: page faults to a pager (set-up and probes in memory_probe.hpp). Selectors 800-899.
#include "memory_probe.hpp"

using namespace kt;
using namespace kt::mem;

namespace {

// Receives the page fault IPC of an `access` to `addr` at `rip` (polled); false when none.
bool expect_pager_fault(uint64_t addr, uint64_t access, const char* rip)
{
    l4::Message m;
    KREQUIRE_EQ_OR(receive_polled(kPager, m), Error::ok, false);
    KEXPECT_EQ(m.tag.label(), abi::label::page_fault);
    KEXPECT_EQ(m.tag.words(), abi::kPageFaultWords);
    KEXPECT_EQ(m.tag.caps(), 0);
    KEXPECT_EQ(m.words[0], addr);
    KEXPECT_EQ(m.words[1], access);
    KEXPECT_EQ(m.words[2], address(rip));
    return true;
}

// A thread at `code` with kPager as its pager, to touch `addr` (the probes' variables), and
// the page fault of its first access, a read at `rip`; false when that fails.
bool start_paged(char* code, uint64_t addr, uint64_t value, const char* rip)
{
    reset_probe(addr, value);
    KREQUIRE_EQ_OR(start_victim(reinterpret_cast<ThreadBody>(code), kPager), Error::ok, false);
    return expect_pager_fault(addr, page_rights::read, rip);
}

} // namespace

// A thread with a pager faults on an unmapped address; the pager's replies map a window
// page there, read-only first, then read-write.
MEMORY_TEST_WITH(memory_pager_resolves_faults, 13, 15, 0xe010'0000, kPager)
{
    uint64_t x = b + 0x18;
    if (!start_paged(kt_mt_pager, x, 0xe1e1'e1e1, kt_mt_pager_read_at))
        return;
    reply_mapping(page_at(a, page_rights::read), x);
    KEXPECT_EQ(wait_flag(kt_mt_stage), true);
    KEXPECT_EQ(kt_mt_value, 0xe010'0000 + 3);
    if (!expect_pager_fault(x, page_rights::write, kt_mt_pager_write_at))
        return;
    reply_mapping(page_at(a), x);
    KEXPECT_EQ(wait_flag(kt_mt_done), true);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kHandler, m, abi::kTimeoutZero), Error::timeout); // no exception
    KEXPECT_EQ(l4::receive(kPager, m, abi::kTimeoutZero), Error::timeout);   // no third fault
    KEXPECT_EQ(release_slot(kVictim), Error::ok);
    EXPECT_READS(a + 0x18, 0xe1e1'e1e1);
    EXPECT_READS(x, 0xe1e1'e1e1);
}

// A pager reply that maps nothing retries the access: the thread faults again.
MEMORY_TEST_WITH(memory_pager_empty_reply_faults_again, 14, 16, 0xf010'0000, kPager)
{
    uint64_t x = b + 0x100;
    if (!start_paged(kt_mt_read, x, 0, kt_mt_read_at))
        return;
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::ok);
    if (!expect_pager_fault(x, page_rights::read, kt_mt_read_at))
        return;
    KEXPECT_EQ(kt_mt_done, 0);
    reply_mapping(page_at(a, page_rights::read), x);
    KEXPECT_EQ(wait_flag(kt_mt_done), true);
    KEXPECT_EQ(kt_mt_value, 0xf010'0000 + 0x20);
}
