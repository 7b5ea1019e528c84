// The root task's side of the sigma0 protocol (l4/sigma0.hpp, docs/sigma0.md).
#include "l4/sigma0.hpp"

#include "l4/abi/address_space.hpp"

namespace l4::sigma0 {

namespace {

using abi::Flexpage;
using abi::MessageTag;
using abi::sigma0::Request;

constexpr uint64_t kMinOrder = abi::sigma0::kMinOrder;
constexpr uint64_t kMaxOrder = abi::sigma0::kMaxOrder;

// A block of 2^order bytes at `at` in the caller's space: the checks every request makes.
Error check_block(uint64_t order, uint64_t at)
{
    if (order < kMinOrder || order > kMaxOrder)
        return Error::invalid_argument;
    const uint64_t size = uint64_t{1} << order;
    if (at % size != 0)
        return Error::misaligned;
    if (at >= abi::kUserEnd || abi::kUserEnd - at < size)
        return Error::invalid_argument;
    return Error::ok;
}

// Where the items of a reply may land, and how many did.
struct Landing {
    uint64_t window = 0;                 // receive window (a Flexpage); 0: none
    uint64_t slot = abi::kNoReceiveSlot; // first receive slot
    uint64_t pages = 0, caps = 0;        // what arrived
};

// One request of `words` words (word0, word1), its reply received as `landing` says; the
// caller's own receive window and slot are put back afterwards. The call's error, or sigma0's.
Error ask(Request what, uint64_t words, uint64_t word0, uint64_t word1, Landing& landing)
{
    abi::Utcb* u = utcb();
    const uint64_t saved_window = u->receive_window, saved_slot = u->receive_slot;
    u->receive_window = landing.window;
    u->receive_slot = landing.slot;
    Message m;
    m.tag = MessageTag::make(static_cast<uint64_t>(what), words);
    m.words[0] = word0;
    m.words[1] = word1;
    const Error e = call(kEndpoint, m);
    landing.pages = u->received_pages;
    landing.caps = u->received_caps;
    u->receive_window = saved_window;
    u->receive_slot = saved_slot;
    return e != Error::ok ? e : static_cast<Error>(m.tag.label());
}

// One request that maps memory: the block lands in a receive window of exactly its size at `at`.
Error request_memory(Request what, uint64_t word0, uint64_t word1, uint64_t order, uint64_t at)
{
    Landing landing;
    landing.window = Flexpage::make(at, order, abi::page_rights::all).raw;
    const Error e = ask(what, 2, word0, word1, landing);
    if (e != Error::ok)
        return e;
    return landing.pages == (uint64_t{1} << order) / kPageSize ? Error::ok : Error::bad_address;
}

// One request whose reply carries a capability: it lands at `into`.
Error request_capability(Request what, uint64_t words, uint64_t word0, uint64_t word1, Selector into)
{
    if (into == abi::kNoReceiveSlot)
        return Error::invalid_argument;
    Landing landing;
    landing.slot = into;
    const Error e = ask(what, words, word0, word1, landing);
    if (e != Error::ok)
        return e;
    return landing.caps == 1 ? Error::ok : Error::slot_occupied;
}

} // namespace

Error io_ports(uint64_t first, uint64_t count, Selector into)
{
    return request_capability(Request::io_ports, 2, first, count, into);
}

Error irq_line(uint64_t line, Selector into) { return request_capability(Request::irq, 1, line, 0, into); }

Error allocate(uint64_t order, uint64_t at)
{
    const Error e = check_block(order, at);
    return e != Error::ok ? e : request_memory(Request::allocate, order, order, order, at);
}

Error map_physical(uint64_t phys, uint64_t order, uint64_t at)
{
    Error e = check_block(order, at);
    if (e == Error::ok && phys % (uint64_t{1} << order) != 0)
        e = Error::misaligned;
    return e != Error::ok ? e : request_memory(Request::map_physical, phys, order, order, at);
}

Error map_physical_range(uint64_t phys, uint64_t size, uint64_t at)
{
    if (at % kPageSize != 0)
        return Error::misaligned;
    if (size == 0)
        return Error::ok;
    const uint64_t first = phys & ~(kPageSize - 1);
    if (phys + size < phys || phys + size > ~uint64_t{0} - kPageSize)
        return Error::invalid_argument;
    const uint64_t length = ((phys + size + kPageSize - 1) & ~(kPageSize - 1)) - first;
    if (at >= abi::kUserEnd || abi::kUserEnd - at < length)
        return Error::invalid_argument;
    for (uint64_t offset = 0; offset < length;) {
        // The largest block both sides are aligned to that the rest of the range holds.
        uint64_t order = kMaxOrder;
        while (order > kMinOrder &&
               ((first + offset) % (uint64_t{1} << order) != 0 || (at + offset) % (uint64_t{1} << order) != 0 ||
                length - offset < (uint64_t{1} << order)))
            --order;
        Error e = map_physical(first + offset, order, at + offset);
        // A large block may reach into the next region (sigma0 maps one region at a time).
        while (e == Error::missing_rights && order > kMinOrder)
            e = map_physical(first + offset, --order, at + offset);
        if (e != Error::ok)
            return e;
        offset += uint64_t{1} << order;
    }
    return Error::ok;
}

Error free_pages(uint64_t& count)
{
    Message m;
    m.tag = MessageTag::make(static_cast<uint64_t>(Request::free_pages), 0);
    const Error e = call(kEndpoint, m);
    if (e != Error::ok)
        return e;
    if (m.tag.label() != 0)
        return static_cast<Error>(m.tag.label());
    count = m.words[0];
    return Error::ok;
}

namespace {

uint64_t arena_next = kHeapArenaBase;   // the first page not yet handed to the heap
uint64_t arena_mapped = kHeapArenaBase; // [kHeapArenaBase, arena_mapped) holds memory

} // namespace

void* pages(size_t count)
{
    const uint64_t arena_end = kHeapArenaBase + kHeapArenaSize;
    if (count == 0 || count > (arena_end - arena_next) / kPageSize)
        return nullptr;
    const uint64_t end = arena_next + count * kPageSize;
    while (arena_mapped < end) {
        uint64_t order = kMaxOrder;
        while (order > kMinOrder &&
               (arena_mapped % (uint64_t{1} << order) != 0 || end - arena_mapped < (uint64_t{1} << order)))
            --order;
        Error e = allocate(order, arena_mapped);
        // sigma0 may have no block this large left, but smaller ones.
        while (e == Error::out_of_memory && order > kMinOrder)
            e = allocate(--order, arena_mapped);
        if (e != Error::ok)
            return nullptr; // what was mapped so far stays for the next request
        arena_mapped += uint64_t{1} << order;
    }
    void* result = reinterpret_cast<void*>(arena_next);
    arena_next = end;
    return result;
}

} // namespace l4::sigma0
