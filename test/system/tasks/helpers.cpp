// Helpers for the ktest cases: the stack pool, thread start-up, polled IPC.
#include "helpers.hpp"

namespace kt {
namespace {

constexpr uint64_t kStackSize = 16 * 1024;
constexpr uint64_t kStacks = 8;

alignas(16) uint8_t stacks[kStacks][kStackSize];
Selector stack_owner[kStacks]; // slot + 1 of the thread using it, 0 when free

int stack_of(Selector slot)
{
    for (uint64_t i = 0; i < kStacks; ++i)
        if (stack_owner[i] == slot + 1)
            return static_cast<int>(i);
    return -1;
}

int take_stack(Selector slot)
{
    int mine = stack_of(slot); // a thread that lived here before is gone
    if (mine >= 0)
        return mine;
    for (uint64_t i = 0; i < kStacks; ++i) {
        if (stack_owner[i] == 0) {
            stack_owner[i] = slot + 1;
            return static_cast<int>(i);
        }
    }
    return -1;
}

void free_stack(Selector slot)
{
    int i = stack_of(slot);
    if (i >= 0)
        stack_owner[i] = 0;
}

} // namespace

Error create_thread(Selector slot, uint64_t priority, Selector task)
{
    return l4::factory_create(kFactory, ObjectKind::thread, slot, task, priority);
}

Error start_thread(Selector slot, ThreadBody body)
{
    int i = take_stack(slot);
    if (i < 0) {
        l4::print("ktest: stack pool exhausted\n");
        return Error::out_of_memory;
    }
    // As if called: the return-address slot keeps the ABI's 16-byte alignment at entry.
    Error e = l4::thread_start(slot, reinterpret_cast<uint64_t>(body), initial_sp(slot));
    if (e != Error::ok && e != Error::busy)
        free_stack(slot);
    return e;
}

uint64_t initial_sp(Selector slot)
{
    int i = stack_of(slot);
    return i < 0 ? 0 : reinterpret_cast<uint64_t>(&stacks[i][kStackSize]) - 8;
}

Error spawn_thread(Selector slot, ThreadBody body, uint64_t priority)
{
    Error e = create_thread(slot, priority);
    if (e != Error::ok)
        return e;
    e = start_thread(slot, body);
    if (e != Error::ok)
        release_slot(slot);
    return e;
}

uint64_t available(Selector factory, Selector scratch)
{
    uint64_t quota = 0;
    for (uint64_t bit = uint64_t{1} << 40; bit != 0; bit >>= 1) {
        Error e = l4::factory_create(factory, ObjectKind::factory, scratch, quota | bit);
        if (e == Error::ok) {
            quota |= bit;
            KEXPECT_EQ(l4::cap_delete(scratch), Error::ok);
        } else {
            KEXPECT_EQ(e, Error::quota_exhausted); // anything else would measure nothing
        }
    }
    return quota;
}

Error release_slot(Selector slot)
{
    Error e = l4::cap_delete(slot);
    if (e == Error::ok || e == Error::invalid_selector)
        free_stack(slot);
    return e;
}

bool made(Selector slot, ObjectKind kind)
{
    KREQUIRE_EQ_OR(make(slot, kind), Error::ok, false);
    return true;
}

uint64_t poll_bits(Selector notification)
{
    uint64_t bits = ~uint64_t{0};
    KEXPECT_EQ(l4::notify_poll(notification, bits), Error::ok);
    return bits;
}

Error poll_error(Selector notification)
{
    uint64_t bits = 0;
    return l4::notify_poll(notification, bits);
}

bool spawn_started(Selector slot, ThreadBody body, const volatile uint64_t& started, uint64_t yields)
{
    KREQUIRE_EQ_OR(spawn_thread(slot, body), Error::ok, false);
    KEXPECT_EQ(wait_flag(started), true);
    yield_times(yields);
    return true;
}

Slots::Slots(Selector f, Selector e) : first(f), end(e)
{
    for (Selector s = first; s < end; ++s)
        release_slot(s);
}

Slots::~Slots()
{
    for (Selector s = first; s < end; ++s)
        release_slot(s);
}

Error receive_polled(Selector endpoint, l4::Message& m, uint64_t max_yields)
{
    for (uint64_t i = 0;; ++i) {
        m = l4::Message{};
        Error e = l4::receive(endpoint, m, abi::kTimeoutZero);
        if (e != Error::timeout || i >= max_yields)
            return e;
        l4::yield();
    }
}

Error send_polled(Selector endpoint, const l4::Message& m, uint64_t max_yields)
{
    for (uint64_t i = 0;; ++i) {
        Error e = l4::send(endpoint, m, abi::kTimeoutZero);
        if (e != Error::timeout || i >= max_yields)
            return e;
        l4::yield();
    }
}

void gather_words(const l4::Message& m)
{
    for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
        l4::utcb()->mr[i] = m.words[i];
}

void scatter_words(l4::Message& m)
{
    for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
        m.words[i] = l4::utcb()->mr[i];
}

} // namespace kt
