// The ready queue: fixed priorities 0..255 (255 highest), round robin within a priority.
//
// Every operation is O(1): one intrusive circular doubly-linked list per priority, and a
// 256-bit bitmap of the non-empty levels whose highest set bit is found with clz. The queue
// allocates nothing; its links live in the kernel's Thread. Not thread-safe: each CPU owns
// one RunQueue, and its owner locks (or runs with interrupts off) around every call.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace sched {

class RunQueue;

// Embedded in the kernel's Thread. Only RunQueue writes next, prev, queued and owner; the
// kernel sets `priority` while the link is not queued.
struct QueueLink {
    QueueLink* next = nullptr;
    QueueLink* prev = nullptr;
    uint8_t priority = 0;
    bool queued = false;
    // The level the link sits on: remove() uses it rather than `priority`, so a priority
    // changed while queued cannot make remove() unlink from the wrong list.
    uint8_t queued_priority = 0;
    // The queue holding the link, so a remove() on another CPU's queue is refused.
    RunQueue* owner = nullptr;
};

class RunQueue {
public:
    static constexpr unsigned kPriorities = 256;

    constexpr RunQueue() = default;
    // Links point back at their queue, so a copy would be a second queue sharing lists.
    RunQueue(const RunQueue&) = delete;
    RunQueue& operator=(const RunQueue&) = delete;

    // At the tail of level t.priority. False (and nothing changes) if t is already queued,
    // here or on another queue.
    [[nodiscard]] bool enqueue(QueueLink& t) { return insert(t, false); }

    // At the head of its level: a preempted thread keeps the rest of its turn.
    [[nodiscard]] bool enqueue_front(QueueLink& t) { return insert(t, true); }

    // False (and nothing changes) if t is not queued on this queue.
    [[nodiscard]] bool remove(QueueLink& t)
    {
        if (!t.queued || t.owner != this) {
            return false;
        }
        const uint8_t level = t.queued_priority;
        if (t.next == &t) {
            heads_[level] = nullptr;
            bitmap_[level / 64] &= ~bit(level);
            if (bitmap_[level / 64] == 0) {
                words_ &= ~(uint64_t{1} << (level / 64));
            }
        } else {
            t.prev->next = t.next;
            t.next->prev = t.prev;
            if (heads_[level] == &t) {
                heads_[level] = t.next;
            }
        }
        t.next = t.prev = nullptr;
        t.queued = false;
        t.owner = nullptr;
        return true;
    }

    // Head of the highest non-empty level: the thread to run next. nullptr if empty.
    QueueLink* highest() const { return empty() ? nullptr : heads_[highest_priority()]; }

    // The head of that level goes to its tail (its time slice is used up). No-op when the
    // level is empty; with a circular list it is a single pointer step.
    void rotate(uint8_t priority)
    {
        if (heads_[priority] != nullptr) {
            heads_[priority] = heads_[priority]->next;
        }
    }

    bool empty() const { return words_ == 0; }

    // The highest non-empty level; 0 when empty (check empty() first).
    uint8_t highest_priority() const
    {
        if (words_ == 0) {
            return 0;
        }
        const unsigned word = 63u - static_cast<unsigned>(__builtin_clzll(words_));
        const unsigned top = 63u - static_cast<unsigned>(__builtin_clzll(bitmap_[word]));
        return static_cast<uint8_t>(word * 64 + top);
    }

    // Head of one level (nullptr if empty): for walking a level in dumps and tests.
    QueueLink* head(uint8_t priority) const { return heads_[priority]; }

private:
    static constexpr unsigned kWords = kPriorities / 64;

    static constexpr uint64_t bit(uint8_t level) { return uint64_t{1} << (level % 64); }

    bool insert(QueueLink& t, bool at_front)
    {
        if (t.queued) {
            return false;
        }
        const uint8_t level = t.priority;
        QueueLink* first = heads_[level];
        if (first == nullptr) {
            t.next = t.prev = &t;
            heads_[level] = &t;
            bitmap_[level / 64] |= bit(level);
            words_ |= uint64_t{1} << (level / 64);
        } else {
            // Just before the head is the tail of a circular list.
            t.next = first;
            t.prev = first->prev;
            first->prev->next = &t;
            first->prev = &t;
            if (at_front) {
                heads_[level] = &t;
            }
        }
        t.queued = true;
        t.queued_priority = level;
        t.owner = this;
        return true;
    }

    QueueLink* heads_[kPriorities] = {};
    uint64_t bitmap_[kWords] = {}; // bit p % 64 of word p / 64: level p is non-empty
    uint64_t words_ = 0;           // bit w: bitmap_[w] is not 0 (empty() and the top in two steps)
};

} // namespace sched
