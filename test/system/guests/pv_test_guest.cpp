// The paravirtual test guest: calls every hypercall the VMM implements, with good and bad
// arguments, checks its start-info and vCPU pages, drives its devices (pv_device_tests.cpp),
// prints "pv-test: N passed, M failed" and shuts down with status 0 when all passed (1
// otherwise): a power-off, or with a disk first a reboot. Its command line is kCommandLine, or
// kDiskCommandLine when its line has disk=, or kPeerCommandLine beside frame_echo_guest.cpp.
#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "pv_test.hpp"

namespace pvtest {

namespace {

constexpr char kCommandLine[] = "hello from the command line";
constexpr char kDiskCommandLine[] = "hello from the command line, with a disk";
constexpr char kPeerCommandLine[] = "hello from the command line, with a peer";

template <size_t N>
bool command_line_is(const char (&line)[N])
{
    return memcmp(l4::hc::start_info().cmdline, line, N) == 0;
}

unsigned passed = 0, failed = 0;
const char* context = nullptr;
uint64_t spare_memory = 0, spare_memory_end = 0; // take_memory's

} // namespace

void expect(bool ok, const char* what, uint64_t got)
{
    if (ok) {
        ++passed;
        return;
    }
    ++failed;
    if (context != nullptr)
        l4::hc::println("pv-test: FAIL {}: {} (got {:#x})", context, what, got);
    else
        l4::hc::println("pv-test: FAIL {} (got {:#x})", what, got);
}

void expect_status(HcStatus got, HcStatus want, const char* what)
{
    expect(got == want, what, static_cast<uint64_t>(got));
}

void set_context(const char* name) { context = name; }

uint8_t* take_memory(uint64_t bytes)
{
    const uint64_t rounded = (bytes + 4095) & ~uint64_t{4095};
    if (rounded > spare_memory_end - spare_memory) {
        l4::hc::println("pv-test: FAIL out of memory for the device tests");
        (void)l4::hc::shutdown(hc::ShutdownReason::poweroff, 1);
    }
    auto* memory = reinterpret_cast<uint8_t*>(spare_memory);
    spare_memory += rounded;
    return memory;
}

namespace {

void check_version(bool with_disk)
{
    uint64_t version = 0, features = 0;
    expect_status(l4::hc::version(version, features), HcStatus::ok, "version");
    expect(version == hc::kVersion, "version: kVersion", version);
    // The block device only for a guest line with disk=.
    const uint64_t expected = hc::features::console_ring | hc::features::net | (with_disk ? hc::features::block : 0);
    expect(features == expected, "version: console ring, net, and block with a disk", features);
}

void check_start_info()
{
    const hc::StartInfo& info = l4::hc::start_info();
    expect(info.magic == hc::kStartInfoMagic, "start info: magic", info.magic);
    expect(info.version == hc::kVersion, "start info: version", info.version);
    expect(info.memory_base == 0x400000, "start info: memory base", info.memory_base);
    expect(info.kernel_end > info.memory_base && info.kernel_end < info.memory_base + info.memory_size,
           "start info: kernel end inside memory", info.kernel_end);
    expect(info.module_count <= 1, "start info: at most the initrd", info.module_count);
    expect(info.quota_bytes > 0, "start info: a kernel-memory quota", info.quota_bytes);
    expect(info.name[sizeof info.name - 1] == '\0' && info.cmdline[sizeof info.cmdline - 1] == '\0',
           "start info: strings terminated");
    l4::hc::println("pv-test: I am \"{}\", {} KiB at {:#x}, command line \"{}\"", info.name, info.memory_size / 1024,
                    info.memory_base, info.cmdline);
    expect(command_line_is(kCommandLine) || command_line_is(kDiskCommandLine) || command_line_is(kPeerCommandLine),
           "start info: command line");
}

// The initrd, when the guest line names one: right after the kernel, inside guest memory. Its
// size and byte sum go to the console, for the harness to compare with the module it made.
// Returns where free memory begins.
uint64_t check_initrd()
{
    const hc::StartInfo& info = l4::hc::start_info();
    if (info.module_count == 0)
        return info.kernel_end;
    const hc::Module& initrd = info.modules[0];
    const uint64_t memory_end = info.memory_base + info.memory_size;
    expect(initrd.address == info.kernel_end && initrd.size <= memory_end - initrd.address,
           "initrd: after the kernel, inside memory", initrd.address);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < initrd.size; ++i)
        sum += reinterpret_cast<const uint8_t*>(initrd.address)[i];
    l4::hc::println("pv-test: initrd of {} bytes at {:#x}, byte sum {}", initrd.size, initrd.address, sum);
    return (initrd.address + initrd.size + 4095) & ~uint64_t{4095};
}

// All of guest memory is there, zeroed above the kernel and initrd, and the vCPU page is
// writable.
void check_memory(uint64_t free_memory)
{
    const hc::StartInfo& info = l4::hc::start_info();
    auto* first = reinterpret_cast<volatile uint64_t*>(free_memory);
    auto* last = reinterpret_cast<volatile uint64_t*>(info.memory_base + info.memory_size - 64 * 1024);
    expect(*first == 0 && *last == 0, "memory above the kernel is zero");
    *first = 0x1234;
    *last = 0x5678;
    expect(*first + *last == 0x1234 + 0x5678, "memory above the kernel is writable");
    auto& vcpu = *reinterpret_cast<hc::VcpuPage*>(hc::kVcpuPageAddress);
    expect(vcpu.masked == 0 && vcpu.pending_sources == 0, "vCPU page starts zeroed");
    vcpu.masked = 1;
    expect(vcpu.masked == 1, "vCPU page is writable");
}

void check_console()
{
    expect_status(l4::hc::console_write("pv-test: one byte at a time: ", 29), HcStatus::ok, "console: 29 bytes");
    const char ok[] = "ok\n";
    for (size_t i = 0; i < 3; ++i)
        expect_status(l4::hc::console_write(ok + i, 1), HcStatus::ok, "console: 1 byte");
    expect_status(l4::hc::console_write("pv-test: forty bytes exactly, in 5 words\n", 41), HcStatus::invalid_argument,
                  "console: 41 bytes");
    expect_status(l4::hc::console_write("pv-test: forty bytes exactly in 5 words\n", 40), HcStatus::ok,
                  "console: 40 bytes");
    expect_status(raw_hypercall(static_cast<uint64_t>(Call::console_write), 1, 0), HcStatus::invalid_argument,
                  "console: length 0");
    expect_status(raw_hypercall(static_cast<uint64_t>(Call::console_write), 2, 40), HcStatus::invalid_argument,
                  "console: 40 bytes in one word");
    expect_status(raw_hypercall(static_cast<uint64_t>(Call::console_write), 0, 1), HcStatus::invalid_argument,
                  "console: no length word");
}

void check_refusals()
{
    constexpr uint64_t kUnknown[] = {0, 7, 99, l4::abi::label::exception};
    for (const uint64_t number : kUnknown)
        expect_status(raw_hypercall(number, 0), HcStatus::unknown_call, "an unknown hypercall");
    expect_status(l4::hc::shutdown(static_cast<hc::ShutdownReason>(3), 0), HcStatus::invalid_argument,
                  "shutdown: reason 3");
    expect_status(l4::hc::shutdown(hc::ShutdownReason::poweroff, 256), HcStatus::invalid_argument,
                  "shutdown: status 256");
    expect_status(raw_hypercall(static_cast<uint64_t>(Call::shutdown), 1, 0), HcStatus::invalid_argument,
                  "shutdown: one word");
    uint64_t version = 0, features = 0;
    expect_status(l4::hc::version(version, features), HcStatus::ok, "still running after the refusals");
}

// yield sleeps until an enabled source is pending: here the timer, 2 ms ahead.
void check_timer_and_yield()
{
    l4::hc::enable_sources(uint64_t{1} << hc::source::timer);
    const uint64_t start = l4::hc::now_ns();
    expect_status(l4::hc::timer_set(start + 2'000'000), HcStatus::ok, "timer_set 2 ms ahead");
    expect_status(l4::hc::yield(), HcStatus::ok, "yield until the timer");
    const uint64_t slept = l4::hc::now_ns() - start;
    expect(slept >= 2'000'000, "yield: slept at least until the deadline", slept);
    expect(l4::hc::take_events() == uint64_t{1} << hc::source::timer, "yield: the timer is what is pending");
    // A deadline already past raises the timer before the reply: yield returns at once.
    expect_status(l4::hc::timer_set(1), HcStatus::ok, "timer_set in the past");
    expect(l4::hc::vcpu().pending == 1, "a past deadline is pending at once");
    expect_status(l4::hc::yield(), HcStatus::ok, "yield with an event pending");
    (void)l4::hc::take_events();
    expect_status(raw_hypercall(static_cast<uint64_t>(Call::timer_set), 0), HcStatus::invalid_argument,
                  "timer_set: no word");
}

void run()
{
    const hc::StartInfo& info = l4::hc::start_info();
    const bool with_disk = command_line_is(kDiskCommandLine);
    check_version(with_disk);
    check_start_info();
    const uint64_t first_free = check_initrd();
    check_memory(first_free);
    // check_memory wrote a word at each end: the devices take what lies between (the stack
    // is below the top 64 KiB).
    spare_memory = first_free + 4096;
    spare_memory_end = info.memory_base + info.memory_size - 256 * 1024;
    check_console();
    check_refusals();
    check_timer_and_yield();
    const bool rebooted = check_devices(with_disk, command_line_is(kPeerCommandLine));
    l4::hc::println("pv-test: {} passed, {} failed", passed, failed);
    // A guest with a disk reboots once (restart=on-crash on its line): the second run attaches
    // its devices again, and finds its write on the disk.
    const auto reason = with_disk && !rebooted ? hc::ShutdownReason::reboot : hc::ShutdownReason::poweroff;
    (void)l4::hc::shutdown(reason, failed == 0 ? 0 : 1);
}

} // namespace

} // namespace pvtest

// The vCPU starts in crt0.S with rsp at the top of guest memory.
extern "C" [[noreturn]] void l4_start()
{
    pvtest::run();
    for (;;) {
    }
}
