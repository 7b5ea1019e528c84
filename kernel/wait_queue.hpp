// A FIFO of threads waiting on an object (endpoint senders or receivers, a notification).
#pragma once

class Thread;

class WaitQueue {
public:
    void push(Thread& thread);   // at the tail
    Thread* pop();               // the head, or nullptr
    void remove(Thread& thread); // from anywhere; the thread must be in this queue
    bool empty() const { return head_ == nullptr; }
    Thread* head() const { return head_; }

private:
    Thread* head_ = nullptr;
    Thread* tail_ = nullptr;
};
