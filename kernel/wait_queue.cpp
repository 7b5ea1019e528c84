// A FIFO of threads, linked through the threads themselves.
#include "wait_queue.hpp"

#include "thread.hpp"

void WaitQueue::push(Thread& thread)
{
    thread.wait_queue = this;
    thread.wait_next = nullptr;
    thread.wait_prev = tail_;
    if (tail_ != nullptr)
        tail_->wait_next = &thread;
    else
        head_ = &thread;
    tail_ = &thread;
}

Thread* WaitQueue::pop()
{
    Thread* thread = head_;
    if (thread != nullptr)
        remove(*thread);
    return thread;
}

void WaitQueue::remove(Thread& thread)
{
    (thread.wait_prev != nullptr ? thread.wait_prev->wait_next : head_) = thread.wait_next;
    (thread.wait_next != nullptr ? thread.wait_next->wait_prev : tail_) = thread.wait_prev;
    thread.wait_queue = nullptr;
    thread.wait_next = thread.wait_prev = nullptr;
}
