// The fuzzer's argument generators (fuzz.hpp): values in and out of range, but never one that
// would make the fuzzer destroy itself (see the rules at the top of fuzz.hpp).
#include "fuzz.hpp"

#include "l4/abi/address_space.hpp"
#include "l4/abi/boot_info.hpp"

namespace fz {

uint64_t scratch_s;
uint64_t known_bug;

bool may_map_into(uint64_t fault_label, uint64_t badge)
{
    return fault_label != abi::label::page_fault || badge == kForeignBadge || regression(3);
}

namespace {

using abi::Flexpage;

using kt::kKernelAddress;
using kt::kNonCanonical;
constexpr uint64_t kStackTop = 0x00007fffffff0000; // the boot stack's end (kernel boot_tasks.cpp)
constexpr uint64_t kUtcbArea = 0x00007fffc0000000;
constexpr uint64_t kMaxSelector = kt::kSlots;

// Something in .data: never executable.
volatile uint64_t data_anchor = 1;

uint64_t scratch_base(Rng& rng) { return rng.chance(50) ? scratch_s : kScratchD; }

// Orders of valid flexpages: small ones mostly (large unmaps walk every page).
uint64_t page_order(Rng& rng, uint64_t max)
{
    uint64_t k = rng.below(100);
    uint64_t order = k < 45 ? 12 : k < 75 ? 13 + rng.below(4) : k < 97 ? 17 + rng.below(7) : 24 + rng.below(7);
    return order > max ? max : order;
}

Flexpage in_region(Rng& rng, uint64_t base, uint64_t region_order, uint64_t order, uint64_t rights)
{
    uint64_t slots = uint64_t{1} << (region_order - order);
    return Flexpage::make(base + (rng.below(slots) << order), order, rights);
}

// A flexpage the kernel must refuse: below 4 KiB, above the address space, misaligned, or
// reaching past the user half; based in D, so that a kernel that took it would still only
// touch scratch memory.
Flexpage malformed(Rng& rng, uint64_t rights)
{
    switch (rng.below(5)) {
    case 0: return Flexpage::make(kScratchD, rng.below(12), rights);
    case 1: return Flexpage::make(kScratchD, 48 + rng.below(16), rights);
    case 2: return Flexpage::make(kScratchD + abi::kPageSize * (1 + 2 * rng.below(8)), 13 + rng.below(10), rights);
    case 3: return Flexpage::make(kNonCanonical, 12 + rng.below(20), rights);
    default: return Flexpage::make(kKernelAddress, 12, rights);
    }
}

} // namespace

uint64_t edge_value(Rng& rng)
{
    static const uint64_t values[] = {0,          1,          2,          3,          7,          63,
                                      64,         65,         255,        256,        4095,       4096,
                                      4097,       0x7fffffff, 0x80000000, 0xffffffff, 1ull << 32, 1ull << 46,
                                      1ull << 47, 1ull << 48, 1ull << 63, ~0ull,      ~0ull - 1};
    return rng.chance(80) ? pick(rng, values) : rng.next();
}

uint64_t any_address(Rng& rng)
{
    switch (rng.below(12)) {
    case 0: return kKernelAddress + rng.below(1u << 30);
    case 1: return kNonCanonical + rng.below(1u << 20);
    case 2: return (uint64_t{1} << 63) | rng.next();
    case 3: return rng.below(0x10000);
    case 4: return kImage + rng.below(0x40000);
    case 5: return kScratchD + rng.below(kScratchSize);
    case 6: return scratch_s + rng.below(kScratchSize);
    case 7: return abi::kUserEnd - 1 - rng.below(0x2000);
    case 8: return abi::kBootInfoAddress + rng.below(0x4000);
    case 9: return kUtcbArea + rng.below(0x10000);
    case 10: return kStackTop - rng.below(0x20000);
    default: return edge_value(rng);
    }
}

uint64_t safe_ip(Rng& rng)
{
    const uint64_t faulting[] = {0,
                                 0x1000,
                                 reinterpret_cast<uint64_t>(&data_anchor),
                                 kKernelAddress,
                                 kNonCanonical,
                                 abi::kLastUserPage,
                                 abi::kUserEnd - 1,
                                 abi::kBootInfoAddress,
                                 kStackTop - 8,
                                 ~uint64_t{0}};
    return rng.chance(60) ? reinterpret_cast<uint64_t>(fz_stub) : pick(rng, faulting);
}

uint64_t short_timeout(Rng& rng)
{
    uint64_t k = rng.below(100);
    return k < 88 ? abi::kTimeoutZero : k < 97 ? 1 : 2;
}

bool reserved(Selector s) { return s >= kReservedFirst && s < kReservedEnd; }

bool in_pool(Selector s) { return (s >= kPoolLow && s < kReservedFirst) || (s >= kReservedEnd && s < kMaxSelector); }

Selector selector(Rng& rng)
{
    static const uint64_t out_of_range[] = {1024, 1025, 4096, 1u << 16, 1ull << 32, 1ull << 63, ~0ull, ~0ull - 1023};
    uint64_t k = rng.below(100);
    Selector s;
    if (k < 55)
        s = kHotFirst + rng.below(kHotEnd - kHotFirst);
    else if (k < 65)
        s = rng.below(5);
    else if (k < 72)
        s = kIrqBase + rng.below(abi::boot::kIrqLines);
    else if (k < 82)
        s = rng.below(kMaxSelector);
    else if (k < 88)
        s = kPoolLow + rng.below(kReservedFirst - kPoolLow);
    else
        s = rng.chance(70) ? pick(rng, out_of_range) : rng.next();
    return reserved(s) ? kHotFirst + s % (kHotEnd - kHotFirst) : s;
}

namespace {

constexpr uint64_t kKinds = 7, kRemembered = 8; // every ObjectKind, reply included
Selector recent_slots[kKinds][kRemembered];
uint64_t recent_counts[kKinds];

} // namespace

void remember(uint64_t kind, Selector s)
{
    if (kind < kKinds && in_pool(s))
        recent_slots[kind][recent_counts[kind]++ % kRemembered] = s;
}

Selector typed(Rng& rng, uint64_t kind)
{
    if (kind >= kKinds || recent_counts[kind] == 0 || rng.chance(50))
        return selector(rng);
    uint64_t n = recent_counts[kind] < kRemembered ? recent_counts[kind] : kRemembered;
    return recent_slots[kind][rng.below(n)];
}

Selector copy_source(Rng& rng)
{
    static const uint64_t copyable[] = {kRendezvous, kPulse, kFuzzFactory};
    return rng.chance(12) ? pick(rng, copyable) : typed(rng, rng.below(kKinds));
}

Selector victim(Rng& rng)
{
    Selector s = typed(rng, rng.below(kKinds));
    return s <= abi::boot::kFactorySelector ? kHotFirst + rng.below(kHotEnd - kHotFirst) : s;
}

Selector factory_selector(Rng& rng)
{
    uint64_t k = rng.below(100);
    return k < 45   ? kFuzzFactory
           : k < 50 ? abi::boot::kFactorySelector
                    : typed(rng, static_cast<uint64_t>(abi::ObjectKind::factory));
}

uint64_t receive_slot(Rng& rng)
{
    uint64_t k = rng.below(100);
    uint64_t slot = k < 15   ? abi::kNoReceiveSlot
                    : k < 75 ? kHotFirst + rng.below(kHotEnd - kHotFirst)
                    : k < 85 ? kPoolLow + rng.below(kReservedFirst - 4 - kPoolLow + 1)
                    : k < 92 ? kMaxSelector - 4 + rng.below(8)
                             : edge_value(rng);
    // Up to four capabilities land in consecutive slots: none may reach a reserved one.
    if (slot + abi::kMaxTypedItems > kReservedFirst && slot < kReservedEnd)
        slot = kHotFirst + rng.below(kHotEnd - kHotFirst);
    return slot;
}

bool in_scratch(Flexpage page)
{
    if (!page.valid())
        return false;
    uint64_t end = page.base() + page.size();
    return (page.base() >= scratch_s && end <= scratch_s + kScratchSize) ||
           (page.base() >= kScratchD && end <= kScratchD + kScratchSize);
}

bool refused(Flexpage page, uint64_t max_order) { return !page.valid() || page.order() > max_order; }

Flexpage flexpage(Rng& rng, bool only_scratch)
{
    uint64_t rights = rng.below(8);
    uint64_t k = rng.below(100);
    if (k < 55 || (only_scratch && k < 75)) {
        uint64_t order = page_order(rng, kScratchOrder);
        return in_region(rng, scratch_base(rng), kScratchOrder, order, rights);
    }
    if (k < 75) {
        // Elsewhere in the fuzzer's own space (only ever mapped, or unmapped from others).
        uint64_t order = page_order(rng, 30);
        uint64_t base = any_address(rng) & ~((uint64_t{1} << order) - 1);
        Flexpage page = Flexpage::make(base, order, rights);
        return page.valid() ? page : malformed(rng, rights);
    }
    return malformed(rng, rights);
}

uint64_t receive_window(Rng& rng)
{
    uint64_t k = rng.below(100);
    if (k < 25)
        return 0;
    uint64_t rights = rng.below(8);
    if (k < 80)
        return in_region(rng, kScratchD, kScratchOrder, page_order(rng, kScratchOrder), rights).raw;
    Flexpage bad = malformed(rng, rights);
    return bad.valid() ? 0 : bad.raw;
}

uint64_t map_destination(Rng& rng, Flexpage page)
{
    uint64_t size = page.valid() ? page.size() : abi::kPageSize;
    uint64_t k = rng.below(100);
    if (k < 60 && size <= kScratchSize)
        return kScratchD + (rng.below(kScratchSize / size) * size);
    // Each refused whatever the page: in the kernel half, at or past the last user page, or
    // wrapping.
    const uint64_t hostile[] = {kKernelAddress,
                                kNonCanonical,
                                abi::kLastUserPage,
                                abi::kUserEnd - size,
                                ~uint64_t{0} & ~uint64_t{0xfff},
                                ~uint64_t{0} << 22,
                                uint64_t{1} << 63,
                                ~uint64_t{0} - size + 1};
    if (k < 85)
        return pick(rng, hostile);
    // Misaligned, yet inside D: a kernel that took it would still only touch D.
    return kScratchD + (size > abi::kPageSize ? abi::kPageSize : 8) * (1 + rng.below(4));
}

Flexpage unmap_in_page(Rng& rng)
{
    uint64_t rights = rng.below(8);
    return rng.chance(70) ? in_region(rng, kScratchD, kScratchOrder, page_order(rng, kScratchOrder), rights)
                          : malformed(rng, rights);
}

Error map_to_verdict(Flexpage page, uint64_t destination, uint64_t flags)
{
    if (flags != 0 || refused(page, 22) || (page.rights() & abi::page_rights::read) == 0)
        return Error::invalid_argument;
    if (destination % page.size() != 0)
        return Error::misaligned;
    if (destination >= abi::kLastUserPage || page.size() > abi::kLastUserPage - destination)
        return Error::bad_address;
    return Error::ok;
}

uint64_t message_tag(Rng& rng)
{
    if (rng.chance(4))
        return rng.next();
    static const uint64_t labels[] = {0,
                                      1,
                                      2,
                                      7,
                                      kEchoLabel + 1,
                                      kStubLabel,
                                      abi::label::exception,
                                      abi::label::page_fault,
                                      abi::label::foreign_syscall,
                                      0xffffffffffff};
    uint64_t label = rng.chance(50) ? pick(rng, labels) : rng.next() >> 16;
    uint64_t k = rng.below(100);
    uint64_t words = k < 40 ? rng.below(7) : k < 94 ? 7 + rng.below(58) : 65 + rng.below(63);
    uint64_t caps = rng.chance(60) ? 0 : rng.chance(94) ? 1 + rng.below(4) : 5 + rng.below(3);
    uint64_t pages = rng.chance(60) ? 0 : rng.chance(94) ? 1 + rng.below(4) : 5 + rng.below(3);
    return abi::MessageTag::make(label, words, caps, pages).raw;
}

bool tag_refused(uint64_t raw, const abi::Utcb& utcb)
{
    abi::MessageTag tag{raw};
    if (tag.words() > abi::kMessageWords || tag.caps() > abi::kMaxTypedItems || tag.pages() > abi::kMaxMapItems)
        return true;
    for (uint64_t i = 0; i < tag.pages(); ++i)
        if (refused(Flexpage{utcb.send_pages[i].page}, 22) || utcb.send_pages[i].grant > 1)
            return true;
    return false;
}

void sanitize_registers(Rng& rng, abi::Utcb& utcb)
{
    auto& state = *reinterpret_cast<abi::ExceptionState*>(utcb.mr);
    state.rip = safe_ip(rng);
}

void random_fpu_image(Rng& rng, abi::Utcb& utcb)
{
    for (uint64_t& word : utcb.mr)
        word = rng.chance(30) ? edge_value(rng) : rng.next();
    // Mostly an MXCSR fxrstor takes (exceptions masked or not, any flags, any rounding), so
    // that images get loaded and run with; else any 32 bits, which the kernel must refuse
    // when they leave the CPU's MXCSR_MASK.
    uint32_t mxcsr =
        rng.chance(70) ? static_cast<uint32_t>(rng.below(0x10000)) & 0xffbf : static_cast<uint32_t>(rng.next());
    __builtin_memcpy(reinterpret_cast<uint8_t*>(utcb.mr) + abi::fpu_image::kMxcsr, &mxcsr, sizeof mxcsr);
}

void random_message(Rng& rng, l4::Message& m, abi::Utcb& utcb)
{
    m.tag.raw = message_tag(rng);
    for (uint64_t& word : m.words)
        word = rng.chance(50) ? edge_value(rng) : rng.next();
    for (uint64_t i = abi::kRegisterWords; i < abi::kMessageWords; ++i)
        utcb.mr[i] = rng.chance(30) ? any_address(rng) : rng.next();
    sanitize_registers(rng, utcb);
    for (abi::CapItem& item : utcb.send_caps)
        item = {copy_source(rng), rng.chance(80) ? rng.below(16) : rng.next()};
    for (abi::MapItem& item : utcb.send_pages) {
        Flexpage page = rng.chance(70)
                            ? in_region(rng, scratch_base(rng), kScratchOrder, page_order(rng, 22), rng.below(8))
                            : flexpage(rng, false);
        uint64_t grant = rng.chance(55) ? 0 : rng.chance(92) ? 1 : edge_value(rng);
        // Only scratch pages go away: anything else is mapped (or refused).
        if (grant == 1 && !refused(page, 22) && !in_scratch(page))
            grant = 0;
        // Where a pager reply lands (the whole space: hotspot modulo 2^47): in D.
        uint64_t hotspot = kScratchD + rng.below(kScratchSize) + (rng.chance(20) ? rng.next() << 47 : 0);
        item = {page.raw, hotspot, grant};
    }
    utcb.receive_slot = receive_slot(rng);
    utcb.receive_window = receive_window(rng);
}

} // namespace fz
