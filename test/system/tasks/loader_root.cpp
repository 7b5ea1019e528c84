// The root task loads and starts other tasks from boot modules through libl4 alone
// (l4/sigma0.hpp, l4/loader.hpp): the sigma0 client, a heap over sigma0's pages, the ELF loader
// and its pager. Boot modules "child" and "child-null" (test/system/tasks/child.cpp) are data
// for this task; the kernel starts only sigma0 and us. Selectors 100-119.
#include <stddef.h>
#include <stdint.h>

#include "ktest.hpp"
#include "l4/abi/address_space.hpp"
#include "l4/abi/boot.hpp"
#include "l4/abi/boot_info.hpp"
#include "l4/format.hpp"
#include "l4/heap.hpp"
#include "l4/libc.hpp"
#include "l4/loader.hpp"
#include "l4/sigma0.hpp"
#include "l4/syscall.hpp"

namespace {

namespace abi = l4::abi;
using abi::Error;
using abi::ObjectKind;

constexpr l4::Selector kFactory = abi::boot::kFactorySelector;
constexpr l4::Selector kTask = 100, kThread = 101, kPager = 102;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kProbe = 0x0000300000000000;        // sigma0 client checks
constexpr uint64_t kModuleWindow = 0x0000080000000000; // boot modules, 1 GiB apart
constexpr uint64_t kPollTicks = 5;
constexpr uint64_t kMaxIdlePolls = 400; // 20 s without a fault: a hung child

// sigma0's frames arrive zeroed in QEMU: this fetcher hands the loader pages full of junk, so
// that what the loader does not fill and zero shows.
Error dirty_page(uint64_t at)
{
    const Error e = l4::sigma0::allocate(12, at);
    if (e == Error::ok)
        memset(reinterpret_cast<void*>(at), 0xcc, kPage);
    return e;
}

const abi::BootInfo& boot_info() { return *reinterpret_cast<const abi::BootInfo*>(abi::kBootInfoAddress); }

// The boot module whose command line starts with the word `name`, mapped from sigma0.
bool map_module(const char* name, const uint8_t*& bytes, size_t& size)
{
    const abi::BootInfo& info = boot_info();
    for (uint64_t i = 0; i < info.module_count && i < abi::kMaxBootModules; ++i) {
        const abi::BootModule& module = info.modules[i];
        size_t n = strlen(name);
        if (strncmp(module.cmdline, name, n) != 0 || (module.cmdline[n] != '\0' && module.cmdline[n] != ' '))
            continue;
        const uint64_t at = kModuleWindow + i * (uint64_t{1} << 30);
        const Error e = l4::sigma0::map_physical_range(module.base, module.size, at);
        if (e != Error::ok) {
            l4::println("loader: cannot map module \"{}\": error {}", name, e);
            return false;
        }
        bytes = reinterpret_cast<const uint8_t*>(at + module.base % kPage);
        size = module.size;
        return true;
    }
    l4::println("loader: no boot module \"{}\"", name);
    return false;
}

} // namespace

