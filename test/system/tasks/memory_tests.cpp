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

constexpr uint64_t kNoTargets = ~uint64_t{0};

// Takes the test's 1 MiB of targets away again at the end (its own mappings too; none for
// kNoTargets), and clears the main thread's map items.
struct Targets {
    uint64_t test;
    explicit Targets(uint64_t t) : test(t) {}
    ~Targets()
    {
        if (test != kNoTargets)
            (void)memory_unmap(Flexpage::make(target(test), 20, page_rights::all), 1);
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

// One page (4 KiB) at `addr`: read-write by default, or with all rights.
Flexpage page_at(uint64_t addr, uint64_t rights = kRw) { return Flexpage::make(addr, 12, rights); }
Flexpage window_at(uint64_t addr) { return Flexpage::make(addr, 12, page_rights::all); }

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

// What a probe that ran to its end shows, and one that took a page fault at its access.
Probe finished(uint64_t value = 0)
{
    Probe p;
    p.finished = true;
    p.value = value;
    return p;
}

Probe page_fault(uint64_t addr, uint64_t error_code, uint64_t rip)
{
    Probe p;
    p.faulted = true;
    p.vector = kPageFaultVector;
    p.error_code = error_code;
    p.fault_address = addr;
    p.rip = rip;
    return p;
}

// Expects every field of `got` to be as in `want`; a mismatch names `line` of this file.
Probe expect_probe(const Probe& got, const Probe& want, int line)
{
    const struct {
        const char* what;
        uint64_t got, want;
    } fields[] = {
        {"probe.error", static_cast<uint64_t>(got.error), static_cast<uint64_t>(want.error)},
        {"probe.finished", got.finished, want.finished},
        {"probe.faulted", got.faulted, want.faulted},
        {"probe.value", got.value, want.value},
        {"probe.vector", got.vector, want.vector},
        {"probe.error_code", got.error_code, want.error_code},
        {"probe.fault_address", got.fault_address, want.fault_address},
        {"probe.rip", got.rip, want.rip},
    };
    for (const auto& f : fields)
        if (f.got != f.want)
            ktest::fail(__FILE__, line, f.what, f.got, f.want);
    return got;
}

// The probes' shared variables, before a probe thread starts.
void reset_probe(uint64_t addr, uint64_t value)
{
    kt_mt_addr = addr;
    kt_mt_wval = value;
    kt_mt_value = 0;
    kt_mt_stage = 0;
    kt_mt_done = 0;
}

// Starts a probe thread at `body` with kHandler (which the test created) as its exception
// handler, and `pager` as its pager unless that is 0.
Error start_victim(ThreadBody body, Selector pager = 0)
{
    Error e = create_thread(kVictim);
    if (e == Error::ok && pager != 0)
        e = l4::thread_control(kVictim, ThreadOp::set_pager, pager);
    if (e == Error::ok)
        e = l4::thread_control(kVictim, ThreadOp::set_exception_handler, kHandler);
    if (e == Error::ok)
        e = start_thread(kVictim, body);
    return e;
}

// Runs one probe thread that starts at `body`, waits for it to finish or fault (bounded),
// leaves a faulted one suspended, and deletes it.
Probe run_probe(ThreadBody body)
{
    Probe p;
    p.error = start_victim(body);
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

// A probe of kind `op` at `addr` (run_probe).
Probe probe(Op op, uint64_t addr, uint64_t value = 0)
{
    reset_probe(addr, value);
    ThreadBody body = op == Op::read    ? reinterpret_cast<ThreadBody>(kt_mt_read)
                      : op == Op::write ? reinterpret_cast<ThreadBody>(kt_mt_write)
                      : op == Op::fill  ? fill_body
                                        : check_body;
    return run_probe(body);
}

// Fills the page at `addr` with seed + i; false when the probe did not finish.
bool filled(uint64_t addr, uint64_t seed, int line)
{
    return expect_probe(probe(Op::fill, addr, seed), finished(), line).finished;
}

// The page faults of the read and write probes, at `addr`.
Probe read_fault(uint64_t addr) { return page_fault(addr, kReadNotPresent, address(kt_mt_read_at)); }
Probe write_fault(uint64_t addr) { return page_fault(addr, kWritePresent, address(kt_mt_write_at)); }

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

// Expects the server to have received `label` with `pages` pages; false on a mismatch.
bool expect_server(uint64_t label, uint64_t pages)
{
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.label, label);
    KEXPECT_EQ(server.received_pages, pages);
    return server.error == static_cast<uint64_t>(Error::ok) && server.label == label && server.received_pages == pages;
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

// deliver(), expecting it to succeed with `pages` pages at the server; false on a mismatch.
bool expect_mapped(Flexpage page, Flexpage receive_window, uint64_t pages, uint64_t read_at = 0,
                   uint64_t hotspot = 0, uint64_t grant = 0)
{
    Error e = deliver(page, hotspot, grant, receive_window, read_at);
    KEXPECT_EQ(e, Error::ok);
    return expect_server(0x4d, pages) && e == Error::ok;
}

// The usual case: the read-write page at `from` lands at `to` (read there at `read_at`).
bool map_page(uint64_t from, uint64_t to, uint64_t read_at = 0)
{
    return expect_mapped(page_at(from), window_at(to), 1, read_at);
}

// One test's set-up: slots 800-819, its targets (Targets), the exception handler endpoint,
// and `second` (kEndpoint or kPager; 0 for none) as an endpoint too. `ok` is false after a
// failed check; the test then ends.
bool make_endpoints(Selector second)
{
    KREQUIRE_EQ_OR(make(kHandler, ObjectKind::endpoint), Error::ok, false);
    if (second != 0)
        KREQUIRE_EQ_OR(make(second, ObjectKind::endpoint), Error::ok, false);
    return true;
}

struct Case {
    Slots slots{800, 820};
    Targets targets;
    bool ok;
    explicit Case(uint64_t test = kNoTargets, Selector second = kEndpoint)
        : targets(test), ok(make_endpoints(second))
    {
    }
};

// Receives the page fault IPC of an `access` to `addr` at `rip` (polled); false when none.
bool expect_pager_fault(uint64_t addr, uint64_t access, const char* rip)
{
    l4::Message m;
    KREQUIRE_EQ_OR(receive_polled(kPager, m), Error::ok, false);
    KEXPECT_EQ(m.tag.label(), abi::label::page_fault);
    KEXPECT_EQ(m.tag.words(), abi::kPageFaultWords);
    KEXPECT_EQ(m.tag.caps(), 0);
    KEXPECT_EQ(m.words[0], addr);
    KEXPECT_EQ(m.words[1], access);
    KEXPECT_EQ(m.words[2], address(rip));
    return true;
}

// A thread at `code` with kPager as its pager, to touch `addr` (the probes' variables), and
// the page fault of its first access, a read at `rip`; false when that fails.
bool start_paged(char* code, uint64_t addr, uint64_t value, const char* rip)
{
    reset_probe(addr, value);
    KREQUIRE_EQ_OR(start_victim(reinterpret_cast<ThreadBody>(code), kPager), Error::ok, false);
    return expect_pager_fault(addr, page_rights::read, rip);
}

// The pager's reply: `page` mapped with hotspot `addr`.
void reply_mapping(Flexpage page, uint64_t addr)
{
    set_item(0, page, addr);
    l4::Message r;
    r.tag = Tag::make(0, 0, 0, 1);
    KEXPECT_EQ(l4::reply(r), Error::ok);
}

} // namespace

// Probe expectations: macros, so that a failure names the test's line.
#define EXPECT_READS(addr, expected) expect_probe(probe(Op::read, (addr)), finished(expected), __LINE__)
#define EXPECT_WRITES(addr, value) expect_probe(probe(Op::write, (addr), (value)), finished(), __LINE__)
// A page fault (vector 14) at exactly `addr`, with the error code, at the probe's access.
#define EXPECT_READ_FAULT(addr) \
    expect_probe(probe(Op::read, (addr), 0x0bad), read_fault(addr), __LINE__)
#define EXPECT_WRITE_FAULT(addr) \
    expect_probe(probe(Op::write, (addr), 0x0bad), write_fault(addr), __LINE__)
// Fills a page with seed + i (ends the test if that fails), and checks such a page.
#define FILL(addr, seed)                        \
    do {                                        \
        if (!filled((addr), (seed), __LINE__))  \
            return;                             \
    } while (0)
#define EXPECT_PAGE(addr, seed) expect_probe(probe(Op::check, (addr), (seed)), finished(), __LINE__)
// A write of `value` at `to` that reads back at `from` (one frame, or the same address).
#define EXPECT_SHARED(to, from, value)          \
    do {                                        \
        EXPECT_WRITES((to), (value));           \
        EXPECT_READS((from), (value));          \
    } while (0)
// The word at `addr` reads as `expected`, and a write there faults.
#define EXPECT_READ_ONLY(addr, expected)        \
    do {                                        \
        EXPECT_READS((addr), (expected));       \
        EXPECT_WRITE_FAULT(addr);               \
    } while (0)

// A test whose set-up (Case: targets of test `test`, kHandler and `second`) is done, and
// window page `page` filled with seed + i (unless seed is 0). Its body sees that page as `a`,
// and two targets 64 KiB apart as `b` and `d`. MEMORY_TEST: `second` is kEndpoint.
#define MEMORY_TEST_WITH(name, page, test, seed, second)                                      \
    static void name##_body(uint64_t a, uint64_t b, uint64_t d);                              \
    KTEST(name)                                                                               \
    {                                                                                         \
        Case c((test), (second));                                                             \
        if (c.ok && ((seed) == 0 || filled(window(page), (seed), __LINE__)))                  \
            name##_body(window(page), target(test), target(test) + 0x10000);                  \
    }                                                                                         \
    static void name##_body([[maybe_unused]] uint64_t a, [[maybe_unused]] uint64_t b,          \
                            [[maybe_unused]] uint64_t d)
#define MEMORY_TEST(name, page, test, seed) MEMORY_TEST_WITH(name, page, test, seed, kEndpoint)

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
    Case c(kNoTargets, 0);
    if (!c.ok)
        return;
    EXPECT_WRITE_FAULT(abi::kBootInfoAddress + 0x10);
    KEXPECT_EQ(boot_info().magic, abi::kBootInfoMagic);
    KEXPECT_EQ(boot_info().module_count >= 1, true);
}

