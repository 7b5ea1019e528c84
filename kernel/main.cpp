// Kernel entry after the switch to long mode: bring up the boot CPU, memory and the timer.
#include "arch/x86_64/bring_up.hpp"
#include "arch/x86_64/layout.hpp"
#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/platform.hpp"
#include "arch/x86_64/tlb.hpp"
#include "boot/cmdline.hpp"
#include "boot_info.hpp"
#include "boot_tasks.hpp"
#include "boot/multiboot2.hpp"
#include "l4/abi/address_space.hpp"
#include "lib/elf_symbols.hpp"
#include "log.hpp"
#include "memory.hpp"
#include "panic.hpp"
#include "scheduler.hpp"
#include "vm.hpp"
#include "test_hooks.hpp"

extern "C" char __kernel_phys_start[], __kernel_end[];
void run_global_constructors();

namespace {

constexpr uint64_t kBootReachable = uint64_t{4} << 30; // the boot page tables' direct map
constexpr uint64_t kLowMemoryEnd = 0x100000;           // real-mode area, BIOS data: never used
constexpr size_t kMaxReserved = mb2::kMaxModules + 8;

mb2::BootInfo multiboot;
uint64_t boot_info_phys;
cmdline::Options options;
elf::SymbolTable kernel_symbols;

uint64_t kernel_phys_end() { return reinterpret_cast<uint64_t>(__kernel_end) - KERNEL_VIRT_OFFSET; }

void parse_boot_info(uint32_t magic, uint64_t info_phys)
{
    if (magic != mb2::kBootloaderMagic)
        panic("not started by a Multiboot2 loader (magic {:#x}, expected {:#x})", magic, mb2::kBootloaderMagic);
    if (info_phys == 0 || info_phys >= kBootReachable)
        panic("multiboot2 information at {:#x} is out of reach", info_phys);
    boot_info_phys = info_phys;
    mb2::Result result =
        mb2::parse(paging::phys_to_virt(info_phys), static_cast<size_t>(kBootReachable - info_phys), multiboot);
    if (result.error != mb2::Error::none)
        panic("malformed multiboot2 information: {} (at byte {} of the information)", mb2::describe(result.error),
              result.offset);
}

const void* map_boot_section(uint64_t address, uint64_t size)
{
    if (address >= kBootReachable || size > kBootReachable - address)
        return nullptr;
    return paging::phys_to_virt(address);
}

void load_kernel_symbols()
{
    const mb2::ElfSections& sections = multiboot.elf_sections;
    if (!sections.present) {
        klog::warn("no ELF section information: backtraces will have no names");
        return;
    }
    auto error = kernel_symbols.init(sections.headers, sections.count, sections.entry_size, map_boot_section);
    if (error != elf::SymbolTable::Error::none) {
        klog::warn("kernel symbol table unusable (error {}): backtraces will have no names", error);
        return;
    }
    panic_set_symbols(&kernel_symbols);
}

uint64_t round_up(uint64_t value, uint64_t align) { return (value + align - 1) / align * align; }

// Physical memory: the allocator gets available RAM minus everything the boot left in it.
uint64_t init_frames()
{
    mem::PhysRange usable[mb2::kMaxRegions];
    size_t usable_count = 0;
    uint64_t ram_end = 0;
    for (size_t i = 0; i < multiboot.region_count; ++i) {
        const mb2::MemoryRegion& r = multiboot.regions[i];
        auto type = static_cast<mb2::RegionType>(r.type);
        if (type == mb2::RegionType::available)
            usable[usable_count++] = {r.base, r.base + r.length};
        if (type == mb2::RegionType::available || type == mb2::RegionType::acpi_reclaimable ||
            type == mb2::RegionType::acpi_nvs)
            ram_end = r.base + r.length > ram_end ? r.base + r.length : ram_end;
    }

    mem::PhysRange reserved[kMaxReserved];
    size_t n = 0;
    reserved[n++] = {0, kLowMemoryEnd};
    reserved[n++] = {reinterpret_cast<uint64_t>(__kernel_phys_start), kernel_phys_end()};
    reserved[n++] = {boot_info_phys, boot_info_phys + multiboot.total_size};
    if (kernel_symbols.valid()) {
        elf::SectionRange symtab = kernel_symbols.symtab_range();
        elf::SectionRange strtab = kernel_symbols.strtab_range();
        reserved[n++] = {symtab.address, symtab.address + symtab.size};
        reserved[n++] = {strtab.address, strtab.address + strtab.size};
    }
    for (size_t i = 0; i < multiboot.module_count; ++i)
        reserved[n++] = {multiboot.modules[i].start, multiboot.modules[i].end};

    auto error = memory::frames().init(usable, usable_count, reserved, n, paging::phys_to_virt, kBootReachable);
    if (error != mem::FrameAllocator::InitError::none)
        panic("frame allocator: cannot start (error {})", error);
    return round_up(ram_end, 2 * 1024 * 1024);
}

void print_banner(const timer::Calibration& timer)
{
    klog::print("\nKestrel microkernel {} (x86_64)\n", KESTREL_VERSION);
    arch::print_cpu();
    klog::print("boot loader: {}\n", multiboot.bootloader_name);
    klog::print("command line: \"{}\"\n", multiboot.cmdline);
    klog::print("memory: {} KiB available in {} regions, {} KiB free for allocation, kernel image {} KiB\n",
                multiboot.available_bytes() / 1024, multiboot.region_count, memory::frames().free_frames() * 4,
                (kernel_phys_end() - reinterpret_cast<uint64_t>(__kernel_phys_start)) / 1024);
    klog::print("modules: {}\n", multiboot.module_count);
    for (size_t i = 0; i < multiboot.module_count; ++i) {
        const mb2::Module& m = multiboot.modules[i];
        klog::print("  module {}: {:#x}-{:#x} {} bytes \"{}\"\n", i, m.start, m.end, m.end - m.start, m.cmdline);
    }
    klog::print("timer: local APIC {} Hz (calibrated {}), tick {} Hz; TSC {} kHz\n", timer.apic_hz,
                timer.from_pit ? "against the PIT" : "NOT: no PIT, assumed", options.timer_hz, timer.tsc_hz / 1000);
}

} // namespace

