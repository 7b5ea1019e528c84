// futex(2) (futex.hpp).
#include "futex.hpp"

#include "l4/hypercall.hpp"
#include "linux_abi.hpp"

namespace shim {

namespace {

using namespace linux_abi;

constexpr int kETIMEDOUT = 110;
constexpr uint64_t kWait = 0, kWake = 1, kWaitBitset = 9, kWakeBitset = 10;
constexpr uint64_t kPrivateFlag = 128, kClockRealtime = 256;
constexpr uint32_t kBitsetMatchAny = 0xffff'ffff;
constexpr uint64_t kNsPerSecond = 1'000'000'000;

uint64_t error(int errno_value) { return static_cast<uint64_t>(-static_cast<int64_t>(errno_value)); }

// Where a futex word is: `space` 0 for a shim address (a shared page), else the pid.
struct Key {
    uint64_t space, address;
    bool operator==(const Key&) const = default;
};

// One waiting process (each has one thread, so at most one wait each).
struct Waiter {
    Process* process;
    uint64_t pid;
    Key key;
    uint32_t bitset;
    bool woken;
};
constexpr uint64_t kMaxWaiters = 64;
Waiter waiters[kMaxWaiters] = {};

// A waiter whose process still waits in futex; others (gone, or off to another call) are free.
bool live(const Waiter& w)
{
    return w.process != nullptr && w.process->exists() && w.process->pid() == w.pid && w.process->waiting;
}

Waiter* waiter_of(const Process& p)
{
    for (Waiter& w : waiters)
        if (w.process == &p && w.pid == p.pid())
            return &w;
    return nullptr;
}

// The key of the word at `address`; false for EFAULT (a shared key needs the word's page).
bool key_of(Process& p, uint64_t address, bool is_private, Key& key)
{
    key = Key{p.pid(), address};
    if (is_private)
        return true;
    const uint64_t at = p.resolve(address, kRead);
    if (at == 0)
        return false;
    if (p.is_shared(address))
        key = Key{0, at};
    return true;
}

uint64_t wait(Process& p, const l4::abi::ForeignSyscall& c, uint64_t cmd, uint32_t bitset, Outcome& outcome)
{
    if (p.waiting) { // tried again: woken, timed out, or still waiting
        Waiter* w = waiter_of(p);
        const bool timed_out = p.wake_deadline != 0 && l4::hc::now_ns() >= p.wake_deadline;
        if (w != nullptr && !w->woken && !timed_out) {
            outcome = Outcome::wait;
            return 0;
        }
        const bool woken = w != nullptr && w->woken;
        if (w != nullptr)
            *w = Waiter{};
        p.wake_deadline = 0;
        return woken ? 0 : error(kETIMEDOUT);
    }
    if ((c.rdi & 3) != 0 || bitset == 0)
        return error(kEINVAL);
    uint64_t deadline = 0;
    if (c.r10 != 0) {
        int64_t span[2];
        if (!p.copy_in(span, c.r10, sizeof span))
            return error(kEFAULT);
        if (span[0] < 0 || span[1] < 0 || span[1] >= static_cast<int64_t>(kNsPerSecond))
            return error(kEINVAL);
        // FUTEX_WAIT's timeout is relative, FUTEX_WAIT_BITSET's absolute (one clock here for both).
        deadline = static_cast<uint64_t>(span[0]) * kNsPerSecond + static_cast<uint64_t>(span[1]) +
                   (cmd == kWait ? l4::hc::now_ns() : 0);
        if (deadline == 0)
            deadline = 1; // 0 says "no deadline": an absolute time of 0 is long past anyway
    }
    Key key;
    uint32_t value = 0;
    if (!key_of(p, c.rdi, (c.rsi & kPrivateFlag) != 0, key) || !p.copy_in(&value, c.rdi, sizeof value))
        return error(kEFAULT);
    if (value != static_cast<uint32_t>(c.rdx))
        return error(kEAGAIN);
    Waiter* slot = waiter_of(p); // a wait it left unfinished (a signal) is over
    for (Waiter& w : waiters)
        if (slot == nullptr && !live(w))
            slot = &w;
    if (slot == nullptr)
        return error(kENOMEM);
    *slot = Waiter{&p, p.pid(), key, bitset, false};
    if (deadline != 0 && l4::hc::now_ns() >= deadline) {
        *slot = Waiter{};
        return error(kETIMEDOUT);
    }
    p.wake_deadline = deadline;
    outcome = Outcome::wait;
    return 0;
}

// Wakes up to `count` waiters of the word (at least one, as Linux does for a count of 0).
uint64_t wake(Process& p, const l4::abi::ForeignSyscall& c, uint32_t bitset)
{
    if ((c.rdi & 3) != 0 || bitset == 0)
        return error(kEINVAL);
    Key key;
    if (!key_of(p, c.rdi, (c.rsi & kPrivateFlag) != 0, key))
        return error(kEFAULT);
    const auto count = static_cast<int32_t>(c.rdx);
    const int32_t limit = count > 0 ? count : 1;
    int32_t woken = 0;
    for (Waiter& w : waiters)
        if (woken < limit && live(w) && !w.woken && w.key == key && (w.bitset & bitset) != 0) {
            w.woken = true;
            ++woken;
        }
    return static_cast<uint64_t>(woken);
}

} // namespace

Outcome sys_futex(Process& p, const l4::abi::ForeignSyscall& c, uint64_t& result)
{
    Outcome outcome = Outcome::resume;
    const uint64_t cmd = c.rsi & ~(kPrivateFlag | kClockRealtime);
    if ((c.rsi & kClockRealtime) != 0 && cmd != kWaitBitset) {
        result = error(kENOSYS);
        return outcome;
    }
    switch (cmd) {
    case kWait: result = wait(p, c, cmd, kBitsetMatchAny, outcome); break;
    case kWaitBitset: result = wait(p, c, cmd, static_cast<uint32_t>(c.r9), outcome); break;
    case kWake: result = wake(p, c, kBitsetMatchAny); break;
    case kWakeBitset: result = wake(p, c, static_cast<uint32_t>(c.r9)); break;
    default: result = error(kENOSYS); break; // as Linux answers an operation it does not know
    }
    return outcome;
}

} // namespace shim
