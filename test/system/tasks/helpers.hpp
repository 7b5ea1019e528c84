// Helpers for the ktest cases: second threads in our own task, bounded waits, slot cleanup.
#pragma once

#include <stdint.h>

#include "ktest.hpp"
#include "l4/abi/boot.hpp"
#include "l4/abi/boot_info.hpp"
#include "l4/syscall.hpp"

namespace kt {

using l4::Error;
using l4::Selector;
namespace abi = l4::abi;
namespace rights = l4::abi::rights;
using abi::ObjectKind;
using abi::ThreadOp;

constexpr Selector kTask = abi::boot::kTaskSelector;
constexpr Selector kSelf = abi::boot::kThreadSelector;
constexpr Selector kFactory = abi::boot::kFactorySelector;
constexpr Selector kSlots = abi::boot::kBootTaskSlots;

constexpr uint64_t kMainPriority = 100; // the boot task's first thread
constexpr uint64_t kMaxYields = 100000; // bound of every wait
constexpr uint64_t kKernelAddress = 0xffffffff80200000;
constexpr uint64_t kNonCanonical = uint64_t{1} << 47;

using ThreadBody = void (*)(); // [[noreturn]], ends with l4::thread_exit()

// factory_create(thread) in our own task (or `task`), not started.
Error create_thread(Selector slot, uint64_t priority = kMainPriority, Selector task = kTask);
// Starts the thread at `slot` on a stack of the pool (kept until release_slot(slot)).
Error start_thread(Selector slot, ThreadBody body);
// The stack pointer start_thread gave the thread at `slot` (0 if none).
uint64_t initial_sp(Selector slot);
// Both; on a failed start the thread is deleted again.
Error spawn_thread(Selector slot, ThreadBody body, uint64_t priority = kMainPriority);

// cap_delete, and gives back the pool stack of a thread that lived there.
Error release_slot(Selector slot);

// Objects of the boot factory.
inline Error make(Selector slot, ObjectKind kind) { return l4::factory_create(kFactory, kind, slot); }

// make(), checked: false (after a failure report) when it fails.
bool made(Selector slot, ObjectKind kind);

// The boot information, and the quota our boot factory started with (ktest is sigma0).
inline const abi::BootInfo& boot_info() { return *reinterpret_cast<const abi::BootInfo*>(abi::kBootInfoAddress); }
inline uint64_t boot_quota() { return boot_info().sigma0_quota; }

// What `factory` can still give: the largest quota a new sub-factory of it may carry (its
// remaining bytes less one factory object), found bit by bit with sub-factories made at
// `scratch` (an empty slot) and deleted again. Quotas compare to the byte this way.
uint64_t available(Selector factory, Selector scratch);

// A task for threads that run our code: a factory of `quota` bytes at `sub` (made by the boot
// factory), a task of `slots` capability slots at `task` made by it, and our whole image mapped
// into it at our addresses (so its threads share our globals); false (reported) on a failure.
bool make_image_task(Selector sub, uint64_t quota, Selector task, uint64_t slots);

// notify_poll's bits (expects it to succeed), and its error alone.
uint64_t poll_bits(Selector notification);
Error poll_error(Selector notification);

// Empties [first, end) on construction and again on destruction, so a failing test leaves
// no capabilities behind (threads first: give them the lowest selectors of the range).
struct Slots {
    Selector first, end;
    Slots(Selector f, Selector e);
    ~Slots();
    Slots(const Slots&) = delete;
    Slots& operator=(const Slots&) = delete;
};

// Sets a flag another thread waits for, after every store before it (compiler barrier:
// one CPU).
inline void set_flag(volatile uint64_t& flag, uint64_t value = 1) { __atomic_store_n(&flag, value, __ATOMIC_SEQ_CST); }

// Yields until done() holds, at most max_yields times; false on giving up.
template <typename Predicate>
bool wait_until(Predicate done, uint64_t max_yields = kMaxYields)
{
    bool ok = false;
    for (uint64_t i = 0; i <= max_yields && !ok; ++i) {
        ok = done();
        if (!ok && i < max_yields)
            l4::yield();
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return ok;
}

inline bool wait_flag(const volatile uint64_t& flag, uint64_t value = 1)
{
    return wait_until([&] { return flag == value; });
}

inline void yield_times(uint64_t n)
{
    for (uint64_t i = 0; i < n; ++i)
        l4::yield();
}

// spawn_thread, checked; then waits until the thread has set `started`, and yields `yields`
// times more (so that it blocks where it was going to). False when the spawn failed.
bool spawn_started(Selector slot, ThreadBody body, const volatile uint64_t& started, uint64_t yields);

// receive with kTimeoutZero, yielding between tries until a sender comes (bounded): the
// main thread never blocks on a broken kernel.
Error receive_polled(Selector endpoint, l4::Message& m, uint64_t max_yields = kMaxYields);
// send with kTimeoutZero, the same way, until a receiver waits.
Error send_polled(Selector endpoint, const l4::Message& m, uint64_t max_yields = kMaxYields);

// Message words 0..5 from registers into the UTCB (mr[0..5]), so that mr[] is the message.
void gather_words(const l4::Message& m);
// The other way, before a send: mr[0..5] into the register words.
void scatter_words(l4::Message& m);

// Every general register but rsp, as a raw system call (kt_raw_syscall) takes and leaves them:
// tests of which registers the kernel writes and which it keeps.
struct RawRegisters {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};
static_assert(sizeof(RawRegisters) == 15 * 8, "helpers.cpp's kt_raw_syscall knows the offsets");
extern "C" void kt_raw_syscall(RawRegisters* r);
// Message word i (0..5) as it travels: r8, r9, r12, r13, r14, r15.
inline uint64_t& raw_word(RawRegisters& r, uint64_t i)
{
    uint64_t* words[abi::kRegisterWords] = {&r.r8, &r.r9, &r.r12, &r.r13, &r.r14, &r.r15};
    return *words[i];
}

inline abi::ExceptionState& utcb_state() { return *reinterpret_cast<abi::ExceptionState*>(l4::utcb()->mr); }

} // namespace kt

// A test with a fixture: slots [first, end) are emptied around it (Slots), and its body runs
// only when `setup` holds (an expression that reports its own failures).
#define KTEST_F(name, first, end, setup)                                                                               \
    static void ktest_body_##name();                                                                                   \
    KTEST(name)                                                                                                        \
    {                                                                                                                  \
        kt::Slots ktest_slots((first), (end));                                                                         \
        if (setup)                                                                                                     \
            ktest_body_##name();                                                                                       \
    }                                                                                                                  \
    static void ktest_body_##name()

// KEXPECT_EQ that ends the test on a mismatch (Slots cleans up).
#define KREQUIRE_EQ(actual, expected) KREQUIRE_EQ_OR(actual, expected, )

// The same for a helper of a test: on a mismatch it returns `fallback` (say false), so that
// its caller can end the test in turn.
#define KREQUIRE_EQ_OR(actual, expected, fallback)                                                                     \
    do {                                                                                                               \
        auto ktest_ra = static_cast<uint64_t>(actual);                                                                 \
        auto ktest_re = static_cast<uint64_t>(expected);                                                               \
        if (!ktest::expect_eq(__FILE__, __LINE__, #actual, ktest_ra, ktest_re))                                        \
            return fallback;                                                                                           \
    } while (0)
