// Memory: a change to an address space that is not running reaches its TLB entries.
//
// With PCIDs a space keeps its translations while others run, so an unmap or a right taken
// away while it waits must still take effect when it runs again, and the tag of a destroyed
// task must not lend its entries to the next task. QEMU's TCG has no PCID: there every switch
// flushes and these pass anyway; the bochs-ktest scenarios run them with PCIDs, with and
// without INVPCID. Selectors 800-899 (memory_probe.hpp).
//
// The probe thread runs in a second task: its pager (the main thread) maps ktest's own pages
// (code, variables, stack) into it at the same addresses, so it shares the probes' variables,
// and maps the test's page at the target when asked.
#include "memory_probe.hpp"

// Probes: the same access twice, at _first and at _second. In between they set kt_mt_stage
// to 1 and yield until the test sets it to 2 (while they wait, their space is not live).
extern "C" {
extern char kt_tlb_reader[], kt_tlb_reader_first[], kt_tlb_reader_second[];
extern char kt_tlb_writer[], kt_tlb_writer_first[], kt_tlb_writer_second[];
}
asm(R"(
    .text
    .globl kt_tlb_reader, kt_tlb_reader_first, kt_tlb_reader_second
    .globl kt_tlb_writer, kt_tlb_writer_first, kt_tlb_writer_second
kt_tlb_reader:
    mov kt_mt_addr(%rip), %rbx
kt_tlb_reader_first:
    mov (%rbx), %rax
    mov %rax, kt_mt_value(%rip)
    call kt_tlb_wait
kt_tlb_reader_second:
    mov (%rbx), %rax
    mov %rax, kt_mt_value(%rip)
    jmp kt_mt_finish

kt_tlb_writer:
    mov kt_mt_addr(%rip), %rbx
    mov kt_mt_wval(%rip), %rax
kt_tlb_writer_first:
    mov %rax, (%rbx)
    call kt_tlb_wait
    mov kt_mt_wval(%rip), %rax
kt_tlb_writer_second:
    mov %rax, (%rbx)
    jmp kt_mt_finish

kt_tlb_wait:
    movq $1, kt_mt_stage(%rip)
1:  mov $2, %eax            # yield
    syscall
    cmpq $2, kt_mt_stage(%rip)
    jne 1b
    ret
)");

using namespace kt;
using namespace kt::mem;

namespace {

constexpr Selector kOtherTask = 814;
constexpr uint64_t kPageMask = ~(kPage - 1);

// A thread of a new task (kOtherTask) at `code`, paged by kPager, to access `addr`.
bool start_in_other_task(const char* code, uint64_t addr, uint64_t value)
{
    reset_probe(addr, value);
    KREQUIRE_EQ_OR(l4::factory_create(kFactory, ObjectKind::task, kOtherTask, 16), Error::ok, false);
    KREQUIRE_EQ_OR(l4::factory_create(kFactory, ObjectKind::thread, kVictim, kOtherTask, kMainPriority), Error::ok,
                   false);
    KREQUIRE_EQ_OR(l4::thread_control(kVictim, ThreadOp::set_pager, kPager), Error::ok, false);
    KREQUIRE_EQ_OR(l4::thread_control(kVictim, ThreadOp::set_exception_handler, kHandler), Error::ok, false);
    KREQUIRE_EQ_OR(start_thread(kVictim, reinterpret_cast<ThreadBody>(const_cast<char*>(code))), Error::ok, false);
    return true;
}

bool stop_other_task()
{
    KREQUIRE_EQ_OR(release_slot(kVictim), Error::ok, false);
    KREQUIRE_EQ_OR(l4::cap_delete(kOtherTask), Error::ok, false);
    return true;
}

// The probe's fault on the test's page, left waiting for the pager's reply.
struct TargetFault {
    bool seen = false;
    uint64_t address = 0, access = 0, rip = 0;
};

// Serves the probe's faults on ktest's own pages (mapped at the same address, with the
// rights its access needs) until it faults on the page at `target` or `reached` holds.
template <typename Predicate>
TargetFault serve(uint64_t target, Predicate reached)
{
    TargetFault f;
    for (uint64_t i = 0; i <= kMaxYields && !reached(); ++i) {
        l4::Message m;
        if (l4::receive(kPager, m, abi::kTimeoutZero) != Error::ok) {
            l4::yield();
            continue;
        }
        KREQUIRE_EQ_OR(m.tag.label(), abi::label::page_fault, f);
        if ((m.words[0] & kPageMask) == (target & kPageMask)) {
            f = TargetFault{true, m.words[0], m.words[1], m.words[2]};
            return f;
        }
        uint64_t rights = m.words[1] == page_rights::execute ? page_rights::read | page_rights::execute : kRw;
        if (!reply_mapping(page_at(m.words[0] & kPageMask, rights), m.words[0]))
            return f;
    }
    return f;
}

bool stage(uint64_t n) { return __atomic_load_n(&kt_mt_stage, __ATOMIC_SEQ_CST) == n; }

// Expects the probe to fault on `addr` with `access` at `rip`; false (reported) otherwise.
bool expect_target_fault(uint64_t addr, uint64_t access, const char* rip)
{
    TargetFault f = serve(addr, [] { return kt_mt_done != 0; });
    KEXPECT_EQ(f.seen, true);
    KEXPECT_EQ(f.address, addr);
    KEXPECT_EQ(f.access, access);
    KEXPECT_EQ(f.rip, address(rip));
    return f.seen && f.address == addr && f.access == access && f.rip == address(rip);
}

// Starts `code` in a second task and serves it until its first access, at `addr`, has been
// mapped from `page` and made (stage 1): its translation is cached then.
bool first_access_done(const char* code, const char* first, uint64_t addr, uint64_t value, uint64_t access,
                       Flexpage page)
{
    if (!start_in_other_task(code, addr, value) || !expect_target_fault(addr, access, first) ||
        !reply_mapping(page, addr))
        return false;
    TargetFault f = serve(addr, [] { return stage(1); });
    KEXPECT_EQ(f.seen, false);
    KREQUIRE_EQ_OR(stage(1), true, false);
    return true;
}

} // namespace

