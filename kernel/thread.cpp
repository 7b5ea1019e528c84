// Thread creation: a kernel stack laid out so the first switch to it "returns" to user mode.
#include "thread.hpp"

#include <new>

#include "arch/x86_64/gdt.hpp"
#include "memory.hpp"

extern "C" char thread_first_return[];

namespace {

constexpr uint64_t kUserFlags = 0x202;       // IF set, reserved bit 1
constexpr uint32_t kDefaultTimeSlice = 2;    // ticks
constexpr int kCalleeSaved = 6;              // what switch_kernel_stack pops

} // namespace

Thread::Thread(Task* task, uint8_t* kernel_stack, const char* name, uint8_t initial_priority)
    : cap::Object(cap::ObjectType::thread), kernel_stack_(kernel_stack), task_(task), state_(State::inactive),
      time_slice_(kDefaultTimeSlice), remaining_slice_(kDefaultTimeSlice), name_()
{
    priority = initial_priority;
    saved_kernel_rsp = 0;
    fs_base = 0;
    for (size_t i = 0; i + 1 < sizeof name_ && name[i] != '\0'; ++i)
        name_[i] = name[i];
}

Thread* Thread::allocate(Task* task, const char* name, uint8_t priority)
{
    void* memory = memory::heap().alloc(sizeof(Thread));
    if (memory == nullptr)
        return nullptr;
    auto* stack = static_cast<uint8_t*>(memory::heap().alloc(kKernelStackSize));
    if (stack == nullptr) {
        memory::release(memory, sizeof(Thread));
        return nullptr;
    }
    return new (memory) Thread(task, stack, name, priority);
}

Thread* Thread::create(Task* task, const char* name, uint8_t priority)
{
    Thread* thread = allocate(task, name, priority);
    if (thread != nullptr) {
        interrupts::InterruptFrame& frame = thread->user_frame();
        frame = interrupts::InterruptFrame{};
        frame.cs = gdt::kUserCode;
        frame.ss = gdt::kUserData;
        frame.rflags = kUserFlags;
        thread->prepare_first_switch(reinterpret_cast<uint64_t>(thread_first_return));
    }
    return thread;
}

Thread* Thread::create_kernel(const char* name, void (*body)())
{
    Thread* thread = allocate(nullptr, name, 0);
    if (thread != nullptr) {
        thread->prepare_first_switch(reinterpret_cast<uint64_t>(body));
        // `body` starts as if called: one more slot (a zero return address) keeps the ABI's
        // stack alignment and ends backtraces.
        auto* slot = reinterpret_cast<uint64_t*>(thread->saved_kernel_rsp);
        for (int i = 0; i <= kCalleeSaved; ++i)
            slot[i - 1] = slot[i];
        slot[kCalleeSaved] = 0;
        thread->saved_kernel_rsp -= 8;
    }
    return thread;
}

void Thread::destroy()
{
    memory::release(kernel_stack_, kKernelStackSize);
    this->~Thread();
    memory::release(this, sizeof(Thread));
}

void Thread::start(uint64_t ip, uint64_t sp)
{
    interrupts::InterruptFrame& frame = user_frame();
    frame.rip = ip;
    frame.rsp = sp;
}

interrupts::InterruptFrame& Thread::user_frame()
{
    return *reinterpret_cast<interrupts::InterruptFrame*>(kernel_stack_top() - sizeof(interrupts::InterruptFrame));
}

uint64_t Thread::kernel_stack_top() const { return reinterpret_cast<uint64_t>(kernel_stack_) + kKernelStackSize; }

// Below the user frame: the return address for switch_kernel_stack's `ret`, and zeros for
// the callee-saved registers it pops (rbp = 0 also ends backtraces there).
void Thread::prepare_first_switch(uint64_t continuation)
{
    auto* slot = reinterpret_cast<uint64_t*>(kernel_stack_top() - sizeof(interrupts::InterruptFrame));
    *--slot = continuation;
    for (int i = 0; i < kCalleeSaved; ++i)
        *--slot = 0;
    saved_kernel_rsp = reinterpret_cast<uint64_t>(slot);
}
