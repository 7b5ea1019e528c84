// The fake arch: host definitions of every arch function the generic kernel calls. The design
// is described in fake_arch.hpp and docs/architecture.md (Tests).
#include "fake_arch.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "arch/x86_64/cpu_local.hpp"
#include "arch/x86_64/fpu.hpp"
#include "arch/x86_64/gdt.hpp"
#include "arch/x86_64/kernel_stack.hpp"
#include "arch/x86_64/page_table.hpp"
#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/platform.hpp"
#include "arch/x86_64/serial.hpp"
#include "arch/x86_64/timer.hpp"
#include "arch/x86_64/tlb.hpp"
#include "arch/x86_64/user_state.hpp"
#include "memory.hpp"
#include "panic.hpp"
#include "scheduler.hpp"
#include "thread.hpp"
#include "vm.hpp"

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPhysBase = 0x100000;         // fake RAM starts at 1 MiB
constexpr uint64_t kPhysSize = 32 * 1024 * 1024; // 32 MiB of it

uint8_t* ram; // the host buffer behind [kPhysBase, kPhysBase + kPhysSize)
CpuLocal the_cpu;
uint64_t now;
std::vector<std::string> switch_log;
std::string log_text;
bool panicking;
uint64_t stacks;
uint64_t fast_leave_count;

uint64_t tables;           // table frames the page-table code holds (roots too)
uint64_t kernel_root_phys; // the fake kernel's root: one supervisor table in its upper half
uint64_t live_table;       // the root tlb::load made live
uint16_t last_tag;
fake::PagingWatch* paging_watch;

uint64_t zeroed_frame()
{
    uint64_t phys = memory::frames().alloc();
    std::memset(paging::phys_to_virt(phys), 0, kPage);
    return phys;
}

} // namespace

namespace fake {
void note_task_destruction(uint64_t depth);

void boot()
{
    static bool booted;
    if (booted)
        return;
    booted = true;
    ram = static_cast<uint8_t*>(std::aligned_alloc(kPage, kPhysSize));
    std::memset(ram, 0, kPhysSize);
    mem::PhysRange usable{kPhysBase, kPhysBase + kPhysSize};
    if (memory::frames().init(&usable, 1, nullptr, 0, paging::phys_to_virt, kPhysBase + kPhysSize) !=
        mem::FrameAllocator::InitError::none) {
        std::fprintf(stderr, "fake arch: frame allocator init failed\n");
        std::abort();
    }
    memory::init_heap();
    kernel_root_phys = zeroed_frame();
    static_cast<uint64_t*>(paging::phys_to_virt(kernel_root_phys))[511] =
        zeroed_frame() | paging::pte::present | paging::pte::writable;
    live_table = kernel_root_phys;
    the_cpu.self = &the_cpu;
    scheduler::init();
    the_cpu.current = the_cpu.idle;
    the_cpu.idle->set_state(Thread::State::running);
}

void set_ticks(uint64_t ticks) { now = ticks; }
const std::vector<std::string>& switches() { return switch_log; }
void clear_switches() { switch_log.clear(); }
uint64_t fast_leaves() { return fast_leave_count; }
const std::string& log() { return log_text; }
void clear_log() { log_text.clear(); }

void run_idle()
{
    the_cpu.current = the_cpu.idle;
    the_cpu.idle->set_state(Thread::State::running);
}

uint64_t live_kernel_stacks() { return stacks; }
uint64_t live_page_tables() { return tables; }
void watch_paging(PagingWatch* watch) { paging_watch = watch; }
uint64_t live_root() { return live_table; }

namespace {
uint64_t destructions, deepest, shallowest;
} // namespace

FaultReply fault_reply;
void set_fault_reply(FaultReply outcome) { fault_reply = outcome; }

void reset_task_destructions() { destructions = deepest = shallowest = 0; }
uint64_t task_destructions() { return destructions; }
uint64_t destruction_stack_spread() { return destructions == 0 ? 0 : shallowest - deepest; }

void note_task_destruction(uint64_t depth)
{
    if (destructions++ == 0)
        deepest = shallowest = depth;
    deepest = depth < deepest ? depth : deepest;
    shallowest = depth > shallowest ? depth : shallowest;
}

} // namespace fake

// --- The CPU: per-CPU state, the switch, FPU, TLB, MSRs, TSS.

CpuLocal& this_cpu() { return the_cpu; }

namespace cpu_local {
void set_kernel_stack(uint64_t stack_top) { the_cpu.kernel_stack = stack_top; }
} // namespace cpu_local

// Who got the CPU: load_context made it current just before.
extern "C" void switch_kernel_stack(uint64_t*, uint64_t) { switch_log.emplace_back(the_cpu.current->name()); }
// The IPC fast path's exit: who got the CPU, as for switch_kernel_stack.
extern "C" void fastpath_leave(uint64_t*, interrupts::InterruptFrame*, interrupts::InterruptFrame*)
{
    ++fast_leave_count;
    switch_log.emplace_back(the_cpu.current->name());
}
// Only its address is taken (a new thread's first return); it is never run.
extern "C" {
char thread_first_return[1];
}

