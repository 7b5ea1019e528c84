// Thread: a kernel stack, saved user registers, and a place in the scheduler.
#pragma once

#include <stdint.h>

#include "arch/x86_64/interrupts.hpp"
#include "cap/capability.hpp"
#include "sched/run_queue.hpp"

class Task;

class Thread : public cap::Object, public sched::QueueLink {
public:
    static constexpr cap::ObjectType kType = cap::ObjectType::thread;
    enum class State : uint8_t { inactive, ready, running, blocked, dead };

    static constexpr size_t kKernelStackSize = 8192;

    // A user thread in `task`, not yet started; nullptr when out of memory.
    [[nodiscard]] static Thread* create(Task* task, const char* name, uint8_t priority);
    // A kernel thread that runs `body` (the idle thread).
    [[nodiscard]] static Thread* create_kernel(const char* name, void (*body)());
    void destroy();

    // Sets the user instruction and stack pointers and makes the thread ready.
    void start(uint64_t ip, uint64_t sp);

    // The user registers, saved at the top of the kernel stack on every kernel entry.
    interrupts::InterruptFrame& user_frame();
    uint64_t kernel_stack_top() const;

    Task* task() const { return task_; }
    const char* name() const { return name_; }
    State state() const { return state_; }
    void set_state(State state) { state_ = state; }
    uint32_t time_slice() const { return time_slice_; }
    uint32_t& remaining_slice() { return remaining_slice_; }

    uint64_t saved_kernel_rsp;   // while switched out (switch_kernel_stack)
    uint64_t fs_base;

private:
    Thread(Task* task, uint8_t* kernel_stack, const char* name, uint8_t priority);
    [[nodiscard]] static Thread* allocate(Task* task, const char* name, uint8_t priority);
    void prepare_first_switch(uint64_t continuation);

    uint8_t* kernel_stack_;
    Task* task_;
    State state_;
    uint32_t time_slice_;
    uint32_t remaining_slice_;
    char name_[24];
};
