// Task: for now an address space whose pages the kernel allocates itself (until pagers).
#include "task.hpp"

#include <new>

#include "arch/x86_64/paging.hpp"
#include "memory.hpp"

Task::Task(uint64_t page_root, const char* name) : cap::Object(kType), page_root_(page_root), name_()
{
    for (size_t i = 0; i + 1 < sizeof name_ && name[i] != '\0'; ++i)
        name_[i] = name[i];
}

Task* Task::create(const char* name)
{
    void* memory = memory::heap().alloc(sizeof(Task));
    if (memory == nullptr)
        return nullptr;
    uint64_t root = paging::new_user_root();
    if (root == 0) {
        memory::release(memory, sizeof(Task));
        return nullptr;
    }
    return new (memory) Task(root, name);
}

void Task::destroy()
{
    paging::free_user_tables(page_root_);
    this->~Task();
    memory::release(this, sizeof(Task));
}

uint64_t Task::map_new_page(uint64_t virt, bool writable, bool executable)
{
    uint64_t frame = memory::frames().alloc();
    if (frame == mem::FrameAllocator::kNone)
        return 0;
    __builtin_memset(paging::phys_to_virt(frame), 0, 4096);
    if (!paging::map_user_page(page_root_, virt, frame, writable, executable)) {
        (void)memory::frames().free(frame);
        return 0;
    }
    return frame;
}
