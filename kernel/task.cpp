// Task: creation and destruction, UTCB pages, boot-time memory.
#include "task.hpp"

#include <new>

#include "arch/x86_64/user_state.hpp"
#include "arch/x86_64/paging.hpp"
#include "factory.hpp"
#include "memory.hpp"
#include "objects.hpp"
#include "panic.hpp"
#include "thread.hpp"
#include "vm.hpp"

namespace {

constexpr uint64_t kPage = l4::abi::kPageSize;

bool charge_table(void* task) { return static_cast<Task*>(task)->factory()->charge(kPage); }
void refund_table(void* task) { static_cast<Task*>(task)->factory()->refund(kPage); }

} // namespace

Task::Task(Factory* factory, paging::AddressSpace address_space, cap::Slot* slots, size_t slot_count, const char* name)
    : cap::Object(kType), factory_(factory), tables_{charge_table, refund_table, this}, address_space_(address_space),
      space_(0), slot_storage_(slots), slot_count_(slot_count), caps_(slots, slot_count, destroy_object, nullptr, retire_badge),
      threads_(nullptr), io_bitmap_(nullptr), utcb_used_(), name_()
{
    for (size_t i = 0; i + 1 < sizeof name_ && name[i] != '\0'; ++i)
        name_[i] = name[i];
}

Task* Task::create(Factory* factory, size_t slots, const char* name, l4::abi::Error& error)
{
    void* memory = factory->allocate(sizeof(Task), error);
    if (memory == nullptr)
        return nullptr;
    void* storage = factory->allocate(slots * sizeof(cap::Slot), error);
    if (storage == nullptr) {
        factory->free(memory, sizeof(Task));
        return nullptr;
    }
    bool root_charged = factory->charge(kPage);
    paging::AddressSpace address_space = root_charged ? paging::new_user_space() : paging::AddressSpace{0, 0};
    if (address_space.root == 0) {
        error = root_charged ? l4::abi::Error::out_of_memory : l4::abi::Error::quota_exhausted;
        if (root_charged)
            factory->refund(kPage);
        factory->free(storage, slots * sizeof(cap::Slot));
        factory->free(memory, sizeof(Task));
        return nullptr;
    }
    auto* task = new (memory) Task(factory, address_space, static_cast<cap::Slot*>(storage), slots, name);
    task->space_ = vm::register_space(*task);
    if (task->space_ == 0) { // every address-space number is taken
        task->destroy();
        error = l4::abi::Error::busy;
        return nullptr;
    }
    return task;
}

void Task::destroy()
{
    // Its threads cannot run without it. One that is running now (the caller) dies on its way
    // out of the kernel; its memory goes after that.
    while (threads_ != nullptr) {
        Thread* thread = threads_;
        remove_thread(*thread);
        kill_thread(*thread);
    }
    caps_.clear();
    if (space_ != 0) {
        vm::release_space(*this);
        vm::unregister_space(space_);
    }
    {
        paging::ChargeTables charged(tables_);
        paging::free_user_space(address_space_);
    }
    Factory* factory = factory_;
    if (io_bitmap_ != nullptr) {
        arch::io_bitmap_freed(io_bitmap_);
        factory->free(io_bitmap_, arch::kIoBitmapBytes);
    }
    factory->refund(kPage);
    factory->free(slot_storage_, slot_count_ * sizeof(cap::Slot));
    this->~Task();
    factory->free(this, sizeof(Task));
}

uint64_t Task::map_new_page(uint64_t virt, uint64_t rights, bool own_memory, l4::abi::Error* why)
{
    uint64_t frame = memory::frames().alloc();
    if (frame == mem::FrameAllocator::kNone) {
        if (why != nullptr)
            *why = l4::abi::Error::out_of_memory;
        return 0;
    }
    __builtin_memset(paging::phys_to_virt(frame), 0, kPage);
    paging::ChargeTables charged(tables_);
    tables_.refused = false;
    constexpr uint64_t kWrite = 2, kExecute = 4;
    bool mapped = own_memory
                      ? vm::map_root(*this, virt, frame, rights)
                      : paging::map_user_page(address_space_.root, virt, frame, rights & kWrite, rights & kExecute);
    if (!mapped) {
        (void)memory::frames().free(frame);
        if (why != nullptr)
            *why = tables_.refused ? l4::abi::Error::quota_exhausted : l4::abi::Error::out_of_memory;
        return 0;
    }
    return frame;
}

uint64_t Task::allocate_utcb(void*& kernel_view, l4::abi::Error& error)
{
    for (size_t i = 0; i < kMaxThreads; ++i) {
        if (utcb_used_[i / 64] & (uint64_t{1} << (i % 64)))
            continue;
        uint64_t address = kUtcbArea + i * kPage;
        uint64_t frame = map_new_page(address, l4::abi::page_rights::read | l4::abi::page_rights::write, false, &error);
        if (frame == 0)
            return 0;
        utcb_used_[i / 64] |= uint64_t{1} << (i % 64);
        kernel_view = paging::phys_to_virt(frame);
        return address;
    }
    error = l4::abi::Error::busy;
    return 0;
}

void Task::free_utcb(uint64_t address)
{
    size_t i = (address - kUtcbArea) / kPage;
    paging::ChargeTables charged(tables_);
    uint64_t frame = paging::unmap_user_page(address_space_, address);
    if (frame != 0)
        (void)memory::frames().free(frame);
    utcb_used_[i / 64] &= ~(uint64_t{1} << (i % 64));
}

l4::abi::Error Task::enable_ports(uint32_t first, uint32_t count)
{
    if (io_bitmap_ == nullptr) {
        l4::abi::Error error = l4::abi::Error::ok;
        io_bitmap_ = static_cast<uint8_t*>(factory_->allocate(arch::kIoBitmapBytes, error));
        if (io_bitmap_ == nullptr)
            return error;
        __builtin_memset(io_bitmap_, 0xff, arch::kIoBitmapBytes);
    }
    for (uint32_t port = first; port < first + count; ++port)
        io_bitmap_[port / 8] = static_cast<uint8_t>(io_bitmap_[port / 8] & ~(1u << (port % 8)));
    return l4::abi::Error::ok;
}

void Task::add_thread(Thread& thread)
{
    thread.task_next = threads_;
    threads_ = &thread;
}

void Task::remove_thread(Thread& thread)
{
    for (Thread** link = &threads_; *link != nullptr; link = &(*link)->task_next)
        if (*link == &thread) {
            *link = thread.task_next;
            thread.task_next = nullptr;
            return;
        }
}

void Task::uncharged_mapping_refund() const
{
    panic("task \"{}\": a mapping node refunded that was never charged", name());
}