// sigma0's window ---------------------------------------------------------------------------

KTEST(memory_sigma0_window_write_read_back)
{
    Case c(kNoTargets, 0);
    if (!c.ok)
        return;
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
    Case c(kNoTargets, 0);
    if (!c.ok)
        return;
    const uint64_t unlisted[] = {0x0, 0x200000};
    for (uint64_t phys : unlisted) {
        KREQUIRE_EQ(region_of(phys) == nullptr, true);
        EXPECT_READ_FAULT(abi::kSigma0Window + phys + 0x18);
    }
}

// Map and grant in IPC -----------------------------------------------------------------------

MEMORY_TEST(memory_map_within_task, 1, 1, 0xa110'0000)
{
    map_page(a, b, b + 0x10);
    KEXPECT_EQ(server.value, 0xa110'0000 + 2);
    EXPECT_PAGE(b, 0xa110'0000);
    EXPECT_PAGE(a, 0xa110'0000);   // map: we keep it
    // One frame: a write through either shows at the other.
    EXPECT_SHARED(b + 0x20, a + 0x20, 0xbbbb);
    EXPECT_SHARED(a + 0x28, b + 0x28, 0xaaaa);
}

MEMORY_TEST(memory_map_needs_grant_right, 2, 2, 0x92a0'0000)
{
    KREQUIRE_EQ(l4::cap_copy(kEndpoint, kNoGrant, rights::send | rights::receive), Error::ok);
    KREQUIRE_EQ(start_server(window_at(b).raw), Error::ok);
    set_item(0, page_at(a));
    KEXPECT_EQ(send_pages(kNoGrant, 0x50, 1), Error::missing_rights);
    KEXPECT_EQ(send_pages(kNoGrant, 0x51, 0), Error::ok);   // without pages it may send
    KEXPECT_EQ(finish_server(), true);
    expect_server(0x51, 0);
    EXPECT_READ_FAULT(b);
}

MEMORY_TEST(memory_map_malformed_items, 3, 3, 0x3a10'0000)
{
    KREQUIRE_EQ(start_server(Flexpage::make(b, 16, page_rights::all).raw), Error::ok);
    const Flexpage bad[] = {
        Flexpage::make(b + 0x1000, 13, kRw),     // base not aligned to its size
        Flexpage::make(0x20000000, 23, kRw),     // 8 MiB: more than an item may carry
        Flexpage::make(b, 11, kRw),              // smaller than a page
        Flexpage::make(kKernelAddress & ~uint64_t{0xfff}, 12, kRw),   // not in the lower half
    };
    for (Flexpage page : bad) {
        set_item(0, page_at(a));   // a good item first: nothing of it moves
        set_item(1, page);
        KEXPECT_EQ(send_pages(kEndpoint, 0x60, 2), Error::invalid_argument);
    }
    for (uint64_t i = 0; i < abi::kMaxMapItems; ++i)
        set_item(i, page_at(a));
    KEXPECT_EQ(send_pages(kEndpoint, 0x61, 5), Error::invalid_argument);   // more than 4 items
    KEXPECT_EQ(send_pages(kEndpoint, 0x62, 0), Error::ok);
    KEXPECT_EQ(finish_server(), true);
    expect_server(0x62, 0);
    EXPECT_READ_FAULT(b);
}

// Pages the sender does not hold are skipped; a receiver without a window takes none.
MEMORY_TEST(memory_map_unheld_page_or_no_window, 4, 4, 0)
{
    uint64_t unheld = b + 0x80000;
    EXPECT_READ_FAULT(unheld);
    expect_mapped(page_at(unheld), window_at(b), 0);
    EXPECT_READ_FAULT(b);
    FILL(a, 0x4a10'0000);
    expect_mapped(page_at(a), Flexpage{0}, 0);
    EXPECT_READ_FAULT(b);
}

// An item lands at the window's base + hotspot modulo the window's size, rounded down to the
// item's size.
MEMORY_TEST(memory_map_hotspot_places_item, 5, 5, 0x5a10'0000)
{
    // 64 KiB window; hotspot 0x7'2345 -> 0x2345 in it -> page 0x2000.
    expect_mapped(page_at(a), Flexpage::make(b, 16, page_rights::all), 1, b + 0x2008, 0x72345);
    KEXPECT_EQ(server.value, 0x5a10'0000 + 1);
    EXPECT_PAGE(b + 0x2000, 0x5a10'0000);
    EXPECT_READ_FAULT(b);
    EXPECT_READ_FAULT(b + 0x3000);
}

// An item larger than the window is dropped; with a window of its size it arrives whole.
MEMORY_TEST(memory_map_item_larger_than_window_dropped, 39, 6, 0)
{
    uint64_t pair = a;   // pages 39 and 38: 8 KiB, aligned
    KREQUIRE_EQ(phys_page(39) % 0x2000, 0);
    KREQUIRE_EQ(phys_page(38), phys_page(39) + kPage);
    FILL(pair, 0x6a10'0000);
    FILL(pair + kPage, 0x6b10'0000);
    expect_mapped(Flexpage::make(pair, 13, kRw), window_at(b), 0);
    EXPECT_READ_FAULT(b);
    expect_mapped(Flexpage::make(pair, 13, kRw), Flexpage::make(b, 13, page_rights::all), 2);
    EXPECT_PAGE(b, 0x6a10'0000);
    EXPECT_PAGE(b + kPage, 0x6b10'0000);
}

// Pages of the window the kernel uses itself (boot information, UTCBs) are never replaced.
KTEST(memory_map_skips_kernel_pages)
{
    Case c;   // no targets; it clears the map items at the end
    if (!c.ok)
        return;
    uint64_t a = window(6);
    FILL(a, 0x6c10'0000);
    expect_mapped(page_at(a), window_at(abi::kBootInfoAddress), 0);
    KEXPECT_EQ(boot_info().magic, abi::kBootInfoMagic);
    uint64_t own_utcb = reinterpret_cast<uint64_t>(l4::utcb()) & ~(kPage - 1);
    expect_mapped(page_at(a), window_at(own_utcb), 0);
    KEXPECT_EQ(l4::utcb()->self, reinterpret_cast<uint64_t>(l4::utcb()));
}

// Rights = item & window & held: a read-only mapping stays read-only, whatever is asked.
MEMORY_TEST(memory_map_rights_only_shrink, 7, 7, 0x7a10'0000)
{
    const struct {
        Flexpage page, receive_window;
        uint64_t word;   // read there, at 8 * word
    } steps[] = {
        {page_at(a, page_rights::read), window_at(b), 1},
        {page_at(b), window_at(d), 2},                              // from the read-only mapping
        {page_at(a), page_at(b + 0x20000, page_rights::read), 3},   // a read-only window
    };
    for (const auto& step : steps) {
        expect_mapped(step.page, step.receive_window, 1);
        EXPECT_READ_ONLY(step.receive_window.base() + 8 * step.word, 0x7a10'0000 + step.word);
    }
    EXPECT_SHARED(a + 32, b + 32, 0x7777);   // the source keeps its rights
}

// A page already mapped at the target is replaced, and what was derived from it goes.
MEMORY_TEST(memory_map_replaces_target, 15, 17, 0x1a10'0000)
{
    uint64_t a2 = window(16);
    FILL(a2, 0x2a20'0000);
    map_page(a, b);
    map_page(b, d);
    EXPECT_PAGE(d, 0x1a10'0000);
    map_page(a2, b, b);
    KEXPECT_EQ(server.value, 0x2a20'0000);
    EXPECT_PAGE(b, 0x2a20'0000);
    EXPECT_READ_FAULT(d);
    EXPECT_PAGE(a, 0x1a10'0000);
    EXPECT_PAGE(a2, 0x2a20'0000);
}

// Execute is a right of its own: without it an instruction fetch faults (NX).
MEMORY_TEST(memory_map_execute_right, 17, 18, 0)
{
    // movabs $kt_mt_finish, %rax; jmp *%rax
    uint64_t finish = address(kt_mt_finish);
    KREQUIRE_EQ(finish >> 48, 0);
    EXPECT_WRITES(a, 0xb848 | (finish << 16));
    EXPECT_WRITES(a + 8, (finish >> 48) | (uint64_t{0xe0ff} << 16));
    map_page(a, b);
    expect_mapped(page_at(a, page_rights::all), window_at(d), 1);
    kt_mt_done = 0;
    expect_probe(run_probe(reinterpret_cast<ThreadBody>(b)), page_fault(b, 0x15, b), __LINE__);   // fetch, present
    kt_mt_done = 0;
    expect_probe(run_probe(reinterpret_cast<ThreadBody>(d)), finished(), __LINE__);
}

// Grant moves the mapping: the source loses it, the target has the data, and it stays
// derived from where it came from.
MEMORY_TEST(memory_grant_moves_mapping, 8, 8, 0x8a10'0000)
{
    if (!map_page(a, b))
        return;
    expect_mapped(page_at(b), window_at(d), 1, d, 0, 1);
    KEXPECT_EQ(server.value, 0x8a10'0000);
    EXPECT_READ_FAULT(b);
    EXPECT_PAGE(d, 0x8a10'0000);
    EXPECT_SHARED(d + 8, a + 8, 0x8888);
    // Unmapping the page it was derived from takes it too.
    KEXPECT_EQ(memory_unmap(window_at(a), 0), Error::ok);
    EXPECT_READ_FAULT(d);
    EXPECT_READS(a + 8, 0x8888);
}

// Unmap -------------------------------------------------------------------------------------

// A -> B -> C: unmapping A takes B and C (recursively), A stays.
MEMORY_TEST(memory_unmap_recursive, 9, 9, 0x9a10'0000)
{
    map_page(a, b);
    map_page(b, d);
    EXPECT_PAGE(d, 0x9a10'0000);
    KEXPECT_EQ(memory_unmap(window_at(a), 0), Error::ok);
    EXPECT_READ_FAULT(b);
    EXPECT_READ_FAULT(d);
    EXPECT_PAGE(a, 0x9a10'0000);
    // Again from the middle: B's unmap takes C, keeps B.
    map_page(a, b);
    map_page(b, d);
    KEXPECT_EQ(memory_unmap(window_at(b), 0), Error::ok);
    EXPECT_READ_FAULT(d);
    EXPECT_PAGE(b, 0x9a10'0000);
    EXPECT_PAGE(a, 0x9a10'0000);
}

// With self = 1 the window page itself goes too; touching it again maps the frame anew
// (sigma0's fault on free memory), with its data: the frame was never freed.
MEMORY_TEST(memory_unmap_self_window_page_maps_anew, 10, 10, 0xaa10'0000)
{
    map_page(a, b);
    KEXPECT_EQ(memory_unmap(window_at(a), 1), Error::ok);
    EXPECT_READ_FAULT(b);
    EXPECT_PAGE(a, 0xaa10'0000);
    // A root again: it maps as before.
    map_page(a, d, d);
    KEXPECT_EQ(server.value, 0xaa10'0000);
}

// Taking write with self = 1: the window page and what was derived from it become read-only.
MEMORY_TEST(memory_unmap_self_write_window_page, 11, 11, 0xab10'0000)
{
    map_page(a, b);
    KEXPECT_EQ(memory_unmap(page_at(a, page_rights::write), 1), Error::ok);
    EXPECT_READ_ONLY(a + 0x40, 0xab10'0000 + 8);
    EXPECT_READ_ONLY(b + 0x40, 0xab10'0000 + 8);
}

// Unmapping 4 KiB of a 16 KiB mapping takes exactly that page of the target.
MEMORY_TEST(memory_unmap_part_of_large_flexpage, 35, 12, 0)
{
    uint64_t w = a, t = b;   // pages 35, 34, 33, 32: 16 KiB, aligned
    KREQUIRE_EQ(phys_page(35) % 0x4000, 0);
    KREQUIRE_EQ(phys_page(32), phys_page(35) + 3 * kPage);
    for (uint64_t i = 0; i < 4; ++i)
        FILL(w + i * kPage, 0xc000'0000 + i * 0x10000);
    expect_mapped(Flexpage::make(w, 14, kRw), Flexpage::make(t, 14, page_rights::all), 4);
    for (uint64_t i = 0; i < 4; ++i)
        EXPECT_READS(t + i * kPage, 0xc000'0000 + i * 0x10000);
    KEXPECT_EQ(memory_unmap(window_at(w + kPage), 0), Error::ok);
    for (uint64_t i = 0; i < 4; ++i) {   // all but page 1 stay
        if (i == 1)
            EXPECT_READ_FAULT(t + kPage);
        else
            EXPECT_READS(t + i * kPage, 0xc000'0000 + i * 0x10000);
    }
    EXPECT_READS(w + kPage, 0xc000'0000 + 0x10000);
}

// Taking only write leaves the derived mapping readable; the source keeps write.
MEMORY_TEST(memory_unmap_write_only, 12, 13, 0xd010'0000)
{
    map_page(a, b);
    EXPECT_WRITES(b + 8, 0xd0d0);
    KEXPECT_EQ(memory_unmap(page_at(a, page_rights::write), 0), Error::ok);
    EXPECT_READ_ONLY(b + 8, 0xd0d0);
    EXPECT_SHARED(a + 16, b + 16, 0xd1d1);
}

KTEST(memory_unmap_bad_arguments)
{
    Targets targets(14);
    uint64_t t = target(14);
    const struct {
        Flexpage page;
        uint64_t self;
        Error error;
    } cases[] = {
        {window_at(t), 2, Error::invalid_argument},
        {window_at(t), ~uint64_t{0}, Error::invalid_argument},
        {Flexpage::make(0, 31, page_rights::all), 0, Error::invalid_argument},   // > 1 GiB
        {Flexpage::make(t + kPage, 13, page_rights::all), 0, Error::invalid_argument},
        {Flexpage::make(t, 11, page_rights::all), 0, Error::invalid_argument},
        {window_at(kKernelAddress & ~uint64_t{0xfff}), 0, Error::invalid_argument},
        // Well-formed: fine even where nothing is mapped, up to 1 GiB.
        {window_at(t), 0, Error::ok},
        {window_at(t), 1, Error::ok},
        {Flexpage::make(0x40000000, 30, page_rights::all), 0, Error::ok},
    };
    for (const auto& c : cases)
        KEXPECT_EQ(memory_unmap(c.page, c.self), c.error);
}

// Page faults to a pager -----------------------------------------------------------------

// A thread with a pager faults on an unmapped address; the pager's replies map a window
// page there, read-only first, then read-write.
MEMORY_TEST_WITH(memory_pager_resolves_faults, 13, 15, 0xe010'0000, kPager)
{
    uint64_t x = b + 0x18;
    if (!start_paged(kt_mt_pager, x, 0xe1e1'e1e1, kt_mt_pager_read_at))
        return;
    reply_mapping(page_at(a, page_rights::read), x);
    KEXPECT_EQ(wait_flag(kt_mt_stage), true);
    KEXPECT_EQ(kt_mt_value, 0xe010'0000 + 3);
    if (!expect_pager_fault(x, page_rights::write, kt_mt_pager_write_at))
        return;
    reply_mapping(page_at(a), x);
    KEXPECT_EQ(wait_flag(kt_mt_done), true);
    l4::Message m;
    KEXPECT_EQ(l4::receive(kHandler, m, abi::kTimeoutZero), Error::timeout);   // no exception
    KEXPECT_EQ(l4::receive(kPager, m, abi::kTimeoutZero), Error::timeout);     // no third fault
    KEXPECT_EQ(release_slot(kVictim), Error::ok);
    EXPECT_READS(a + 0x18, 0xe1e1'e1e1);
    EXPECT_READS(x, 0xe1e1'e1e1);
}

// A pager reply that maps nothing retries the access: the thread faults again.
MEMORY_TEST_WITH(memory_pager_empty_reply_faults_again, 14, 16, 0xf010'0000, kPager)
{
    uint64_t x = b + 0x100;
    if (!start_paged(kt_mt_read, x, 0, kt_mt_read_at))
        return;
    KEXPECT_EQ(l4::reply(l4::Message{}), Error::ok);
    if (!expect_pager_fault(x, page_rights::read, kt_mt_read_at))
        return;
    KEXPECT_EQ(kt_mt_done, 0);
    reply_mapping(page_at(a, page_rights::read), x);
    KEXPECT_EQ(wait_flag(kt_mt_done), true);
    KEXPECT_EQ(kt_mt_value, 0xf010'0000 + 0x20);
}
