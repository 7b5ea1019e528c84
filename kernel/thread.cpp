// Thread creation: a kernel stack laid out so the first switch to it "returns" to user mode.
#include "thread.hpp"

#include <new>

#include "arch/x86_64/kernel_stack.hpp"
#include "factory.hpp"
#include "memory.hpp"
#include "objects.hpp"
#include "task.hpp"

extern "C" char thread_first_return[];

namespace {

constexpr uint32_t kDefaultTimeSlice = 2; // ticks
constexpr int kCalleeSaved = 6;           // what switch_kernel_stack pops
constexpr uint64_t kPage = l4::abi::kPageSize;

} // namespace

Thread::Thread(Task* task, uint8_t* kernel_stack, const char* name, uint8_t initial_priority)
    : cap::Object(cap::ObjectType::thread), saved_kernel_rsp(0), fs_base(0), foreign_abi(0), suspend_requested(false),
      return_work(0), wait(Wait::none), wait_queue(nullptr), wait_next(nullptr), wait_prev(nullptr), send_badge(0),
      send_is_call(false), kernel_message(false), message_tag(0), kernel_words{}, caller(nullptr), server(nullptr),
      kept_reply(nullptr), bound_notification(nullptr), deadline(kNoDeadline), timeout_next(nullptr),
      task_next(nullptr), factory(nullptr), kernel_stack_(kernel_stack), task_(task), utcb_(nullptr), utcb_address_(0),
      state_(State::inactive), time_slice_(kDefaultTimeSlice), remaining_slice_(kDefaultTimeSlice), special_slots_(),
      special_caps_(special_slots_, special_slots, destroy_object, nullptr, retire_badge), name_()
{
    priority = initial_priority;
    fpu::initial_state(fpu_state);
    for (size_t i = 0; i + 1 < sizeof name_ && name[i] != '\0'; ++i)
        name_[i] = name[i];
}

Thread* Thread::create(Factory* factory, Task* task, const char* name, uint8_t priority, l4::abi::Error& error)
{
    using l4::abi::Error;
    void* memory = factory->allocate(sizeof(Thread), error);
    if (memory == nullptr)
        return nullptr;
    uint8_t* stack = nullptr;
    if (!factory->charge(kernel_stack::kChargedBytes)) {
        error = Error::quota_exhausted;
    } else {
        stack = kernel_stack::allocate();
        if (stack == nullptr) {
            factory->refund(kernel_stack::kChargedBytes);
            error = Error::out_of_memory;
        }
    }
    void* utcb = nullptr;
    uint64_t utcb_address = 0;
    bool utcb_charged = false;
    if (stack != nullptr) {
        utcb_charged = factory->charge(kPage);
        if (!utcb_charged)
            error = Error::quota_exhausted;
        else
            utcb_address = task->allocate_utcb(utcb, error);
    }
    if (utcb_address == 0) {
        if (utcb_charged)
            factory->refund(kPage);
        if (stack != nullptr) {
            kernel_stack::free(stack);
            factory->refund(kernel_stack::kChargedBytes);
        }
        factory->free(memory, sizeof(Thread));
        return nullptr;
    }
    auto* thread = new (memory) Thread(task, stack, name, priority);
    thread->factory = factory;
    thread->utcb_ = static_cast<l4::abi::Utcb*>(utcb);
    thread->utcb_address_ = utcb_address;
    thread->utcb_->self = utcb_address;
    thread->utcb_->receive_slot = l4::abi::kNoReceiveSlot;
    task->add_thread(*thread);

    thread->user_context().reset();
    thread->prepare_first_switch(reinterpret_cast<uint64_t>(thread_first_return));
    return thread;
}

Thread* Thread::create_kernel(const char* name, void (*body)())
{
    void* memory = memory::heap().alloc(sizeof(Thread));
    uint8_t* stack = kernel_stack::allocate();
    if (memory == nullptr || stack == nullptr)
        return nullptr;
    auto* thread = new (memory) Thread(nullptr, stack, name, 0);
    thread->prepare_first_switch(reinterpret_cast<uint64_t>(body));
    // `body` starts as if called: one more slot (a zero return address) keeps the ABI's
    // stack alignment and ends backtraces.
    auto* slot = reinterpret_cast<uint64_t*>(thread->saved_kernel_rsp);
    for (int i = 0; i <= kCalleeSaved; ++i)
        slot[i - 1] = slot[i];
    slot[kCalleeSaved] = 0;
    thread->saved_kernel_rsp -= 8;
    return thread;
}

void Thread::release_stack()
{
    if (kernel_stack_ == nullptr)
        return;
    kernel_stack::free(kernel_stack_);
    factory->refund(kernel_stack::kChargedBytes);
    kernel_stack_ = nullptr;
}

// The UTCB went with kill_thread (the task may be gone by now); the rest goes here.
void Thread::destroy()
{
    special_caps_.clear();
    release_stack();
    Factory* charged = factory;
    this->~Thread();
    charged->refund(kPage); // the UTCB page
    charged->free(this, sizeof(Thread));
}

void Thread::set_entry(uint64_t ip, uint64_t sp) { user_context().set_entry(ip, sp); }

interrupts::InterruptFrame& Thread::user_frame()
{
    return *reinterpret_cast<interrupts::InterruptFrame*>(kernel_stack_top() - sizeof(interrupts::InterruptFrame));
}

uint64_t Thread::kernel_stack_top() const { return reinterpret_cast<uint64_t>(kernel_stack_) + kernel_stack::kSize; }

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
