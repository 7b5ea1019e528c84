// Helpers for the ktest cases: the stack pool, thread start-up, polled IPC.
#include "helpers.hpp"

#include "l4/quota.hpp"

extern "C" char __image_end[];

// void kt_raw_syscall(RawRegisters* r): loads every register from *r, executes `syscall`, and
// stores every register back into *r.
asm(R"(
    .text
    .globl kt_raw_syscall
kt_raw_syscall:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdi
    mov 0(%rdi), %rax
    mov 8(%rdi), %rbx
    mov 16(%rdi), %rcx
    mov 24(%rdi), %rdx
    mov 32(%rdi), %rsi
    mov 48(%rdi), %rbp
    mov 56(%rdi), %r8
    mov 64(%rdi), %r9
    mov 72(%rdi), %r10
    mov 80(%rdi), %r11
    mov 88(%rdi), %r12
    mov 96(%rdi), %r13
    mov 104(%rdi), %r14
    mov 112(%rdi), %r15
    mov 40(%rdi), %rdi
    syscall
    xchg %rdi, (%rsp)
    mov %rax, 0(%rdi)
    mov %rbx, 8(%rdi)
    mov %rcx, 16(%rdi)
    mov %rdx, 24(%rdi)
    mov %rsi, 32(%rdi)
    mov %rbp, 48(%rdi)
    mov %r8, 56(%rdi)
    mov %r9, 64(%rdi)
    mov %r10, 72(%rdi)
    mov %r11, 80(%rdi)
    mov %r12, 88(%rdi)
    mov %r13, 96(%rdi)
    mov %r14, 104(%rdi)
    mov %r15, 112(%rdi)
    pop %rax
    mov %rax, 40(%rdi)
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret
)");

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

uint64_t available(Selector factory, Selector scratch) { return l4::factory_free_bytes(factory, scratch); }

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

bool make_image_task(Selector sub, uint64_t quota, Selector task, uint64_t slots)
{
    constexpr uint64_t kImage = 0x400000, kImageOrder = 22, kPage = 4096; // libl4/user.ld
    uint64_t image_pages = (reinterpret_cast<uint64_t>(__image_end) + kPage - 1 - kImage) / kPage;
    KREQUIRE_EQ_OR(l4::factory_create(kFactory, ObjectKind::factory, sub, quota), Error::ok, false);
    KREQUIRE_EQ_OR(l4::factory_create(sub, ObjectKind::task, task, slots), Error::ok, false);
    uint64_t mapped = 0;
    auto image = abi::Flexpage::make(kImage, kImageOrder, abi::page_rights::all);
    KREQUIRE_EQ_OR(l4::memory_map_to(task, image, kImage, mapped), Error::ok, false);
    KREQUIRE_EQ_OR(mapped, image_pages, false);
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
