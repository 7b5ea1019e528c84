// The system-call fuzzer (fuzz.cpp), run as sigma0: its capability slots, its scratch memory,
// the argument generators (fuzz_gen.cpp) and its own threads (fuzz_peers.cpp).
//
// What keeps the fuzzer alive while it throws anything at the kernel:
// - Reserved slots [48, 96) are never named by a random call, but for the copy sources
//   (kRendezvous, kPulse, kFuzzFactory), IPC with the helper (kRendezvous) and the threads it
//   starts (kForeignTasks, kForeignPager); the pool, [3, 48) and [96, 1024), is emptied by every
//   sweep. Slots 0-2 (its task, thread, factory) are never deleted or revoked, and the thread
//   operations that would stop or redirect a thread are not applied to its own.
// - Memory: mappings only land in D (kScratchD, 8 MiB nobody touches), pages are granted away
//   or unmapped with self = 1 only from S (8 MiB of sigma0's window, which maps back on a
//   touch) and D. Every other flexpage passed is either malformed or only mapped (grant 0).
// - Threads it starts run fz_stub (a few system calls and thread_exit, no stack) or fault at
//   once: every instruction pointer passed (start, write_registers, exception replies) is one
//   of safe_ip()'s.
// - Its own waits are bounded (timeouts 0 or a few ticks) or ended by a partner it owns.
#pragma once

#include "helpers.hpp"

#include "../../unit/xorshift.hpp"

