// Memory: the boot information, sigma0's physical window, map and grant items in IPC, unmap,
// page faults to a pager. Selectors 800-899.
//
// ktest is sigma0, so it sees physical page P at kSigma0Window + P. Each test uses its own
// pages at the top of the highest free region (phys_page(index)) and its own 1 MiB of
// virtual targets (target(index)), so tests stay independent. The main thread never touches
// memory whose mapping a test changes: a probe thread (with the main thread as its exception
// handler) reads or writes it, so a fault is reported instead of stopping the main thread.
#include "helpers.hpp"

#include "l4/abi/boot_info.hpp"

using namespace kt;

namespace {

constexpr Selector kVictim = 800, kServer = 801;   // threads first
constexpr Selector kHandler = 810, kEndpoint = 811, kNoGrant = 812, kPager = 813;
constexpr uint64_t kServerTimeout = 200;   // ticks: 2 s at 100 Hz
constexpr uint64_t kPage = 4096;
constexpr uint64_t kTargetBase = 0x10000000, kTargetStride = 0x100000;
constexpr uint64_t kNoResume = 7;   // an exception reply label that leaves the thread suspended

constexpr uint64_t kPageFaultVector = 14;
// x86 page-fault error codes of user accesses.
constexpr uint64_t kReadNotPresent = 0x4, kWritePresent = 0x7;

using Tag = abi::MessageTag;
using abi::Flexpage;
namespace page_rights = abi::page_rights;
constexpr uint64_t kRw = page_rights::read | page_rights::write;

const abi::BootInfo& boot_info() { return *reinterpret_cast<const abi::BootInfo*>(abi::kBootInfoAddress); }

bool starts_with(const char* s, const char* prefix)
{
    for (; *prefix != '\0'; ++s, ++prefix)
        if (*s != *prefix)
            return false;
    return true;
}

// The highest free region (nullptr if none).
const abi::MemoryRegion* highest_free()
{
    const abi::BootInfo& info = boot_info();
    const abi::MemoryRegion* best = nullptr;
    for (uint64_t i = 0; i < info.region_count && i < abi::kMaxBootRegions; ++i)
        if (info.regions[i].kind == abi::MemoryKind::free && (best == nullptr || info.regions[i].base > best->base))
            best = &info.regions[i];
    return best;
}

// Physical page `index` counted down from the top of the highest free region (rounded down
// to 64 KiB, so that phys_page(4k + 3) starts four 16 KiB-aligned pages).
uint64_t phys_page(uint64_t index)
{
    const abi::MemoryRegion* r = highest_free();
    uint64_t top = r == nullptr ? 0 : (r->base + r->size) & ~uint64_t{0xffff};
    return top - (index + 1) * kPage;
}

uint64_t window(uint64_t index) { return abi::kSigma0Window + phys_page(index); }
uint64_t target(uint64_t test) { return kTargetBase + test * kTargetStride; }

// The region holding physical address `phys`, or nullptr.
const abi::MemoryRegion* region_of(uint64_t phys)
{
    const abi::BootInfo& info = boot_info();
    for (uint64_t i = 0; i < info.region_count && i < abi::kMaxBootRegions; ++i)
        if (phys >= info.regions[i].base && phys - info.regions[i].base < info.regions[i].size)
            return &info.regions[i];
    return nullptr;
}

Error memory_unmap(Flexpage page, uint64_t self)
{
    return l4::raw_syscall(static_cast<uint64_t>(abi::Syscall::memory_unmap), page.raw, self);
}

// Takes the test's 1 MiB of targets away again at the end (its own mappings too), and
// clears the main thread's map items.
struct Targets {
    uint64_t base;
    explicit Targets(uint64_t test) : base(target(test)) {}
    ~Targets()
    {
        (void)memory_unmap(Flexpage::make(base, 20, page_rights::all), 1);
        for (abi::MapItem& item : l4::utcb()->send_pages)
            item = abi::MapItem{};
    }
};

} // namespace

// The probes: each touches kt_mt_addr at its _at label; on success it publishes what it read
// and sets kt_mt_done. kt_mt_pager reads, sets kt_mt_stage, then writes.
extern "C" {
extern char kt_mt_read[], kt_mt_read_at[];
extern char kt_mt_write[], kt_mt_write_at[];
extern char kt_mt_pager[], kt_mt_pager_read_at[], kt_mt_pager_write_at[];
extern char kt_mt_finish[];
volatile uint64_t kt_mt_addr, kt_mt_wval, kt_mt_value, kt_mt_stage, kt_mt_done;
[[noreturn]] void kt_mt_exit() { l4::thread_exit(); }
}
asm(R"(
    .text
kt_mt_read:
    mov kt_mt_addr(%rip), %rbx
kt_mt_read_at:
    mov (%rbx), %rax
    mov %rax, kt_mt_value(%rip)
    jmp kt_mt_finish

kt_mt_write:
    mov kt_mt_addr(%rip), %rbx
    mov kt_mt_wval(%rip), %rax
kt_mt_write_at:
    mov %rax, (%rbx)
    jmp kt_mt_finish

kt_mt_pager:
    mov kt_mt_addr(%rip), %rbx
kt_mt_pager_read_at:
    mov (%rbx), %rax
    mov %rax, kt_mt_value(%rip)
    movq $1, kt_mt_stage(%rip)
    mov kt_mt_wval(%rip), %rax
kt_mt_pager_write_at:
    mov %rax, (%rbx)

kt_mt_finish:
    movq $1, kt_mt_done(%rip)
    and $-16, %rsp
    call kt_mt_exit
)");

