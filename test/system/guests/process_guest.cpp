// A guest kernel that makes processes of its own, the way pv-linux-shim does, with nothing but
// the capabilities the VMM handed it (its factory, StartInfo::factory_selector): no hypercall.
// Each process is a task with one foreign-ABI thread whose pager and exception handler is an
// endpoint of the guest's, badged with the process's number. The process runs code of the
// guest's own image (mapped into it read/execute at the same address) and makes Linux-style
// system calls, which arrive as exception IPC; its page faults arrive as pager IPC and are
// answered with pages of guest memory, which the guest then reads through its own mapping.
// At the end every process is gone and the guest's factory has every byte back.
// Prints "process-test: N passed, M failed" and powers off with status 0 when all passed.
#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "l4/quota.hpp"
#include "guest_checks.hpp"

namespace {

namespace abi = l4::abi;
using abi::Error;
using l4::Selector;

// The process's side: addresses in its own space, and the system calls it makes.
constexpr uint64_t kSharedAddress = 0x0000'1000'0000'0000; // faulted in: a page of guest memory
constexpr uint64_t kStackTop = 0x0000'2000'0000'0000;
constexpr uint64_t kForbiddenAddress = 0x0000'3000'0000'0000;    // the guest refuses this fault
constexpr uint64_t kGetpid = 39, kExit = 60, kSumOfThree = 1000; // numbers the guest answers
constexpr uint64_t kStackPages = 2;
constexpr uint64_t kRefused = 1; // a pager's reply label that refuses the fault

// The guest's selectors (its own from hc::kFirstGuestSelector on).
constexpr Selector kEndpoint = 16, kTask = 17, kThread = 18, kBadged = 19, kScratch = 20;
constexpr uint64_t kPriority = 40; // below the guest's vCPU: the guest answers at once
constexpr uint64_t kCycles = 50;   // processes made and destroyed to look for leaks

using guest_checks::expect;

uint64_t linux_syscall(uint64_t number, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0)
{
    asm volatile("syscall" : "+a"(number) : "D"(a0), "S"(a1), "d"(a2) : "rcx", "r11", "memory");
    return number;
}

// Runs in the process. Touches nothing of the guest's but its own (read-only) code.
[[noreturn]] void process_main()
{
    auto* shared = reinterpret_cast<volatile uint64_t*>(kSharedAddress);
    const uint64_t pid = linux_syscall(kGetpid);
    shared[0] = pid;                                    // a page fault first
    shared[1] = linux_syscall(kSumOfThree, 100, 20, 3); // 123
    asm volatile("ud2" ::: "memory");                   // the guest steps over it
    shared[2] = 0x5afe;                                 // after the ud2
    linux_syscall(kExit, 7);
    for (;;) {
    }
}

// Runs in the process too: a fault the guest refuses.
[[noreturn]] void wild_main()
{
    (void)*reinterpret_cast<volatile uint64_t*>(kForbiddenAddress);
    for (;;) {
    }
}

alignas(4096) uint8_t shared_page[4096];
alignas(4096) uint8_t stack_pages[kStackPages][4096];

Error map(uint64_t from, uint64_t to, uint64_t rights)
{
    uint64_t mapped = 0;
    return l4::memory_map_to(kTask, abi::Flexpage::make(from, 12, rights), to, mapped);
}

// A process running `entry` with number `pid`: its task, the guest's code and a stack mapped
// into it, a thread that sends its system calls and faults to kEndpoint badged `pid`.
Error make_process(void (*entry)(), uint64_t pid)
{
    const auto factory = static_cast<Selector>(l4::hc::start_info().factory_selector);
    namespace page_rights = abi::page_rights;
    Error e = l4::factory_create(factory, abi::ObjectKind::task, kTask, 16);
    const uint64_t image = l4::hc::start_info().memory_base, image_end = l4::hc::start_info().kernel_end;
    for (uint64_t page = image; e == Error::ok && page < image_end; page += 4096)
        e = map(page, page, page_rights::read | page_rights::execute);
    for (uint64_t i = 0; e == Error::ok && i < kStackPages; ++i)
        e = map(reinterpret_cast<uint64_t>(stack_pages[i]), kStackTop - (kStackPages - i) * 4096,
                page_rights::read | page_rights::write);
    if (e == Error::ok)
        e = l4::cap_copy(kEndpoint, kBadged, abi::rights::send, pid);
    if (e == Error::ok)
        e = l4::factory_create(factory, abi::ObjectKind::thread, kThread, kTask, kPriority);
    if (e == Error::ok)
        e = l4::thread_control(kThread, abi::ThreadOp::set_pager, kBadged);
    if (e == Error::ok)
        e = l4::thread_control(kThread, abi::ThreadOp::set_exception_handler, kBadged);
    if (e == Error::ok)
        e = l4::thread_control(kThread, abi::ThreadOp::set_foreign_abi, abi::foreign_abi::short_message);
    if (e == Error::ok)
        e = l4::thread_start(kThread, reinterpret_cast<uint64_t>(entry), kStackTop - 8);
    return e;
}

void destroy_process()
{
    constexpr Selector kObjects[] = {kThread, kTask, kBadged}; // the thread first: nothing runs meanwhile
    for (const Selector s : kObjects)
        (void)l4::cap_delete(s);
}

// What the process asked, answered as a kernel would; false when it is done (exit or refused).
bool serve(l4::Message& m, uint64_t pid, uint64_t& exit_code)
{
    expect(m.badge == pid, "the badge names the process", m.badge);
    const uint64_t label = m.tag.label();
    if (label == abi::label::foreign_syscall) {
        const uint64_t number = m.words[0];
        if (number == kExit) {
            exit_code = m.words[1];
            return false;
        }
        const uint64_t result = number == kGetpid       ? pid
                                : number == kSumOfThree ? m.words[1] + m.words[2] + m.words[3]
                                                        : static_cast<uint64_t>(-38); // ENOSYS
        m = l4::Message{};
        m.tag = abi::MessageTag::make(abi::reply_label::resume_with_rax, 1);
        m.words[0] = result;
        return true;
    }
    if (label == abi::label::page_fault) {
        const uint64_t page = m.words[0] & ~uint64_t{4095};
        m = l4::Message{};
        if (page != kSharedAddress) {
            m.tag = abi::MessageTag::make(kRefused, 0); // not 0: the thread stops
            exit_code = page;
            return false;
        }
        l4::utcb()->send_pages[0] = abi::MapItem{abi::Flexpage::make(reinterpret_cast<uint64_t>(shared_page), 12,
                                                                     abi::page_rights::read | abi::page_rights::write)
                                                     .raw,
                                                 page, 0};
        m.tag = abi::MessageTag::make(0, 0, 0, 1);
        return true;
    }
    // An exception: the full state, words 0-5 in registers and the rest in the UTCB.
    abi::ExceptionState state;
    uint64_t words[abi::kExceptionWords];
    memcpy(words, m.words, sizeof m.words);
    memcpy(words + abi::kRegisterWords, l4::utcb()->mr + abi::kRegisterWords, sizeof words - sizeof m.words);
    memcpy(&state, words, sizeof state);
    expect(label == abi::label::exception && state.vector == 6, "an invalid opcode", state.vector);
    state.rip += 2; // over the ud2
    memcpy(words, &state, sizeof state);
    memcpy(l4::utcb()->mr, words, sizeof words);
    m = l4::Message{};
    m.tag = abi::MessageTag::make(abi::reply_label::resume_with_registers, abi::kExceptionWords);
    memcpy(m.words, words, sizeof m.words);
    return true;
}

// Runs the process until it is done; its exit code, or the address of a refused fault.
uint64_t run(uint64_t pid)
{
    l4::Message m;
    uint64_t exit_code = ~uint64_t{0};
    Error e = l4::receive(kEndpoint, m);
    while (e == Error::ok && serve(m, pid, exit_code))
        e = l4::reply_wait(kEndpoint, m);
    expect(e == Error::ok, "the process's messages arrive", static_cast<uint64_t>(e));
    if (m.tag.label() == kRefused) // the thread stops for good; an exit gets no answer at all
        expect(l4::reply(m) == Error::ok, "the refusal is delivered");
    return exit_code;
}

void check_one_process()
{
    memset(shared_page, 0, sizeof shared_page);
    expect(make_process(process_main, 4242) == Error::ok, "make a process");
    const uint64_t code = run(4242);
    const auto* shared = reinterpret_cast<const volatile uint64_t*>(shared_page);
    expect(code == 7, "exit(7)", code);
    expect(shared[0] == 4242, "getpid answered with the badge's pid", shared[0]);
    expect(shared[1] == 123, "three arguments summed", shared[1]);
    expect(shared[2] == 0x5afe, "resumed after the ud2", shared[2]);
    destroy_process();
    l4::hc::println("process-test: a process ran: getpid {}, sum {}, exit {}", shared[0], shared[1], code);
}

void check_refused_fault()
{
    expect(make_process(wild_main, 7) == Error::ok, "make a wild process");
    const uint64_t address = run(7);
    expect(address == kForbiddenAddress, "its fault is the one refused", address);
    destroy_process();
}

} // namespace

// The vCPU starts in crt0.S with rsp at the top of guest memory.
extern "C" [[noreturn]] void l4_start()
{
    guest_checks::prefix = "process-test: ";
    const auto factory = static_cast<Selector>(l4::hc::start_info().factory_selector);
    expect(l4::factory_create(factory, abi::ObjectKind::endpoint, kEndpoint) == Error::ok, "an endpoint");
    const uint64_t free_before = l4::factory_free_bytes(factory, kScratch);
    check_one_process();
    check_refused_fault();
    for (uint64_t i = 0; i < kCycles; ++i) {
        expect(make_process(process_main, 100 + i) == Error::ok, "make a process again");
        const uint64_t code = run(100 + i);
        expect(code == 7, "it exits with 7 again", code);
        destroy_process();
    }
    const uint64_t free_after = l4::factory_free_bytes(factory, kScratch);
    expect(free_after == free_before, "every byte of kernel memory back", free_before - free_after);
    l4::hc::println("process-test: {} processes made and gone; kernel memory {} bytes free before, {} after",
                    kCycles + 2, free_before, free_after);
    guest_checks::finish();
}