namespace fz {

using kt::Error;
using kt::Selector;
namespace abi = l4::abi;

using Rng = XorShift;

// Reserved slots.
constexpr Selector kHelper = 48;       // thread: receives on kRendezvous and answers (fuzz_peers.cpp)
constexpr Selector kRescuer = 49;      // thread: the partner of the long waits on kRescue
constexpr Selector kRendezvous = 50;   // endpoint the helper waits on (random calls may copy it)
constexpr Selector kRescue = 51;       // endpoint of the long waits
constexpr Selector kPulse = 52;        // notification the stub threads signal (copyable)
constexpr Selector kSleep = 53;        // endpoint nobody sends to: receiving on it sleeps
constexpr Selector kFuzzFactory = 54;  // the quota random creations use (copyable)
constexpr Selector kCheckFactory = 55; // the liveness check's quota
constexpr Selector kCheckFirst = 56;   // 56..59: the liveness check's objects
constexpr Selector kMeasure = 60;      // quota measurements
constexpr Selector kIrqSink = 61;      // notification the IRQ lines are bound to at a sweep
constexpr Selector kRescueNote = 62;   // wakes the rescuer
constexpr Selector kForeignPager = 63; // kRendezvous, badged kForeignBadge: pager of other tasks' threads
constexpr Selector kIoPorts = abi::boot::kIoPortsSelector;
constexpr Selector kIrqBase = abi::boot::kIrqSelectorBase;
constexpr Selector kBackupBase = 64;     // + line: the IRQ lines' capabilities; + 16: the I/O ports'
constexpr Selector kForeignFactory = 81; // pays for the foreign tasks (never exhausted, never swept)
constexpr Selector kForeignTasks = 82;   // 82..85: tasks whose threads run the stub in their own space
constexpr uint64_t kForeignTaskCount = 4;
// The hostile ops (fuzz_hostile.cpp):
constexpr Selector kTrapThread = 86;      // a thread of ours with kTrapEndpoint as handler, one op long
constexpr Selector kTrapEndpoint = 87;    // where its exceptions (and kBlockedThread's) arrive
constexpr Selector kChainPager = 88;      // pager of the first task of a mapping chain
constexpr Selector kBlockedThread = 89;   // a thread blocked in IPC whose registers are rewritten
constexpr Selector kBlockedEndpoint = 90; // where it blocks
constexpr Selector kBlockedBadged = 91;   // the same, badged kBlockedBadge
constexpr Selector kChainFactory = 92;    // pays for one chain op (made and deleted by it)
constexpr Selector kAlwaysEmpty = 93;     // never filled: invalid_selector for sure
constexpr Selector kNobody = 94;          // an endpoint only the trap thread uses: its IPC times out
constexpr uint64_t kBlockedBadge = 0xb10c;
constexpr Selector kReservedFirst = 48, kReservedEnd = 96;
constexpr Selector kPoolLow = 3;                  // the pool: [kPoolLow, kReservedFirst) and [kReservedEnd, kSlots)
constexpr Selector kHotFirst = 96, kHotEnd = 192; // where random objects mostly go
constexpr uint64_t kCascadeLine = 2;              // no capability

constexpr uint64_t kMainPriority = kt::kMainPriority;
constexpr uint64_t kRescuerPriority = 50;

// Scratch memory: S in sigma0's window (the top of the highest free region), D elsewhere.
constexpr uint64_t kScratchOrder = 23;
constexpr uint64_t kScratchSize = uint64_t{1} << kScratchOrder;
constexpr uint64_t kScratchD = 0x20000000;
constexpr uint64_t kImage = 0x400000, kImageOrder = 22; // user.ld: our image, within 4 MiB at 4 MiB
extern uint64_t scratch_s;                              // set by fuzz.cpp before anything runs

// The bug=N option (0: every regression check). Kernel bug 3 (fuzz.cpp show_bug_3, fixed): a
// mapping made into a task whose factory could not pay for the page table stayed in the mapping
// database when the task died. With regression 3 on, answers to page faults carry memory to any
// task; otherwise only to the foreign tasks (kForeignBadge), whose factory has room.
extern uint64_t known_bug;
inline bool regression(uint64_t n) { return known_bug == 0 || known_bug == n; }
bool may_map_into(uint64_t fault_label, uint64_t badge);

// Labels of the helper's protocol: an echo (the liveness check), and what the stubs send.
constexpr uint64_t kEchoLabel = 0xec40;
constexpr uint64_t kStubLabel = 0xf00d;
constexpr uint64_t kForeignBadge = 0xf0;

// The stub thread body (fuzz_peers.cpp): yield, signal kPulse, send to kRendezvous (2 ticks),
// yield, thread_exit. It uses no stack, so any number of threads may run it.
extern "C" char fz_stub[];

// Generators (fuzz_gen.cpp) ----------------------------------------------------------------

template <uint64_t N>
uint64_t pick(Rng& rng, const uint64_t (&values)[N])
{
    return values[rng.below(N)];
}

uint64_t edge_value(Rng& rng);    // 0, 1, ~0, powers of two, random
uint64_t any_address(Rng& rng);   // anywhere: kernel, non-canonical, image, scratch, top of user
uint64_t safe_ip(Rng& rng);       // fz_stub, or an address that faults at once
uint64_t short_timeout(Rng& rng); // 0 mostly, else a tick or two

Selector selector(Rng& rng); // any selector but the reserved ones
// Slots where objects of a kind (abi::ObjectKind) were made lately: typed() picks one of them
// (or any selector), so that calls meet the right type more often than chance.
void remember(uint64_t kind, Selector s);
Selector typed(Rng& rng, uint64_t kind);
Selector copy_source(Rng& rng); // selector(), or a copyable reserved one
Selector victim(Rng& rng);      // for delete and revoke: never 0-2
Selector factory_selector(Rng& rng);
bool reserved(Selector s);
bool in_pool(Selector s);
uint64_t receive_slot(Rng& rng); // never lets capabilities reach a reserved slot

bool in_scratch(abi::Flexpage page);                  // valid and inside S or D
bool refused(abi::Flexpage page, uint64_t max_order); // what the kernel must reject
abi::Flexpage flexpage(Rng& rng, bool only_scratch);  // only_scratch: valid ones lie in S or D
uint64_t receive_window(Rng& rng);                    // 0, inside D, or malformed
// Where memory_map_to puts `page` in another task: inside D, aligned, mostly; else an address the
// kernel must refuse (misaligned, kernel half, past the last user page, wrapping).
uint64_t map_destination(Rng& rng, abi::Flexpage page);
// What memory_unmap_in takes from another task: inside D (where the kernel may act), or malformed.
abi::Flexpage unmap_in_page(Rng& rng);
// The error memory_map_to must give, aimed at a task we hold with control (not our own):
// Error::ok for one it must carry out (or refuse only for the task's quota).
Error map_to_verdict(abi::Flexpage page, uint64_t destination, uint64_t flags);
uint64_t message_tag(Rng& rng);                        // labels, words, caps and pages in and out of range
bool tag_refused(uint64_t tag, const abi::Utcb& utcb); // what the kernel must refuse to send

// A random message: words, UTCB words (instruction pointer word sanitized), capability items,
// map items (safe), receive slot and window.
void random_message(Rng& rng, l4::Message& m, abi::Utcb& utcb);
void sanitize_registers(Rng& rng, abi::Utcb& utcb); // mr[] as ExceptionState: safe rip
void random_fpu_image(Rng& rng, abi::Utcb& utcb);   // mr[] as an FXSAVE image, its MXCSR good or not

// fuzz.cpp's bookkeeping, for the ops of fuzz_hostile.cpp -------------------------------------

constexpr uint32_t err_bit(Error e) { return 1u << static_cast<uint64_t>(e); }
// A system call (counted in the histogram) whose result must be in `allow` (0: every error
// docs/syscalls.md lets it return). record_call: one another thread made.
Error checked(uint64_t number, uint64_t rdi = 0, uint64_t rsi = 0, uint64_t rdx = 0, uint64_t r10 = 0, uint64_t r8 = 0,
              uint32_t allow = 0);
Error record_call(uint64_t number, uint64_t rdi, uint64_t rsi, uint64_t rdx, uint64_t r10, uint64_t r8, uint64_t result,
                  uint32_t allow);
bool check(bool holds, const char* what, uint64_t value = 0); // an UNEXPECTED report when false
bool slot_empty(Selector s);                                  // probed without changing anything
uint64_t quota_of(Selector factory);                          // kt::available, exact
Rng& fuzz_rng();
void count_skipped();

// Flags (fuzz_hostile.cpp): while call_flags is not 0, fuzz.cpp's system calls run with rflags
// = call_flags (popf) at the syscall instruction, and the flags after it must be as popf left
// them: the kernel gives the user's flags back (docs/syscalls.md: every register but rcx and
// r11 is preserved).
extern uint64_t call_flags;
uint64_t random_flags(Rng& rng, bool trap); // popf images: NT, AC, DF, RF, IOPL, TF (trap), ...
uint64_t popf_result(uint64_t flags);       // what popf at CPL 3 (IOPL 0) makes of them
void check_flags_after(uint64_t number, uint64_t wanted_flags, uint64_t flags_after);
Error flagged_syscall(uint64_t number, uint64_t rdi, uint64_t rsi, uint64_t rdx, uint64_t r10, uint64_t r8,
                      uint64_t& flags);
Error flagged_ipc(abi::Syscall number, Selector endpoint, l4::Message& m, uint64_t timeout, uint64_t& flags);

// The hostile ops (fuzz_hostile.cpp).
bool set_up_hostile();
void op_trap_syscall();    // class 1 with TF: a helper thread's popf + syscall, its #DB handled
void op_far_transfer();    // class 2: far jumps, calls, returns, iretq, segment loads, sysenter
void op_write_blocked();   // class 3: write_registers on a thread blocked in IPC
void op_chain_tasks();     // class 4: tasks each holding the only capability to the previous one
void op_chain_factories(); // nested factories, capabilities deleted from the top (or kept)
void op_chain_caps();      // capabilities derived from derived ones, then revoke or delete
void op_chain_mappings();  // a page mapped through a chain of tasks, then unmapped at the root
void print_hostile();

// Peers (fuzz_peers.cpp) ---------------------------------------------------------------------

// Starts the helper and the rescuer (their slots and endpoints exist); false on failure.
bool start_peers(uint64_t seed);
void stop_peers();
uint64_t helper_messages();
uint64_t stubs_mapped();
uint64_t peer_unexpected();

// A long wait on kRescue: the rescuer ends it `delay` ticks after the fuzzer blocked.
enum class Wait : uint64_t { receive, send, call };
void expect_rescue(Wait what, uint64_t delay);
void rescue_done();

} // namespace fz
