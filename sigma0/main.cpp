// sigma0: the root pager. It starts as the owner of all free physical memory (seen through
// its window, l4/abi/boot_info.hpp) and the devices, and hands memory out on request: each
// page once, never the kernel's. It is also the root task's pager: the root task's page
// faults get fresh memory, so the root task runs demand-paged. The root task gets I/O ports
// and interrupt lines from it too.
#include "l4/abi/address_space.hpp"
#include "l4/abi/boot.hpp"
#include "l4/abi/boot_info.hpp"
#include "l4/abi/sigma0.hpp"
#include "l4/format.hpp"
#include "l4/print.hpp"
#include "l4/syscall.hpp"
#include "page_pool.hpp"

namespace {

namespace abi = l4::abi;
using abi::Error;
using abi::sigma0::Request;

constexpr uint64_t kPage = abi::kPageSize;
constexpr uint64_t kLowestFaultAddress = 0x10000; // faults below (null pointers) are refused

const abi::BootInfo& boot_info() { return *reinterpret_cast<const abi::BootInfo*>(abi::kBootInfoAddress); }

sigma0::PagePool pool;

// The I/O port capability made for the latest io_ports reply; the client's copy outlives it.
constexpr uint64_t kPortsReplySlot = abi::boot::kFirstFreeSelector;
bool irq_handed_out[abi::boot::kIrqLines]; // one owner per line

// The reply: an error label, or label 0 with one map item of the window page(s) at `phys`.
void answer(l4::Message& m, Error error, uint64_t phys = 0, uint64_t order = 0, uint64_t hotspot = 0,
            uint64_t rights = abi::page_rights::all)
{
    if (error != Error::ok) {
        m.tag = abi::MessageTag::make(static_cast<uint64_t>(error), 0);
        return;
    }
    l4::utcb()->send_pages[0] =
        abi::MapItem{abi::Flexpage::make(abi::kSigma0Window + phys, order, rights).raw, hotspot, 0};
    m.tag = abi::MessageTag::make(0, 0, 0, 1);
}

// The reply: label 0 with sigma0's capability at `selector`, all its rights.
void answer_with_cap(l4::Message& m, l4::Selector selector)
{
    l4::utcb()->send_caps[0] = abi::CapItem{selector, abi::rights::all};
    m.tag = abi::MessageTag::make(0, 0, 1);
}

const abi::MemoryRegion* region_of(uint64_t phys)
{
    const abi::BootInfo& info = boot_info();
    for (uint64_t i = 0; i < info.region_count; ++i)
        if (phys >= info.regions[i].base && phys - info.regions[i].base < info.regions[i].size)
            return &info.regions[i];
    return nullptr;
}

void handle(l4::Message& m)
{
    uint64_t label = m.tag.label();
    if (label == abi::label::page_fault) { // the root task touched memory it has not got yet
        uint64_t address = m.words[0];
        uint64_t phys = 0;
        if (address < kLowestFaultAddress)
            return answer(m, Error::bad_address);
        if (!pool.allocate(abi::sigma0::kMinOrder, abi::sigma0::kMinOrder, phys))
            return answer(m, Error::out_of_memory);
        return answer(m, Error::ok, phys, abi::sigma0::kMinOrder, address & ~(kPage - 1));
    }
    switch (static_cast<Request>(label)) {
    case Request::allocate: {
        uint64_t order = m.words[0], alignment = m.words[1] < m.words[0] ? m.words[0] : m.words[1];
        uint64_t phys = 0;
        if (m.tag.words() < 2 || order < abi::sigma0::kMinOrder || alignment > abi::sigma0::kMaxOrder)
            return answer(m, Error::invalid_argument);
        if (!pool.allocate(order, alignment, phys))
            return answer(m, Error::out_of_memory);
        return answer(m, Error::ok, phys, order);
    }
    case Request::map_physical: {
        uint64_t phys = m.words[0], order = m.words[1];
        if (m.tag.words() < 2 || order < abi::sigma0::kMinOrder || order > abi::sigma0::kMaxOrder ||
            phys % (uint64_t{1} << order) != 0)
            return answer(m, Error::invalid_argument);
        const abi::MemoryRegion* region = region_of(phys);
        if (region == nullptr || region->kind == abi::MemoryKind::free ||
            (uint64_t{1} << order) > region->size - (phys - region->base))
            return answer(m, Error::missing_rights);
        return answer(m, Error::ok, phys, order);
    }
    case Request::memory_map: {
        const abi::BootInfo& info = boot_info();
        uint64_t count =
            info.region_count < abi::sigma0::kMemoryMapEntries ? info.region_count : abi::sigma0::kMemoryMapEntries;
        uint64_t* mr = l4::utcb()->mr;
        mr[0] = count;
        for (uint64_t i = 0; i < count; ++i) {
            mr[1 + 3 * i] = info.regions[i].base;
            mr[2 + 3 * i] = info.regions[i].size;
            mr[3 + 3 * i] = static_cast<uint64_t>(info.regions[i].kind);
        }
        for (uint64_t i = 0; i < abi::kRegisterWords; ++i)
            m.words[i] = mr[i];
        m.tag = abi::MessageTag::make(0, 1 + 3 * count);
        return;
    }
    case Request::free_pages:
        m.words[0] = pool.free_pages();
        m.tag = abi::MessageTag::make(0, 1);
        return;
    case Request::io_ports: {
        uint64_t first = m.words[0], count = m.words[1];
        if (m.tag.words() < 2 || count == 0 || first >= abi::sigma0::kIoPorts || count > abi::sigma0::kIoPorts - first)
            return answer(m, Error::invalid_argument);
        // The previous reply's capability has reached its client by now (or never will).
        (void)l4::cap_delete(kPortsReplySlot);
        Error e = l4::factory_create(abi::boot::kFactorySelector, abi::ObjectKind::io_ports, kPortsReplySlot,
                                     abi::boot::kIoPortsSelector, first | count << 16);
        if (e != Error::ok)
            return answer(m, e);
        return answer_with_cap(m, kPortsReplySlot);
    }
    case Request::irq: {
        uint64_t line = m.words[0];
        if (m.tag.words() < 1 || line >= abi::boot::kIrqLines || line == abi::boot::kCascadeIrqLine)
            return answer(m, Error::invalid_argument);
        if (irq_handed_out[line])
            return answer(m, Error::busy);
        irq_handed_out[line] = true;
        return answer_with_cap(m, abi::boot::kIrqSelectorBase + line);
    }
    }
    answer(m, Error::invalid_argument);
}

} // namespace

int main()
{
    const abi::BootInfo& info = boot_info();
    if (info.magic != abi::kBootInfoMagic) {
        l4::print("sigma0: no boot information\n");
        return 1;
    }
    for (uint64_t i = 0; i < info.region_count; ++i)
        if (info.regions[i].kind == abi::MemoryKind::free)
            pool.add(info.regions[i].base, info.regions[i].size);
    // One line, one debug_write: the root task may be printing already.
    l4::println("sigma0: {} KiB to hand out", pool.free_pages() * kPage / 1024);

    l4::Message m;
    Error e = l4::receive(abi::boot::kSigma0EndpointSelector, m);
    while (e == Error::ok) {
        handle(m);
        e = l4::reply_wait(abi::boot::kSigma0EndpointSelector, m);
    }
    // Without a channel (no root task was started) there is nobody to serve.
    if (e == Error::invalid_selector) {
        l4::print("sigma0: no root task to serve, done\n");
        return 0;
    }
    l4::print("sigma0: stops, receive failed with error ");
    l4::print(static_cast<uint64_t>(e));
    l4::print("\n");
    return 1;
}