namespace {

uint64_t address(const char* label) { return reinterpret_cast<uint64_t>(label); }

// Fills the page at kt_mt_addr with kt_mt_wval + i (word i).
[[noreturn]] void fill_body()
{
    auto* p = reinterpret_cast<volatile uint64_t*>(kt_mt_addr);
    for (uint64_t i = 0; i < kPage / 8; ++i)
        p[i] = kt_mt_wval + i;
    set_flag(kt_mt_done);
    l4::thread_exit();
}

// Counts the words of the page at kt_mt_addr that differ from kt_mt_wval + i.
[[noreturn]] void check_body()
{
    auto* p = reinterpret_cast<volatile uint64_t*>(kt_mt_addr);
    uint64_t wrong = 0;
    for (uint64_t i = 0; i < kPage / 8; ++i)
        wrong += p[i] != kt_mt_wval + i ? uint64_t{1} : uint64_t{0};
    kt_mt_value = wrong;
    set_flag(kt_mt_done);
    l4::thread_exit();
}

enum class Op { read, write, fill, check };

struct Probe {
    Error error = Error::ok;   // of starting the probe
    bool finished = false;     // ran to its end
    bool faulted = false;      // took an exception instead (then the fields below)
    uint64_t value = 0;        // read: the word; check: the wrong words
    uint64_t vector = 0, error_code = 0, fault_address = 0, rip = 0;
};

Probe run_probe(ThreadBody body);

// Runs one probe thread (exception handler kHandler, which the test created), waits for it
// to finish or fault (bounded), leaves a faulted one suspended, and deletes it.
Probe probe(Op op, uint64_t addr, uint64_t value = 0)
{
    kt_mt_addr = addr;
    kt_mt_wval = value;
    kt_mt_value = 0;
    kt_mt_stage = 0;
    kt_mt_done = 0;
    ThreadBody body = op == Op::read    ? reinterpret_cast<ThreadBody>(kt_mt_read)
                      : op == Op::write ? reinterpret_cast<ThreadBody>(kt_mt_write)
                      : op == Op::fill  ? fill_body
                                        : check_body;
    return run_probe(body);
}

// A probe thread that starts at `body`.
Probe run_probe(ThreadBody body)
{
    Probe p;
    p.error = create_thread(kVictim);
    if (p.error == Error::ok)
        p.error = l4::thread_control(kVictim, ThreadOp::set_exception_handler, kHandler);
    if (p.error == Error::ok)
        p.error = start_thread(kVictim, body);
    if (p.error != Error::ok) {
        release_slot(kVictim);
        return p;
    }
    for (uint64_t i = 0; i <= kMaxYields; ++i) {
        l4::Message m;
        if (l4::receive(kHandler, m, abi::kTimeoutZero) == Error::ok) {
            gather_words(m);
            const abi::ExceptionState& s = utcb_state();
            p.faulted = true;
            p.vector = s.vector;
            p.error_code = s.error_code;
            p.fault_address = s.fault_address;
            p.rip = s.rip;
            l4::Message r;
            r.tag = Tag::make(kNoResume, 0);
            (void)l4::reply(r);
            break;
        }
        if (kt_mt_done != 0) {
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            p.finished = true;
            p.value = kt_mt_value;
            break;
        }
        l4::yield();
    }
    release_slot(kVictim);
    return p;
}

// The server: a second thread that receives one message into its receive window and reads
// the word at read_at when pages arrived.
struct Server {
    Selector endpoint;
    uint64_t window;     // Flexpage raw
    uint64_t read_at;    // 0: read nothing
    uint64_t error, label, received_pages, value;
    volatile uint64_t started, done;
};
Server server;

[[noreturn]] void server_body()
{
    abi::Utcb* u = l4::utcb();
    u->receive_window = server.window;
    u->receive_slot = abi::kNoReceiveSlot;
    u->received_pages = ~uint64_t{0};
    set_flag(server.started);
    l4::Message m;
    Error e = l4::receive(server.endpoint, m, kServerTimeout);
    server.error = static_cast<uint64_t>(e);
    server.label = m.tag.label();
    server.received_pages = u->received_pages;
    if (e == Error::ok && server.read_at != 0 && server.received_pages >= 1 && server.received_pages <= 1024)
        server.value = *reinterpret_cast<volatile uint64_t*>(server.read_at);
    set_flag(server.done);
    l4::thread_exit();
}

Error start_server(uint64_t receive_window, uint64_t read_at = 0)
{
    server = Server{};
    server.endpoint = kEndpoint;
    server.window = receive_window;
    server.read_at = read_at;
    server.error = ~uint64_t{0};
    server.received_pages = ~uint64_t{0};
    return spawn_thread(kServer, server_body);
}

// Waits for the server to have received, and deletes it; false when it never did.
bool finish_server()
{
    bool done = wait_flag(server.done);
    release_slot(kServer);
    return done;
}

void set_item(uint64_t i, Flexpage page, uint64_t hotspot = 0, uint64_t grant = 0)
{
    l4::utcb()->send_pages[i] = abi::MapItem{page.raw, hotspot, grant};
}

// Sends `label` with `pages` map items (already in the UTCB) through `through` once a
// receiver waits (bounded).
Error send_pages(Selector through, uint64_t label, uint64_t pages)
{
    l4::Message m;
    m.tag = Tag::make(label, 0, 0, pages);
    return send_polled(through, m);
}

// One map or grant item from us to the server, whose receive window is `receive_window`;
// the server's record is in `server`.
Error deliver(Flexpage page, uint64_t hotspot, uint64_t grant, Flexpage receive_window, uint64_t read_at = 0)
{
    Error e = start_server(receive_window.raw, read_at);
    if (e != Error::ok)
        return e;
    set_item(0, page, hotspot, grant);
    e = send_pages(kEndpoint, 0x4d, 1);
    if (!finish_server() && e == Error::ok)
        e = Error::timeout;
    return e;
}

} // namespace