namespace fpu {
void initial_state(State& state) { state = State{}; }
void save(State&) {}
void restore(const State&) {}
} // namespace fpu

namespace tlb {
void load(AddressSpace space) { live_table = space.root; }
uint16_t new_tag() { return last_tag = static_cast<uint16_t>(last_tag % 4095 + 1); }
void free_tag(uint16_t) {}
bool is_live(uint64_t root) { return root == live_table; }
void load_kernel(uint64_t kernel_root) { live_table = kernel_root; }
void invalidate(AddressSpace space, uint64_t virt, uint64_t pages)
{
    if (paging_watch != nullptr)
        paging_watch->invalidated(space, virt, pages);
}
} // namespace tlb

namespace arch {
void load_thread_bases(uint64_t, uint64_t) {}
} // namespace arch

namespace gdt {
void set_io_bitmap(const uint8_t*) {}
void forget_io_bitmap(const uint8_t*) {}
} // namespace gdt

// --- Kernel stacks: host memory (their frame charge is the generic code's, kChargedBytes).

namespace kernel_stack {
uint8_t* allocate()
{
    ++stacks;
    return static_cast<uint8_t*>(std::aligned_alloc(kPage, kSize));
}
void free(uint8_t* stack)
{
    --stacks;
    std::free(stack);
}
bool in_guard(uint64_t) { return false; }
size_t deepest_use() { return 0; }
void measure(const uint8_t*) {}
} // namespace kernel_stack

// --- Timer, platform, console, panic.

namespace timer {
uint64_t ticks() { return now; }
} // namespace timer

namespace platform {
void exit_if_requested(ExitCode) {}
bool leaves_emulator() { return false; }
bool ends_when_quiet() { return false; }
void pic_mask(uint32_t, bool) {}
void pic_end_of_interrupt(uint32_t) {}
} // namespace platform

namespace serial {
void write(const char* text, size_t length)
{
    log_text.append(text, length);
    if (panicking)
        std::fwrite(text, 1, length, stderr);
}
} // namespace serial

void panic_set_thread_namer(const char* (*)()) {}

namespace panic_detail {
void begin() { panicking = true; }
void finish()
{
    std::fprintf(stderr, "\nfake arch: kernel panic; the log was:\n%s\n", log_text.c_str());
    std::abort();
}
} // namespace panic_detail

// --- Paging: the direct map over the host buffer; table frames for the real page-table code.

namespace paging {

void* phys_to_virt(uint64_t phys)
{
    if (phys < kPhysBase || phys >= kPhysBase + kPhysSize) {
        std::fprintf(stderr, "fake arch: phys_to_virt(%#lx) outside fake RAM\n", static_cast<unsigned long>(phys));
        std::abort();
    }
    return ram + (phys - kPhysBase);
}

uint64_t direct_virt_to_phys(const void* virt)
{
    return kPhysBase + static_cast<uint64_t>(static_cast<const uint8_t*>(virt) - ram);
}

uint64_t kernel_root() { return kernel_root_phys; }

namespace table {
uint64_t alloc_frame()
{
    uint64_t phys = paging_watch != nullptr ? paging_watch->alloc_frame() : memory::frames().alloc();
    tables += phys != mem::FrameAllocator::kNone;
    return phys;
}
void free_frame(uint64_t phys)
{
    --tables;
    if (paging_watch != nullptr)
        paging_watch->free_frame(phys);
    else
        (void)memory::frames().free(phys);
}
uint64_t no_execute() { return pte::no_execute; }
} // namespace table

} // namespace paging

// --- vm: address-space numbers only; no memory moves by IPC in these tests.

namespace vm {
namespace {
std::set<uint32_t> registered;
} // namespace

uint32_t register_space(Task&)
{
    uint32_t space = 1;
    while (registered.count(space) != 0)
        ++space;
    registered.insert(space);
    return space;
}
void unregister_space(uint32_t space) { registered.erase(space); }
void release_space(Task&) { fake::note_task_destruction(reinterpret_cast<uint64_t>(__builtin_frame_address(0))); }
bool map_root(Task&, uint64_t, uint64_t, uint64_t) { return false; }
uint64_t transfer(Task&, const l4::abi::MapItem*, uint64_t, Task&, l4::abi::Flexpage) { return 0; }
Error transfer_charged(Task&, const l4::abi::MapItem*, uint64_t, Task&, l4::abi::Flexpage, uint64_t& moved)
{
    moved = fake::fault_reply.pages;
    return fake::fault_reply.refused ? Error::quota_exhausted : Error::ok;
}
bool page_mapped(Task&, uint64_t, uint64_t) { return fake::fault_reply.fault_page_mapped; }
bool check_items(const l4::abi::MapItem*, uint64_t) { return true; }

} // namespace vm
