// Task: an address space and a capability space, and the threads that run in them.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/paging.hpp"
#include "cap/cap_space.hpp"
#include "l4/abi/error.hpp"
#include "l4/abi/ipc.hpp"

class Factory;
class Thread;

class Task : public cap::Object {
public:
    static constexpr cap::ObjectType kType = cap::ObjectType::task;
    static constexpr size_t kMaxThreads = 256;                // UTCB slots
    static constexpr uint64_t kUtcbArea = 0x00007fffc0000000; // one page per thread

    // A task with `slots` capability slots, charged to `factory`; nullptr on failure
    // (`error` says why: quota_exhausted, out_of_memory, or busy when every address-space
    // number is taken).
    [[nodiscard]] static Task* create(Factory* factory, size_t slots, const char* name, l4::abi::Error& error);

    // Stops its threads, empties its capability space, frees its memory.
    void destroy();

    paging::AddressSpace address_space() const { return address_space_; }
    uint64_t page_root() const { return address_space_.root; }
    uint32_t space() const { return space_; }  // its number in the mapping database
    bool is_sigma0() const { return sigma0_; } // sees physical memory through its window
    void set_sigma0() { sigma0_ = true; }
    const char* name() const { return name_; }
    cap::CapSpace& caps() { return caps_; }
    Factory* factory() const { return factory_; }
    // Its page tables are charged to its factory: hold a paging::ChargeTables over changes.
    const paging::TableAccount& table_account() const { return tables_; }
    // Its nodes in the mapping database (vm.cpp keeps the count as it charges and refunds).
    uint64_t mapping_nodes() const { return mapping_nodes_; }
    void count_mapping_nodes(int64_t delta)
    {
        if (delta < 0 && mapping_nodes_ == 0) [[unlikely]]
            uncharged_mapping_refund();
        mapping_nodes_ += static_cast<uint64_t>(delta);
    }

    // Maps a fresh zeroed frame at `virt` with page_rights; its physical address, or 0 on
    // failure. own_memory: the task's to map on (a mapping-database root: boot tasks' images
    // and stacks); otherwise the kernel's (UTCBs), never passed on. `why` (if given) says what
    // failed: quota_exhausted (a page table over the task's quota) or out_of_memory.
    [[nodiscard]] uint64_t map_new_page(uint64_t virt, uint64_t rights, bool own_memory, l4::abi::Error* why = nullptr);

    // A UTCB page for a new thread: its user address (0 when none is free or memory is out)
    // and, through `kernel_view`, where the kernel reaches it.
    // 0 on failure, `error` saying why: quota_exhausted (its page tables are over the task's
    // quota), out_of_memory, or busy (the task has kMaxThreads UTCBs already).
    [[nodiscard]] uint64_t allocate_utcb(void*& kernel_view, l4::abi::Error& error);
    void free_utcb(uint64_t address);

    // Lets its threads use ports [first, first + count) (charging its bitmap on first use).
    [[nodiscard]] l4::abi::Error enable_ports(uint32_t first, uint32_t count);
    const uint8_t* io_bitmap() const { return io_bitmap_; }

    void add_thread(Thread& thread);
    void remove_thread(Thread& thread);
    Thread* first_thread() const { return threads_; }

private:
    Task(Factory* factory, paging::AddressSpace address_space, cap::Slot* slots, size_t slot_count, const char* name);

    Factory* factory_;
    paging::TableAccount tables_;
    paging::AddressSpace address_space_;
    uint32_t space_;
    bool sigma0_ = false;
    uint64_t mapping_nodes_ = 0;
    [[noreturn, gnu::cold]] void uncharged_mapping_refund() const;
    cap::Slot* slot_storage_;
    size_t slot_count_;
    cap::CapSpace caps_;
    Thread* threads_;
    uint8_t* io_bitmap_; // I/O permission bitmap (set bit: denied); nullptr: no port
    uint64_t utcb_used_[kMaxThreads / 64];
    char name_[24];
};