// Probe expectations: macros, so that a failure names the test's line.
#define EXPECT_READS(addr, expected)                                                \
    do {                                                                            \
        Probe kt_p = probe(Op::read, (addr));                                       \
        KEXPECT_EQ(kt_p.error, Error::ok);                                          \
        KEXPECT_EQ(kt_p.faulted, false);                                            \
        KEXPECT_EQ(kt_p.vector, 0);                                                 \
        KEXPECT_EQ(kt_p.error_code, 0);                                             \
        KEXPECT_EQ(kt_p.fault_address, 0);                                          \
        KEXPECT_EQ(kt_p.finished, true);                                            \
        KEXPECT_EQ(kt_p.value, (expected));                                         \
    } while (0)

#define EXPECT_WRITES(addr, value)                                                  \
    do {                                                                            \
        Probe kt_p = probe(Op::write, (addr), (value));                             \
        KEXPECT_EQ(kt_p.error, Error::ok);                                          \
        KEXPECT_EQ(kt_p.faulted, false);                                            \
        KEXPECT_EQ(kt_p.vector, 0);                                                 \
        KEXPECT_EQ(kt_p.error_code, 0);                                             \
        KEXPECT_EQ(kt_p.fault_address, 0);                                          \
        KEXPECT_EQ(kt_p.finished, true);                                            \
    } while (0)

// A page fault (vector 14) at exactly `addr`, with the error code, at the probe's access.
#define EXPECT_FAULT(op, addr, code)                                                \
    do {                                                                            \
        Probe kt_p = probe((op), (addr), 0x0bad);                                   \
        KEXPECT_EQ(kt_p.error, Error::ok);                                          \
        KEXPECT_EQ(kt_p.finished, false);                                           \
        KEXPECT_EQ(kt_p.faulted, true);                                             \
        KEXPECT_EQ(kt_p.vector, kPageFaultVector);                                  \
        KEXPECT_EQ(kt_p.fault_address, (addr));                                     \
        KEXPECT_EQ(kt_p.error_code, (code));                                        \
        KEXPECT_EQ(kt_p.rip, address((op) == Op::read ? kt_mt_read_at : kt_mt_write_at)); \
    } while (0)
#define EXPECT_READ_FAULT(addr) EXPECT_FAULT(Op::read, (addr), kReadNotPresent)
#define EXPECT_WRITE_FAULT(addr) EXPECT_FAULT(Op::write, (addr), kWritePresent)

// Fills a page with seed + i, and checks such a page.
#define FILL(addr, seed)                                                            \
    do {                                                                            \
        Probe kt_p = probe(Op::fill, (addr), (seed));                               \
        KEXPECT_EQ(kt_p.faulted, false);                                            \
        KEXPECT_EQ(kt_p.vector, 0);                                                 \
        KEXPECT_EQ(kt_p.error_code, 0);                                             \
        KEXPECT_EQ(kt_p.fault_address, 0);                                          \
        KREQUIRE_EQ(kt_p.finished, true);                                           \
    } while (0)

#define EXPECT_PAGE(addr, seed)                                                     \
    do {                                                                            \
        Probe kt_p = probe(Op::check, (addr), (seed));                              \
        KEXPECT_EQ(kt_p.faulted, false);                                            \
        KEXPECT_EQ(kt_p.vector, 0);                                                 \
        KEXPECT_EQ(kt_p.error_code, 0);                                             \
        KEXPECT_EQ(kt_p.fault_address, 0);                                          \
        KEXPECT_EQ(kt_p.finished, true);                                            \
        KEXPECT_EQ(kt_p.value, 0);                                                  \
    } while (0)

// Boot information ------------------------------------------------------------------------

