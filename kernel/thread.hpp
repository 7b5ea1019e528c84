// Thread: a kernel stack, saved user registers, a UTCB, IPC state, a place in the scheduler.
#pragma once

#include <stdint.h>

#include "arch/x86_64/fpu.hpp"
#include "arch/x86_64/interrupts.hpp"
#include "arch/x86_64/user_context.hpp"
#include "cap/cap_space.hpp"
#include "l4/abi/error.hpp"
#include "l4/abi/utcb.hpp"
#include "sched/run_queue.hpp"

class Factory;
class Notification;
class Reply;
class Task;
class Thread;
class WaitQueue;

class Thread : public cap::Object, public sched::QueueLink {
public:
    static constexpr cap::ObjectType kType = cap::ObjectType::thread;

    enum class State : uint8_t { inactive, ready, running, blocked, suspended, dead };

    // What a blocked thread waits for.
    enum class Wait : uint8_t { none, send, receive, reply, notification };

    // Slots of the thread's own small capability space: endpoints the kernel calls for it.
    enum SpecialSlot : cap::Selector { exception_handler = 0, pager = 1, special_slots = 2 };

    // A user thread in `task`, not started, charged to `factory`; nullptr (and
    // `error` saying why) on failure.
    [[nodiscard]] static Thread* create(Factory* factory, Task* task, const char* name, uint8_t priority,
                                        l4::abi::Error& error);
    // A kernel thread that runs `body` (the idle thread).
    [[nodiscard]] static Thread* create_kernel(const char* name, void (*body)());

    // Frees everything; the thread must be dead (kill_thread) and not running.
    void destroy();
    // A dead thread whose capabilities live on keeps its object but not its stack.
    void release_stack();

    // Sets the user instruction and stack pointers (the caller makes it ready).
    void set_entry(uint64_t ip, uint64_t sp);

    // The user registers, saved at the top of the kernel stack on every kernel entry.
    interrupts::InterruptFrame& user_frame();
    arch::UserContext user_context() { return arch::UserContext{user_frame()}; }
    uint64_t kernel_stack_top() const;

    Task* task() const { return task_; }
    const char* name() const { return name_; }
    State state() const { return state_; }
    void set_state(State state) { state_ = state; }
    uint32_t time_slice() const { return time_slice_; }
    void set_time_slice(uint32_t ticks) { time_slice_ = ticks; }
    uint32_t& remaining_slice() { return remaining_slice_; }

    l4::abi::Utcb& utcb() { return *utcb_; }
    uint64_t utcb_address() const { return utcb_address_; }
    cap::CapSpace& special_caps() { return special_caps_; }

    fpu::State fpu_state;      // x87/SSE registers while switched out
    uint64_t saved_kernel_rsp; // while switched out (switch_kernel_stack)
    uint64_t fs_base;
    uint8_t foreign_abi;    // l4::abi::foreign_abi: its `syscall`s go to its exception handler
    bool suspend_requested; // suspended by thread_control; runs again on resume

    // What it must do on its way back to user mode (user_return.hpp): one word, so that the
    // kernel exit pays one test for all of it.
    enum ReturnWork : uint8_t {
        must_exit = 1,        // its last capability went while it ran (dying)
        forced_exception = 2, // ThreadOp::force_exception: exception IPC first
    };
    uint8_t return_work;
    bool dying() const { return (return_work & must_exit) != 0; }

    // IPC state.
    Wait wait;
    WaitQueue* wait_queue; // the queue it sits in while blocked on an object
    Thread* wait_next;
    Thread* wait_prev;
    uint64_t send_badge; // badge of the capability a waiting sender used
    bool send_is_call;   // a waiting sender wants a reply
    bool kernel_message; // its pending message was made by the kernel (exception IPC)
    // The tag of the message it sends or replies with, as the kernel checked it (or made it,
    // for a kernel message). Delivery reads this copy, never the saved tag register, which another
    // thread may rewrite (write_registers) while this one waits in a queue.
    uint64_t message_tag;
    // The words of a kernel message (exception state, page fault), kept here rather than in
    // the UTCB, where the thread's siblings could rewrite them before delivery.
    uint64_t kernel_words[l4::abi::kExceptionWords];
    Thread* caller;                                       // whom this thread must reply to (implicit reply capability)
    Thread* server;                                       // who holds this thread's reply capability
    Reply* kept_reply;                                    // or the reply object that keeps it (reply_save)
    Notification* bound_notification;                     // its signals end this thread's receives
    static constexpr uint64_t kNoDeadline = ~uint64_t{0}; // not in the timeout list
    uint64_t deadline;                                    // timer tick at which its wait times out, or kNoDeadline
    Thread* timeout_next;                                 // in the list of threads with a deadline
    Thread* task_next;                                    // in its task's list of threads
    Factory* factory;                                     // charged for it; refunded when it goes

private:
    Thread(Task* task, uint8_t* kernel_stack, const char* name, uint8_t initial_priority);
    void prepare_first_switch(uint64_t continuation);

    uint8_t* kernel_stack_;
    Task* task_;
    l4::abi::Utcb* utcb_;   // kernel view of its UTCB page
    uint64_t utcb_address_; // where the task sees it
    State state_;
    uint32_t time_slice_;
    uint32_t remaining_slice_;
    cap::Slot special_slots_[special_slots];
    cap::CapSpace special_caps_;
    char name_[24];
};
