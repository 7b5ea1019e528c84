// Host tests of object lifecycles (the real objects.cpp, factory.cpp, task.cpp, thread.cpp and
// the kernel heap over the fake arch): destruction chains, factory quotas to the byte.
#include "fake_arch/kernel_world.hpp"

#include "arch/x86_64/kernel_stack.hpp"

using namespace kt;

namespace {

constexpr uint64_t kPage = 4096;
size_t heap(size_t bytes) { return mem::KernelHeap::charged_size(bytes); }

// What a task with `slots` capability slots costs: the object, its slots, its root table.
uint64_t task_cost(size_t slots) { return heap(sizeof(Task)) + heap(slots * sizeof(cap::Slot)) + kPage; }
// A thread: the object, its kernel stack, its UTCB page (page tables are the task's).
uint64_t thread_cost() { return heap(sizeof(Thread)) + kernel_stack::kChargedBytes + kPage; }
// The page tables above the UTCB area: a PDPT, a PD and a PT, made with the first thread.
constexpr uint64_t kUtcbTables = 3 * kPage;

} // namespace

TEST_CASE("objects: a chain of tasks, each holding the last capability to the previous, goes without recursion",
          "[objects]")
{
    constexpr int kChain = 1000;
    World w(7 * 1024 * 1024);
    uint64_t before = w.factory->used();
    Task* previous = nullptr;
    for (int i = 0; i < kChain; ++i) {
        Error error = Error::ok;
        Task* task = Task::create(w.factory, 1, "link", error);
        REQUIRE(task != nullptr);
        if (previous != nullptr)
            REQUIRE(task->caps().insert_original(0, previous, l4::abi::rights::all) == Error::ok);
        previous = task;
    }
    CHECK(w.factory->used() == before + kChain * task_cost(1));
    w.hold(previous);

    fake::reset_task_destructions();
    w.release(*previous);
    CHECK(fake::task_destructions() == kChain);
    // Every task was destroyed at the same depth, one after another (recursion would add a
    // few hundred bytes of stack per link).
    CHECK(fake::destruction_stack_spread() < 1024);
    CHECK(w.factory->used() == before);
}

TEST_CASE("objects: a factory is charged and refunded to the byte", "[objects]")
{
    World w;
    uint64_t root_before = w.factory->used();
    constexpr uint64_t kQuota = 256 * 1024;
    Error error = Error::ok;
    Factory* child = w.factory->create_child(kQuota, error);
    REQUIRE(child != nullptr);
    w.hold(child);
    CHECK(w.factory->used() == root_before + kQuota + heap(sizeof(Factory)));
    CHECK(child->quota() == kQuota);
    CHECK(child->used() == 0);

    Task* task = w.make_task(*child, 4, "child-task");
    uint64_t expected = task_cost(4);
    CHECK(child->used() == expected);
    Thread* first = w.make_thread("first", 10, task, child);
    expected += thread_cost() + kUtcbTables;
    CHECK(child->used() == expected);
    Thread* second = w.make_thread("second", 10, task, child);
    expected += thread_cost();
    CHECK(child->used() == expected);
    Endpoint* ep = Endpoint::create(child, error);
    w.hold(ep);
    Notification* notification = Notification::create(child, error);
    w.hold(notification);
    expected += heap(sizeof(Endpoint)) + heap(sizeof(Notification));
    CHECK(child->used() == expected);

    // The factory's last capability goes first: it lives on until its objects have gone.
    w.release(*child);
    CHECK(w.factory->used() == root_before + kQuota + heap(sizeof(Factory)));
    w.release(*first);
    expected -= thread_cost();
    CHECK(child->used() == expected);
    // The task's end stops the second thread (its stack and UTCB frame go; the object and its
    // UTCB charge stay while a capability names it) and frees the page tables.
    w.release(*task);
    CHECK(second->state() == State::dead);
    expected -= task_cost(4) + kUtcbTables + kernel_stack::kChargedBytes;
    CHECK(child->used() == expected);
    CHECK(expected == heap(sizeof(Thread)) + kPage + heap(sizeof(Endpoint)) + heap(sizeof(Notification)));
    w.release(*second);
    w.release(*ep);
    CHECK(child->used() == heap(sizeof(Notification)));
    CHECK(w.factory->used() == root_before + kQuota + heap(sizeof(Factory)));
    w.release(*notification); // the child's last object: it goes, and refunds the root
    CHECK(w.factory->used() == root_before);
}

TEST_CASE("objects: creation over quota fails and refunds to the byte", "[objects]")
{
    World w;
    Error error = Error::ok;
    Factory* small = w.factory->create_child(task_cost(1) - 1, error);
    REQUIRE(small != nullptr);
    w.hold(small);
    CHECK(Task::create(small, 1, "too-big", error) == nullptr);
    CHECK(error == Error::quota_exhausted);
    CHECK(small->used() == 0);

    // Exactly enough for the task, and for a thread's object but one byte short of its stack.
    uint64_t quota = task_cost(1) + heap(sizeof(Thread)) + kernel_stack::kChargedBytes - 1;
    Factory* exact = w.factory->create_child(quota, error);
    REQUIRE(exact != nullptr);
    w.hold(exact);
    Task* task = w.make_task(*exact, 1, "exact");
    CHECK(exact->used() == task_cost(1));
    error = Error::ok;
    CHECK(Thread::create(exact, task, "no-stack", 10, error) == nullptr);
    CHECK(error == Error::quota_exhausted);
    CHECK(exact->used() == task_cost(1));
    CHECK(fake::live_kernel_stacks() == 1);
}

TEST_CASE("objects: a task's 257th thread is busy", "[objects]")
{
    World w(7 * 1024 * 1024);
    Task* task = w.make_task(*w.factory, 1, "full");
    for (size_t i = 0; i < Task::kMaxThreads; ++i)
        w.make_thread("t", 10, task);
    uint64_t used = w.factory->used();
    Error error = Error::ok;
    CHECK(Thread::create(w.factory, task, "one-too-many", 10, error) == nullptr);
    CHECK(error == Error::busy);
    CHECK(w.factory->used() == used);
}

TEST_CASE("objects: a notification wakes its waiter with the bits; destroyed, with object_destroyed", "[objects]")
{
    World w;
    Error error = Error::ok;
    Notification* n = Notification::create(w.factory, error);
    REQUIRE(n != nullptr);
    REQUIRE(w.task->caps().insert_original(0, n, l4::abi::rights::all, 0x100) == Error::ok);
    Thread* waiter = w.make_thread("waiter", 20);
    Thread* signaller = w.make_thread("signaller", 10);
    scheduler::make_ready(*waiter);
    scheduler::make_ready(*signaller);
    w.start();
    notify_wait(*waiter, 0);
    CHECK(waiter->wait == Wait::notification);
    REQUIRE(&current() == signaller);
    signaller->user_context().set_arg(0, 0);
    signaller->user_context().set_arg(1, 0x6);
    enter(*signaller, syscalls::notify_signal);
    CHECK(status(*signaller) == Error::ok);
    REQUIRE(&current() == waiter); // higher priority: preempts on the signaller's way out
    CHECK(status(*waiter) == Error::ok);
    CHECK(waiter->user_frame().rsi == 0x106); // result 1: the bits, with the badge

    notify_wait(*waiter, 0);
    REQUIRE(&current() == signaller);
    REQUIRE(w.task->caps().remove(0) == Error::ok);
    CHECK(waiter->state() == State::ready);
    CHECK(status(*waiter) == Error::object_destroyed);
}