#define LOADER_REQUIRE_EQ(actual, expected)                                                                            \
    do {                                                                                                               \
        auto loader_a = static_cast<uint64_t>(actual);                                                                 \
        auto loader_e = static_cast<uint64_t>(expected);                                                               \
        if (!ktest::expect_eq(__FILE__, __LINE__, #actual, loader_a, loader_e))                                        \
            return;                                                                                                    \
    } while (0)

// The sigma0 client: memory where we ask for it, each page once, and the checks before asking.
KTEST(loader_sigma0_client)
{
    uint64_t before = 0, after = 0;
    LOADER_REQUIRE_EQ(l4::sigma0::free_pages(before), Error::ok);
    KEXPECT_EQ(before > 16, true);
    LOADER_REQUIRE_EQ(l4::sigma0::allocate(12, kProbe), Error::ok);
    auto* page = reinterpret_cast<volatile uint64_t*>(kProbe);
    page[0] = 0x5157'0000;
    page[511] = 0x5157'0001;
    KEXPECT_EQ(page[0] + page[511], uint64_t{2} * 0x5157'0000 + 1);
    LOADER_REQUIRE_EQ(l4::sigma0::allocate(14, kProbe + 0x4000), Error::ok);
    page[0x4000 / 8 + 0x3ff8 / 8] = 7; // the last word of the 16 KiB block
    KEXPECT_EQ(page[0x4000 / 8 + 0x3ff8 / 8], 7);
    LOADER_REQUIRE_EQ(l4::sigma0::free_pages(after), Error::ok);
    KEXPECT_EQ(after, before - 1 - 4);
    KEXPECT_EQ(l4::utcb()->receive_window, 0); // put back as it was

    // Checked here, nothing asked of sigma0.
    KEXPECT_EQ(l4::sigma0::allocate(11, kProbe), Error::invalid_argument);
    KEXPECT_EQ(l4::sigma0::allocate(23, 0), Error::invalid_argument);
    KEXPECT_EQ(l4::sigma0::allocate(13, kProbe + 0x1000), Error::misaligned);
    KEXPECT_EQ(l4::sigma0::allocate(12, abi::kUserEnd), Error::invalid_argument);
    KEXPECT_EQ(l4::sigma0::map_physical(0x1000, 13, kProbe), Error::misaligned);
    KEXPECT_EQ(l4::sigma0::map_physical_range(0x1000, 1, kProbe + 1), Error::misaligned);
    LOADER_REQUIRE_EQ(l4::sigma0::free_pages(before), Error::ok);
    KEXPECT_EQ(before, after);

    // sigma0's refusals: free memory is only allocated, never mapped physically.
    const abi::BootInfo& info = boot_info();
    uint64_t free_base = 0;
    for (uint64_t i = 0; i < info.region_count; ++i)
        if (info.regions[i].kind == abi::MemoryKind::free)
            free_base = info.regions[i].base;
    KEXPECT_EQ(l4::sigma0::map_physical(free_base & ~(kPage - 1), 12, kProbe + 0x10000), Error::missing_rights);
    // A page the kernel keeps (the boot information) is not replaced: nothing arrives there.
    KEXPECT_EQ(l4::sigma0::allocate(12, abi::kBootInfoAddress), Error::bad_address);
    KEXPECT_EQ(info.magic, abi::kBootInfoMagic);
}

// malloc and new over l4::sigma0::pages.
KTEST(loader_heap_over_sigma0_pages)
{
    l4::heap_init(l4::sigma0::pages);
    auto* small = static_cast<uint8_t*>(malloc(100));
    LOADER_REQUIRE_EQ(small != nullptr, true);
    const auto where = reinterpret_cast<uint64_t>(small);
    KEXPECT_EQ(where >= l4::sigma0::kHeapArenaBase && where < l4::sigma0::kHeapArenaBase + l4::sigma0::kHeapArenaSize,
               true);
    memset(small, 0xab, 100);
    constexpr size_t kBig = 3 * 1024 * 1024; // more than any one block sigma0 maps at once
    auto* big = static_cast<uint8_t*>(malloc(kBig));
    LOADER_REQUIRE_EQ(big != nullptr, true);
    for (size_t i = 0; i < kBig; i += kPage)
        big[i] = static_cast<uint8_t>(i / kPage);
    uint64_t sum = 0, expected = 0;
    for (size_t i = 0; i < kBig; i += kPage) {
        sum += big[i];
        expected += static_cast<uint8_t>(i / kPage);
    }
    KEXPECT_EQ(sum, expected);
    auto* numbers = new uint64_t[1000];
    for (uint64_t i = 0; i < 1000; ++i)
        numbers[i] = i;
    KEXPECT_EQ(numbers[999] + small[99], 999 + 0xab);
    delete[] numbers;
    free(big);
    free(small);
    KEXPECT_EQ(l4::heap_check(), true);
    KEXPECT_EQ(l4::heap_stats().blocks_in_use, 0);
}

// Images the ELF reader refuses and options that do not fit leave the slots empty.
KTEST(loader_rejects_bad_images_and_options)
{
    static uint8_t junk[256];
    for (size_t i = 0; i < sizeof junk; ++i)
        junk[i] = static_cast<uint8_t>(i * 7 + 1);
    auto* image = new l4::LoadedImage;
    KEXPECT_EQ(l4::load_task(junk, sizeof junk, kFactory, kTask, kThread, kPager, *image), Error::invalid_argument);
    KEXPECT_EQ(image->parse_result.error, elf::Error::bad_magic);
    KEXPECT_EQ(l4::load_task(nullptr, 0, kFactory, kTask, kThread, kPager, *image), Error::invalid_argument);
    KEXPECT_EQ(image->parse_result.error, elf::Error::too_small);

    const uint8_t* child = nullptr;
    size_t size = 0;
    LOADER_REQUIRE_EQ(map_module("child", child, size), true);
    l4::LoadOptions overlapping;
    overlapping.stack_top = 0x401000; // the stack would cover the child's code
    KEXPECT_EQ(l4::load_task(child, size, kFactory, kTask, kThread, kPager, *image, overlapping),
               Error::invalid_argument);
    KEXPECT_EQ(image->parse_result.error, elf::Error::none);
    l4::LoadOptions unaligned;
    unaligned.stack_top = l4::kLoaderStackTop + 8;
    KEXPECT_EQ(l4::load_task(child, size, kFactory, kTask, kThread, kPager, *image, unaligned),
               Error::invalid_argument);
    // The kernel's errors come back as they are: no pager endpoint in kPager yet.
    KEXPECT_EQ(l4::load_task(child, size, kFactory, kTask, kThread, kPager, *image), Error::invalid_selector);
    KEXPECT_EQ(l4::cap_delete(kTask), Error::invalid_selector);   // empty
    KEXPECT_EQ(l4::cap_delete(kThread), Error::invalid_selector); // empty
    delete image;
}

namespace {

// Loads the module `name` into a new task, serves its faults until its thread is gone, and
// cleans up. Returns the image's statistics in `out`.
Error run_module(const char* name, l4::LoadedImage& image, const l4::LoadOptions& options = l4::LoadOptions{})
{
    const uint8_t* bytes = nullptr;
    size_t size = 0;
    if (!map_module(name, bytes, size))
        return Error::invalid_argument;
    Error e = l4::factory_create(kFactory, ObjectKind::endpoint, kPager);
    if (e != Error::ok)
        return e;
    e = l4::load_task(bytes, size, kFactory, kTask, kThread, kPager, image, options);
    if (e == Error::ok) {
        l4::println("loader: started \"{}\": entry {:#x}, {} segments, {} pages to serve", name, image.executable.entry,
                    image.executable.segment_count, image.page_count);
        e = l4::serve_until_exit(image, kPager, kThread, kPollTicks, kMaxIdlePolls);
        (void)l4::cap_delete(kThread);
        (void)l4::cap_delete(kTask);
    }
    (void)l4::cap_delete(kPager);
    return e;
}

} // namespace

// The child runs demand-paged from its boot module and exits; its .data arrived intact, its
// .bss zeroed (it prints both).
KTEST(loader_runs_child_from_boot_module)
{
    auto* image = new l4::LoadedImage;
    LOADER_REQUIRE_EQ(run_module("child", *image), Error::ok);
    KEXPECT_EQ(image->faults_refused, 0);
    // code, constants, .data/.bss (14 pages from 0x402000 on), stack (7 pages)
    KEXPECT_EQ(image->faults_served >= 10, true);
    KEXPECT_EQ(image->pages_fetched <= image->faults_served, true);
    l4::println("loader: child finished ({} faults served, {} pages from sigma0)", image->faults_served,
                image->pages_fetched);
    delete image;
}

// Again, with every page full of junk before the loader fills it: the child still finds its
// .data intact and its .bss zero.
KTEST(loader_fills_every_byte_of_a_page)
{
    auto* image = new l4::LoadedImage;
    l4::LoadOptions options;
    options.fetch_page = dirty_page;
    LOADER_REQUIRE_EQ(run_module("child", *image, options), Error::ok);
    KEXPECT_EQ(image->faults_refused, 0);
    l4::println("loader: child finished on junk-filled pages ({} faults served)", image->faults_served);
    delete image;
}

// The child touches address 0: its pager refuses, the kernel stops it, we go on.
KTEST(loader_refuses_a_fault_outside_the_image)
{
    auto* image = new l4::LoadedImage;
    LOADER_REQUIRE_EQ(run_module("child-null", *image), Error::ok);
    KEXPECT_EQ(image->faults_refused, 1);
    l4::println("loader: child-null stopped after {} faults served, {} refused; the root task goes on",
                image->faults_served, image->faults_refused);
    delete image;
}

namespace {

l4::Message page_fault(uint64_t address, uint64_t access)
{
    l4::Message m;
    m.tag = abi::MessageTag::make(abi::label::page_fault, abi::kPageFaultWords);
    m.words[0] = address;
    m.words[1] = access;
    m.words[2] = 0x400000;
    return m;
}

bool all_zero(uint64_t from, uint64_t to)
{
    for (uint64_t a = from; a < to; ++a)
        if (*reinterpret_cast<const volatile uint8_t*>(a) != 0)
            return false;
    return true;
}

} // namespace

// The pager's decisions one by one, on faults made up here (the child it loaded waits on its
// first fault meanwhile): pages filled from the file and zeroed, rights from the segment,
// refusals, a page fetched once.
KTEST(loader_pager_decisions)
{
    namespace rights = abi::page_rights;
    const uint8_t* bytes = nullptr;
    size_t size = 0;
    LOADER_REQUIRE_EQ(map_module("child", bytes, size), true);
    LOADER_REQUIRE_EQ(l4::factory_create(kFactory, ObjectKind::endpoint, kPager), Error::ok);
    auto* image = new l4::LoadedImage;
    l4::LoadOptions options;
    options.priority = 1; // it waits for its first page anyway
    options.fetch_page = dirty_page;
    LOADER_REQUIRE_EQ(l4::load_task(bytes, size, kFactory, kTask, kThread, kPager, *image, options), Error::ok);
    const elf::Segment* text = nullptr;
    const elf::Segment* data = nullptr;
    for (size_t i = 0; i < image->executable.segment_count; ++i) {
        const elf::Segment& s = image->executable.segments[i];
        if (s.executable())
            text = &s;
        if (s.writable())
            data = &s;
    }
    LOADER_REQUIRE_EQ(text != nullptr && data != nullptr, true);
    const l4::abi::MapItem& item = l4::utcb()->send_pages[0];

    // Code: read + execute, the file's bytes.
    l4::Message m = page_fault(text->vaddr, rights::execute);
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), 0);
    KEXPECT_EQ(m.tag.pages(), 1);
    KEXPECT_EQ(m.tag.words(), 0);
    abi::Flexpage page{item.page};
    KEXPECT_EQ(page.order(), 12);
    KEXPECT_EQ(page.rights(), rights::read | rights::execute);
    KEXPECT_EQ(item.hotspot, text->page_base());
    KEXPECT_EQ(item.grant, 0);
    const uint64_t in_page = text->page_base() + kPage - text->vaddr;
    const uint64_t text_bytes = text->filesz < in_page ? text->filesz : in_page;
    KEXPECT_EQ(memcmp(reinterpret_cast<const void*>(page.base() + (text->vaddr - text->page_base())),
                      bytes + text->offset, text_bytes),
               0);
    m = page_fault(text->vaddr + 16, rights::write);
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::missing_rights);
    KEXPECT_EQ(m.tag.label(), static_cast<uint64_t>(Error::missing_rights));
    KEXPECT_EQ(m.tag.pages(), 0);

    // The page where .data ends and .bss begins: file bytes, then zeros.
    const uint64_t file_end = data->vaddr + data->filesz;
    const uint64_t last = file_end & ~(kPage - 1);
    KEXPECT_EQ(file_end % kPage != 0 && data->memsz > data->filesz, true); // the child is built so
    m = page_fault(file_end, rights::write);
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::ok);
    page = abi::Flexpage{item.page};
    KEXPECT_EQ(page.rights(), rights::read | rights::write);
    KEXPECT_EQ(item.hotspot, last);
    const uint64_t from = last > data->vaddr ? last : data->vaddr;
    KEXPECT_EQ(memcmp(reinterpret_cast<const void*>(page.base() + (from - last)),
                      bytes + data->offset + (from - data->vaddr), file_end - from),
               0);
    KEXPECT_EQ(all_zero(page.base() + (file_end - last), page.base() + kPage), true);
    // Once fetched, the page is the same page every time.
    const uint64_t scratch = page.base(), fetched = image->pages_fetched;
    *reinterpret_cast<volatile uint64_t*>(scratch) = 0x1234;
    m = page_fault(file_end + 8, rights::read);
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::ok);
    KEXPECT_EQ(abi::Flexpage{item.page}.base(), scratch);
    KEXPECT_EQ(image->pages_fetched, fetched);
    KEXPECT_EQ(*reinterpret_cast<volatile uint64_t*>(scratch), 0x1234);
    m = page_fault(data->vaddr, rights::execute);
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::missing_rights);

    // The stack: zeroed read/write pages, nothing executable, nothing below it.
    m = page_fault(image->stack_top - 8, rights::write);
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::ok);
    page = abi::Flexpage{item.page};
    KEXPECT_EQ(page.rights(), rights::read | rights::write);
    KEXPECT_EQ(item.hotspot, image->stack_top - kPage);
    KEXPECT_EQ(all_zero(page.base(), page.base() + kPage), true);
    m = page_fault(image->stack_top - 8, rights::execute);
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::missing_rights);
    m = page_fault(image->stack_base - 1, rights::read);
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::bad_address);
    KEXPECT_EQ(m.tag.label(), static_cast<uint64_t>(Error::bad_address));
    m = page_fault(0, rights::read);
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::bad_address);
    m = page_fault(abi::kUserEnd - 8, rights::read);
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::bad_address);
    m = page_fault(text->vaddr, rights::read);
    m.tag = abi::MessageTag::make(5, abi::kPageFaultWords); // no page fault
    KEXPECT_EQ(l4::serve_loader_fault(*image, m), Error::invalid_argument);
    KEXPECT_EQ(image->faults_served, 4);
    KEXPECT_EQ(image->faults_refused, 7);
    KEXPECT_EQ(image->pages_fetched, 3);

    KEXPECT_EQ(l4::cap_delete(kThread), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kTask), Error::ok);
    KEXPECT_EQ(l4::cap_delete(kPager), Error::ok);
    delete image;
}