KTEST(memory_boot_info_regions)
{
    const abi::BootInfo& info = boot_info();
    KEXPECT_EQ(info.magic, abi::kBootInfoMagic);
    KREQUIRE_EQ(info.region_count >= 1 && info.region_count <= abi::kMaxBootRegions, true);
    uint64_t free_regions = 0;
    for (uint64_t i = 0; i < info.region_count; ++i) {
        const abi::MemoryRegion& r = info.regions[i];
        KEXPECT_EQ(r.size > 0, true);
        KEXPECT_EQ(r.base + r.size > r.base, true);   // no wrap
        uint32_t kind = static_cast<uint32_t>(r.kind);
        KEXPECT_EQ(kind >= 1 && kind <= 4, true);
        if (r.kind == abi::MemoryKind::free) {
            ++free_regions;
            KEXPECT_EQ(r.base % kPage, 0);
            KEXPECT_EQ(r.size % kPage, 0);
        }
        if (i > 0) {   // ascending, non-overlapping
            const abi::MemoryRegion& prev = info.regions[i - 1];
            KEXPECT_EQ(r.base >= prev.base + prev.size, true);
        }
    }
    KEXPECT_EQ(free_regions >= 1, true);
    // The pages these tests use lie in the highest free region.
    const abi::MemoryRegion* top = highest_free();
    KREQUIRE_EQ(top != nullptr, true);
    KEXPECT_EQ(top->size >= 0x100000, true);
    KEXPECT_EQ(phys_page(63) >= top->base, true);
    KEXPECT_EQ(phys_page(35) % 0x4000, 0);
}

KTEST(memory_boot_info_modules)
{
    const abi::BootInfo& info = boot_info();
    KREQUIRE_EQ(info.module_count >= 1 && info.module_count <= abi::kMaxBootModules, true);
    uint64_t ktest_modules = 0;
    for (uint64_t i = 0; i < info.module_count; ++i) {
        const abi::BootModule& m = info.modules[i];
        bool terminated = false;
        for (char c : m.cmdline)
            terminated = terminated || c == '\0';
        KEXPECT_EQ(terminated, true);
        KEXPECT_EQ(m.size > 0, true);
        // Its data lies in a module region.
        const abi::MemoryRegion* r = region_of(m.base);
        KREQUIRE_EQ(r != nullptr, true);
        KEXPECT_EQ(static_cast<uint32_t>(r->kind), static_cast<uint32_t>(abi::MemoryKind::module));
        KEXPECT_EQ(m.base + m.size <= r->base + r->size, true);
        if (terminated && starts_with(m.cmdline, "ktest"))
            ++ktest_modules;
    }
    KEXPECT_EQ(ktest_modules >= 1, true);
    KEXPECT_EQ(starts_with(info.modules[0].cmdline, "ktest"), true);   // we are sigma0
    bool terminated = false;
    for (char c : info.cmdline)
        terminated = terminated || c == '\0';
    KEXPECT_EQ(terminated, true);
}

KTEST(memory_boot_info_is_read_only)
{
    Slots slots(800, 820);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    EXPECT_WRITE_FAULT(abi::kBootInfoAddress + 0x10);
    KEXPECT_EQ(boot_info().magic, abi::kBootInfoMagic);
    KEXPECT_EQ(boot_info().module_count >= 1, true);
}

// sigma0's window ---------------------------------------------------------------------------