extern "C" [[noreturn]] void kernel_main(uint32_t magic, uint32_t info_phys)
{
    arch::init_boot_cpu();
    run_global_constructors();

    parse_boot_info(magic, info_phys);
    options = cmdline::parse(multiboot.cmdline);
    klog::set_level(options.log_level);
    platform::set_exit_mode(options.exit);
    if (options.unknown_count > 0)
        klog::warn("{} unknown kernel option(s), first \"{}\"", options.unknown_count,
                   fmt::Str{options.first_unknown, options.first_unknown_len});
    if (options.bad_value_count > 0)
        klog::warn("{} kernel option(s) with a bad value kept their default, first \"{}\"", options.bad_value_count,
                   fmt::Str{options.first_bad, options.first_bad_len});

    load_kernel_symbols();
    uint64_t direct_map_end = init_frames();
    paging::init(memory::frames(), direct_map_end);
    tlb::init(options.pcid);
    memory::init_heap();
    // Boot module 1, when there is one, is the root task; alone, sigma0 is.
    memory::plan_budget(vm::bitmap_bytes(direct_map_end) + l4::abi::kBootInfoPages * l4::abi::kPageSize,
                        multiboot.module_count > 1);
    if (!vm::init(direct_map_end))
        panic("no memory for the mapping database");

    timer::Calibration calibration = arch::init_timer(options.timer_hz);
    print_banner(calibration);
    arch::print_tlb_mode(options.pcid);
    klog::debug("frame bitmaps at {:#x}, {} bytes", memory::frames().bitmap_base(), memory::frames().bitmap_bytes());

    run_test_hook(options.test);

    scheduler::init();
    if (!boot_info::build(multiboot, calibration, options))
        panic("no memory for the boot information");
    size_t tasks = start_boot_tasks(multiboot);
    klog::info("boot complete");
    if (tasks == 0) {
        klog::info("no user task to run");
        platform::exit_if_requested(platform::ExitCode::success);
    }
    scheduler::start();
}