// The probe reads its page, waits; the page is unmapped meanwhile; its next read faults.
MEMORY_TEST_WITH(memory_unmap_reaches_a_space_that_is_not_running, 20, 20, 0x7100'0000, kPager)
{
    uint64_t x = b + 0x28;
    if (!first_access_done(kt_tlb_reader, kt_tlb_reader_first, x, 0, page_rights::read, page_at(a, page_rights::read)))
        return;
    KEXPECT_EQ(kt_mt_value, 0x7100'0000 + 5);
    KEXPECT_EQ(memory_unmap(page_at(a, page_rights::all), 0), Error::ok); // the derived ones
    kt_mt_value = 0;
    set_flag(kt_mt_stage, 2);
    expect_target_fault(x, page_rights::read, kt_tlb_reader_second);
    KEXPECT_EQ(kt_mt_done, 0);
    KEXPECT_EQ(kt_mt_value, 0);
    stop_other_task();
}

// The probe writes its page, waits; the write right is taken meanwhile; its next write faults
// and leaves the page as it was.
MEMORY_TEST_WITH(memory_write_right_taken_from_a_space_that_is_not_running, 21, 21, 0x7200'0000, kPager)
{
    uint64_t x = b + 0x30;
    if (!first_access_done(kt_tlb_writer, kt_tlb_writer_first, x, 0x5151, page_rights::write, page_at(a)))
        return;
    auto* shared = reinterpret_cast<volatile uint64_t*>(a + 0x30);
    KEXPECT_EQ(*shared, 0x5151);
    KEXPECT_EQ(memory_unmap(page_at(a, page_rights::write), 0), Error::ok);
    kt_mt_wval = 0x5252;
    set_flag(kt_mt_stage, 2);
    expect_target_fault(x, page_rights::write, kt_tlb_writer_second);
    KEXPECT_EQ(kt_mt_done, 0);
    KEXPECT_EQ(*shared, 0x5151);
    stop_other_task();
}

// A task reads its page and is destroyed; a new task (which gets its TLB tag) must fault
// at the same address, where it has nothing mapped.
MEMORY_TEST_WITH(memory_new_task_sees_nothing_of_a_destroyed_one, 22, 22, 0x7300'0000, kPager)
{
    uint64_t x = b + 0x40;
    if (!first_access_done(kt_tlb_reader, kt_tlb_reader_first, x, 0, page_rights::read, page_at(a, page_rights::read)))
        return;
    KEXPECT_EQ(kt_mt_value, 0x7300'0000 + 8);
    if (!stop_other_task() || !start_in_other_task(kt_tlb_reader, x, 0))
        return;
    expect_target_fault(x, page_rights::read, kt_tlb_reader_first);
    KEXPECT_EQ(kt_mt_stage, 0);
    KEXPECT_EQ(kt_mt_value, 0);
    stop_other_task();
}