KTEST(memory_sigma0_window_write_read_back)
{
    Slots slots(800, 820);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(0);
    KREQUIRE_EQ(region_of(phys_page(0)) != nullptr, true);
    FILL(a, 0x5150'0000'0000'0000);
    EXPECT_PAGE(a, 0x5150'0000'0000'0000);
    EXPECT_READS(a + 0x7f8, 0x5150'0000'0000'0000 + 0xff);
    EXPECT_WRITES(a + 0x100, 0x1234);
    EXPECT_READS(a + 0x100, 0x1234);
}

// Physical pages the boot information lists nowhere (low memory, the kernel image): no frame.
KTEST(memory_sigma0_window_unlisted_page_faults)
{
    Slots slots(800, 820);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    const uint64_t unlisted[] = {0x0, 0x200000};
    for (uint64_t phys : unlisted) {
        KREQUIRE_EQ(region_of(phys) == nullptr, true);
        EXPECT_READ_FAULT(abi::kSigma0Window + phys + 0x18);
    }
}

// Map and grant in IPC -----------------------------------------------------------------------

KTEST(memory_map_within_task)
{
    Slots slots(800, 820);
    Targets targets(1);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(1), b = target(1);
    FILL(a, 0xa110'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all), b + 0x10),
               Error::ok);
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.label, 0x4d);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(server.value, 0xa110'0000 + 2);
    EXPECT_PAGE(b, 0xa110'0000);
    EXPECT_PAGE(a, 0xa110'0000);   // map: we keep it
    // One frame: a write through either shows at the other.
    EXPECT_WRITES(b + 0x20, 0xbbbb);
    EXPECT_READS(a + 0x20, 0xbbbb);
    EXPECT_WRITES(a + 0x28, 0xaaaa);
    EXPECT_READS(b + 0x28, 0xaaaa);
}

KTEST(memory_map_needs_grant_right)
{
    Slots slots(800, 820);
    Targets targets(2);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kNoGrant, rights::send | rights::receive), Error::ok);
    uint64_t a = window(2), b = target(2);
    FILL(a, 0x92a0'0000);
    KREQUIRE_EQ(start_server(Flexpage::make(b, 12, page_rights::all).raw), Error::ok);
    set_item(0, Flexpage::make(a, 12, kRw));
    KEXPECT_EQ(send_pages(kNoGrant, 0x50, 1), Error::missing_rights);
    KEXPECT_EQ(send_pages(kNoGrant, 0x51, 0), Error::ok);   // without pages it may send
    KEXPECT_EQ(finish_server(), true);
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.label, 0x51);
    KEXPECT_EQ(server.received_pages, 0);
    EXPECT_READ_FAULT(b);
}

KTEST(memory_map_malformed_items)
{
    Slots slots(800, 820);
    Targets targets(3);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(3), b = target(3);
    FILL(a, 0x3a10'0000);
    KREQUIRE_EQ(start_server(Flexpage::make(b, 16, page_rights::all).raw), Error::ok);
    const Flexpage bad[] = {
        Flexpage::make(b + 0x1000, 13, kRw),     // base not aligned to its size
        Flexpage::make(0x20000000, 23, kRw),     // 8 MiB: more than an item may carry
        Flexpage::make(b, 11, kRw),              // smaller than a page
        Flexpage::make(kKernelAddress & ~uint64_t{0xfff}, 12, kRw),   // not in the lower half
    };
    for (Flexpage page : bad) {
        set_item(0, Flexpage::make(a, 12, kRw));   // a good item first: nothing of it moves
        set_item(1, page);
        KEXPECT_EQ(send_pages(kEndpoint, 0x60, 2), Error::invalid_argument);
    }
    for (uint64_t i = 0; i < abi::kMaxMapItems; ++i)
        set_item(i, Flexpage::make(a, 12, kRw));
    KEXPECT_EQ(send_pages(kEndpoint, 0x61, 5), Error::invalid_argument);   // more than 4 items
    KEXPECT_EQ(send_pages(kEndpoint, 0x62, 0), Error::ok);
    KEXPECT_EQ(finish_server(), true);
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.label, 0x62);
    KEXPECT_EQ(server.received_pages, 0);
    EXPECT_READ_FAULT(b);
}

// Pages the sender does not hold are skipped; a receiver without a window takes none.
KTEST(memory_map_unheld_page_or_no_window)
{
    Slots slots(800, 820);
    Targets targets(4);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(4), b = target(4), unheld = target(4) + 0x80000;
    EXPECT_READ_FAULT(unheld);
    KEXPECT_EQ(deliver(Flexpage::make(unheld, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.label, 0x4d);
    KEXPECT_EQ(server.received_pages, 0);
    EXPECT_READ_FAULT(b);

    FILL(a, 0x4a10'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage{0}), Error::ok);
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.label, 0x4d);
    KEXPECT_EQ(server.received_pages, 0);
    EXPECT_READ_FAULT(b);
}

// An item lands at the window's base + hotspot modulo the window's size, rounded down to the
// item's size.
KTEST(memory_map_hotspot_places_item)
{
    Slots slots(800, 820);
    Targets targets(5);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(5), b = target(5);
    FILL(a, 0x5a10'0000);
    // 64 KiB window; hotspot 0x7'2345 -> 0x2345 in it -> page 0x2000.
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0x72345, 0, Flexpage::make(b, 16, page_rights::all), b + 0x2008),
               Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(server.value, 0x5a10'0000 + 1);
    EXPECT_PAGE(b + 0x2000, 0x5a10'0000);
    EXPECT_READ_FAULT(b);
    EXPECT_READ_FAULT(b + 0x3000);
}

// An item larger than the window is dropped; with a window of its size it arrives whole.
KTEST(memory_map_item_larger_than_window_dropped)
{
    Slots slots(800, 820);
    Targets targets(6);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t pair = window(39), b = target(6);   // pages 39 and 38: 8 KiB, aligned
    KREQUIRE_EQ(phys_page(39) % 0x2000, 0);
    KREQUIRE_EQ(phys_page(38), phys_page(39) + kPage);
    FILL(pair, 0x6a10'0000);
    FILL(pair + kPage, 0x6b10'0000);
    KEXPECT_EQ(deliver(Flexpage::make(pair, 13, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.received_pages, 0);
    EXPECT_READ_FAULT(b);
    KEXPECT_EQ(deliver(Flexpage::make(pair, 13, kRw), 0, 0, Flexpage::make(b, 13, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 2);
    EXPECT_PAGE(b, 0x6a10'0000);
    EXPECT_PAGE(b + kPage, 0x6b10'0000);
}

// Pages of the window the kernel uses itself (boot information, UTCBs) are never replaced.
KTEST(memory_map_skips_kernel_pages)
{
    Slots slots(800, 820);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(6);
    FILL(a, 0x6c10'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(abi::kBootInfoAddress, 12, page_rights::all)),
               Error::ok);
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.received_pages, 0);
    KEXPECT_EQ(boot_info().magic, abi::kBootInfoMagic);
    uint64_t own_utcb = reinterpret_cast<uint64_t>(l4::utcb()) & ~(kPage - 1);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(own_utcb, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.received_pages, 0);
    KEXPECT_EQ(l4::utcb()->self, reinterpret_cast<uint64_t>(l4::utcb()));
    for (abi::MapItem& item : l4::utcb()->send_pages)
        item = abi::MapItem{};
}

// Rights = item & window & held: a read-only mapping stays read-only, whatever is asked.
KTEST(memory_map_rights_only_shrink)
{
    Slots slots(800, 820);
    Targets targets(7);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(7), b = target(7), c = target(7) + 0x10000, d = target(7) + 0x20000;
    FILL(a, 0x7a10'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, page_rights::read), 0, 0, Flexpage::make(b, 12, page_rights::all)),
               Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    EXPECT_READS(b + 8, 0x7a10'0000 + 1);
    EXPECT_WRITE_FAULT(b + 8);
    // From the read-only mapping, asking for read-write.
    KEXPECT_EQ(deliver(Flexpage::make(b, 12, kRw), 0, 0, Flexpage::make(c, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    EXPECT_READS(c + 16, 0x7a10'0000 + 2);
    EXPECT_WRITE_FAULT(c + 16);
    // A read-only window.
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(d, 12, page_rights::read)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    EXPECT_READS(d + 24, 0x7a10'0000 + 3);
    EXPECT_WRITE_FAULT(d + 24);
    // The source keeps its rights.
    EXPECT_WRITES(a + 32, 0x7777);
    EXPECT_READS(b + 32, 0x7777);
}

// A page already mapped at the target is replaced, and what was derived from it goes.
KTEST(memory_map_replaces_target)
{
    Slots slots(800, 820);
    Targets targets(17);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a1 = window(15), a2 = window(16), b = target(17), c = target(17) + 0x10000;
    FILL(a1, 0x1a10'0000);
    FILL(a2, 0x2a20'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a1, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(deliver(Flexpage::make(b, 12, kRw), 0, 0, Flexpage::make(c, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    EXPECT_PAGE(c, 0x1a10'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a2, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all), b), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(server.value, 0x2a20'0000);
    EXPECT_PAGE(b, 0x2a20'0000);
    EXPECT_READ_FAULT(c);
    EXPECT_PAGE(a1, 0x1a10'0000);
    EXPECT_PAGE(a2, 0x2a20'0000);
}

// Execute is a right of its own: without it an instruction fetch faults (NX).
KTEST(memory_map_execute_right)
{
    Slots slots(800, 820);
    Targets targets(18);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(17), b = target(18), c = target(18) + 0x10000;
    // movabs $kt_mt_finish, %rax; jmp *%rax
    uint64_t finish = address(kt_mt_finish);
    KREQUIRE_EQ(finish >> 48, 0);
    EXPECT_WRITES(a, 0xb848 | (finish << 16));
    EXPECT_WRITES(a + 8, (finish >> 48) | (uint64_t{0xe0ff} << 16));
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, page_rights::all), 0, 0, Flexpage::make(c, 12, page_rights::all)),
               Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    kt_mt_done = 0;
    Probe p = run_probe(reinterpret_cast<ThreadBody>(b));
    KEXPECT_EQ(p.error, Error::ok);
    KEXPECT_EQ(p.faulted, true);
    KEXPECT_EQ(p.vector, kPageFaultVector);
    KEXPECT_EQ(p.error_code, 0x15);   // user, instruction fetch, present
    KEXPECT_EQ(p.fault_address, b);
    KEXPECT_EQ(p.rip, b);
    kt_mt_done = 0;
    p = run_probe(reinterpret_cast<ThreadBody>(c));
    KEXPECT_EQ(p.error, Error::ok);
    KEXPECT_EQ(p.faulted, false);
    KEXPECT_EQ(p.fault_address, 0);
    KEXPECT_EQ(p.finished, true);
}

// Grant moves the mapping: the source loses it, the target has the data, and it stays
// derived from where it came from.
KTEST(memory_grant_moves_mapping)
{
    Slots slots(800, 820);
    Targets targets(8);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(8), b = target(8), c = target(8) + 0x10000;
    FILL(a, 0x8a10'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all)), Error::ok);
    KREQUIRE_EQ(server.received_pages, 1);
    KEXPECT_EQ(deliver(Flexpage::make(b, 12, kRw), 0, 1, Flexpage::make(c, 12, page_rights::all), c), Error::ok);
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(server.value, 0x8a10'0000);
    EXPECT_READ_FAULT(b);
    EXPECT_PAGE(c, 0x8a10'0000);
    EXPECT_WRITES(c + 8, 0x8888);
    EXPECT_READS(a + 8, 0x8888);
    // Unmapping the page it was derived from takes it too.
    KEXPECT_EQ(memory_unmap(Flexpage::make(a, 12, page_rights::all), 0), Error::ok);
    EXPECT_READ_FAULT(c);
    EXPECT_READS(a + 8, 0x8888);
}

// Unmap -------------------------------------------------------------------------------------

// A -> B -> C: unmapping A takes B and C (recursively), A stays.
KTEST(memory_unmap_recursive)
{
    Slots slots(800, 820);
    Targets targets(9);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(9), b = target(9), c = target(9) + 0x10000;
    FILL(a, 0x9a10'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(deliver(Flexpage::make(b, 12, kRw), 0, 0, Flexpage::make(c, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    EXPECT_PAGE(c, 0x9a10'0000);
    KEXPECT_EQ(memory_unmap(Flexpage::make(a, 12, page_rights::all), 0), Error::ok);
    EXPECT_READ_FAULT(b);
    EXPECT_READ_FAULT(c);
    EXPECT_PAGE(a, 0x9a10'0000);
    // Again from the middle: B's unmap takes C, keeps B.
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(deliver(Flexpage::make(b, 12, kRw), 0, 0, Flexpage::make(c, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(memory_unmap(Flexpage::make(b, 12, page_rights::all), 0), Error::ok);
    EXPECT_READ_FAULT(c);
    EXPECT_PAGE(b, 0x9a10'0000);
    EXPECT_PAGE(a, 0x9a10'0000);
}

// With self = 1 the window page itself goes too; touching it again maps the frame anew
// (sigma0's fault on free memory), with its data: the frame was never freed.
KTEST(memory_unmap_self_window_page_maps_anew)
{
    Slots slots(800, 820);
    Targets targets(10);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(10), b = target(10), c = target(10) + 0x10000;
    FILL(a, 0xaa10'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(memory_unmap(Flexpage::make(a, 12, page_rights::all), 1), Error::ok);
    EXPECT_READ_FAULT(b);
    EXPECT_PAGE(a, 0xaa10'0000);
    // A root again: it maps as before.
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(c, 12, page_rights::all), c), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(server.value, 0xaa10'0000);
}

// Taking write with self = 1: the window page and what was derived from it become read-only.
KTEST(memory_unmap_self_write_window_page)
{
    Slots slots(800, 820);
    Targets targets(11);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(11), b = target(11);
    FILL(a, 0xab10'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    KEXPECT_EQ(memory_unmap(Flexpage::make(a, 12, page_rights::write), 1), Error::ok);
    EXPECT_WRITE_FAULT(a + 0x40);
    EXPECT_WRITE_FAULT(b + 0x40);
    EXPECT_READS(a + 0x40, 0xab10'0000 + 8);
    EXPECT_READS(b + 0x40, 0xab10'0000 + 8);
}

// Unmapping 4 KiB of a 16 KiB mapping takes exactly that page of the target.
KTEST(memory_unmap_part_of_large_flexpage)
{
    Slots slots(800, 820);
    Targets targets(12);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t w = window(35), t = target(12);   // pages 35, 34, 33, 32: 16 KiB, aligned
    KREQUIRE_EQ(phys_page(35) % 0x4000, 0);
    KREQUIRE_EQ(phys_page(32), phys_page(35) + 3 * kPage);
    for (uint64_t i = 0; i < 4; ++i)
        FILL(w + i * kPage, 0xc000'0000 + i * 0x10000);
    KEXPECT_EQ(deliver(Flexpage::make(w, 14, kRw), 0, 0, Flexpage::make(t, 14, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 4);
    for (uint64_t i = 0; i < 4; ++i)
        EXPECT_READS(t + i * kPage, 0xc000'0000 + i * 0x10000);
    KEXPECT_EQ(memory_unmap(Flexpage::make(w + kPage, 12, page_rights::all), 0), Error::ok);
    EXPECT_READS(t, 0xc000'0000);
    EXPECT_READ_FAULT(t + kPage);
    EXPECT_READS(t + 2 * kPage, 0xc000'0000 + 0x20000);
    EXPECT_READS(t + 3 * kPage, 0xc000'0000 + 0x30000);
    EXPECT_READS(w + kPage, 0xc000'0000 + 0x10000);
}

// Taking only write leaves the derived mapping readable; the source keeps write.
KTEST(memory_unmap_write_only)
{
    Slots slots(800, 820);
    Targets targets(13);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(12), b = target(13);
    FILL(a, 0xd010'0000);
    KEXPECT_EQ(deliver(Flexpage::make(a, 12, kRw), 0, 0, Flexpage::make(b, 12, page_rights::all)), Error::ok);
    KEXPECT_EQ(server.received_pages, 1);
    EXPECT_WRITES(b + 8, 0xd0d0);
    KEXPECT_EQ(memory_unmap(Flexpage::make(a, 12, page_rights::write), 0), Error::ok);
    EXPECT_READS(b + 8, 0xd0d0);
    EXPECT_WRITE_FAULT(b + 8);
    EXPECT_WRITES(a + 16, 0xd1d1);
    EXPECT_READS(b + 16, 0xd1d1);
}

KTEST(memory_unmap_bad_arguments)
{
    Targets targets(14);
    uint64_t t = target(14);
    KEXPECT_EQ(memory_unmap(Flexpage::make(t, 12, page_rights::all), 2), Error::invalid_argument);
    KEXPECT_EQ(memory_unmap(Flexpage::make(t, 12, page_rights::all), ~uint64_t{0}), Error::invalid_argument);
    KEXPECT_EQ(memory_unmap(Flexpage::make(0, 31, page_rights::all), 0), Error::invalid_argument);   // > 1 GiB
    KEXPECT_EQ(memory_unmap(Flexpage::make(t + kPage, 13, page_rights::all), 0), Error::invalid_argument);
    KEXPECT_EQ(memory_unmap(Flexpage::make(t, 11, page_rights::all), 0), Error::invalid_argument);
    KEXPECT_EQ(memory_unmap(Flexpage::make(kKernelAddress & ~uint64_t{0xfff}, 12, page_rights::all), 0),
               Error::invalid_argument);
    // Well-formed: fine even where nothing is mapped, up to 1 GiB.
    KEXPECT_EQ(memory_unmap(Flexpage::make(t, 12, page_rights::all), 0), Error::ok);
    KEXPECT_EQ(memory_unmap(Flexpage::make(t, 12, page_rights::all), 1), Error::ok);
    KEXPECT_EQ(memory_unmap(Flexpage::make(0x40000000, 30, page_rights::all), 0), Error::ok);
}

// Page faults to a pager -----------------------------------------------------------------

// A thread with a pager faults on an unmapped address; the pager's replies map a window
// page there, read-only first, then read-write.
KTEST(memory_pager_resolves_faults)
{
    Slots slots(800, 820);
    Targets targets(15);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kPager, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(13), x = target(15) + 0x18;
    FILL(a, 0xe010'0000);
    kt_mt_addr = x;
    kt_mt_wval = 0xe1e1'e1e1;
    kt_mt_value = 0;
    kt_mt_stage = 0;
    kt_mt_done = 0;
    KREQUIRE_EQ(create_thread(kVictim), Error::ok);
    KREQUIRE_EQ(l4::thread_control(kVictim, ThreadOp::set_pager, kPager), Error::ok);
    KREQUIRE_EQ(l4::thread_control(kVictim, ThreadOp::set_exception_handler, kHandler), Error::ok);
    KREQUIRE_EQ(start_thread(kVictim, reinterpret_cast<ThreadBody>(kt_mt_pager)), Error::ok);

    l4::Message m;
    KREQUIRE_EQ(receive_polled(kPager, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::page_fault);
    KEXPECT_EQ(m.tag.words(), abi::kPageFaultWords);
    KEXPECT_EQ(m.tag.caps(), 0);
    KEXPECT_EQ(m.words[0], x);
    KEXPECT_EQ(m.words[1], page_rights::read);
    KEXPECT_EQ(m.words[2], address(kt_mt_pager_read_at));
    set_item(0, Flexpage::make(a, 12, page_rights::read), x);
    l4::Message r;
    r.tag = Tag::make(0, 0, 0, 1);
    KEXPECT_EQ(l4::reply(r), Error::ok);
    KEXPECT_EQ(wait_flag(kt_mt_stage), true);
    KEXPECT_EQ(kt_mt_value, 0xe010'0000 + 3);

    KREQUIRE_EQ(receive_polled(kPager, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::page_fault);
    KEXPECT_EQ(m.tag.words(), abi::kPageFaultWords);
    KEXPECT_EQ(m.words[0], x);
    KEXPECT_EQ(m.words[1], page_rights::write);
    KEXPECT_EQ(m.words[2], address(kt_mt_pager_write_at));
    set_item(0, Flexpage::make(a, 12, kRw), x);
    KEXPECT_EQ(l4::reply(r), Error::ok);
    KEXPECT_EQ(wait_flag(kt_mt_done), true);
    KEXPECT_EQ(l4::receive(kHandler, m, abi::kTimeoutZero), Error::timeout);   // no exception
    KEXPECT_EQ(l4::receive(kPager, m, abi::kTimeoutZero), Error::timeout);     // no third fault
    KEXPECT_EQ(release_slot(kVictim), Error::ok);
    EXPECT_READS(a + 0x18, 0xe1e1'e1e1);
    EXPECT_READS(x, 0xe1e1'e1e1);
}

// A pager reply that maps nothing retries the access: the thread faults again.
KTEST(memory_pager_empty_reply_faults_again)
{
    Slots slots(800, 820);
    Targets targets(16);
    KREQUIRE_EQ(make(kHandler, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(make(kPager, ObjectKind::endpoint), Error::ok);
    uint64_t a = window(14), x = target(16) + 0x100;
    FILL(a, 0xf010'0000);
    kt_mt_addr = x;
    kt_mt_wval = 0;
    kt_mt_value = 0;
    kt_mt_stage = 0;
    kt_mt_done = 0;
    KREQUIRE_EQ(create_thread(kVictim), Error::ok);
    KREQUIRE_EQ(l4::thread_control(kVictim, ThreadOp::set_pager, kPager), Error::ok);
    KREQUIRE_EQ(l4::thread_control(kVictim, ThreadOp::set_exception_handler, kHandler), Error::ok);
    KREQUIRE_EQ(start_thread(kVictim, reinterpret_cast<ThreadBody>(kt_mt_read)), Error::ok);
    l4::Message m;
    KREQUIRE_EQ(receive_polled(kPager, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::page_fault);
    KEXPECT_EQ(m.words[0], x);
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::ok);
    KREQUIRE_EQ(receive_polled(kPager, m), Error::ok);
    KEXPECT_EQ(m.tag.label(), abi::label::page_fault);
    KEXPECT_EQ(m.words[0], x);
    KEXPECT_EQ(m.words[1], page_rights::read);
    KEXPECT_EQ(m.words[2], address(kt_mt_read_at));
    KEXPECT_EQ(kt_mt_done, 0);
    set_item(0, Flexpage::make(a, 12, page_rights::read), x);
    l4::Message r;
    r.tag = Tag::make(0, 0, 0, 1);
    KEXPECT_EQ(l4::reply(r), Error::ok);
    KEXPECT_EQ(wait_flag(kt_mt_done), true);
    KEXPECT_EQ(kt_mt_value, 0xf010'0000 + 0x20);
}
