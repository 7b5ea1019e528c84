// The shared part of the memory tests (memory_tests.cpp, memory_unmap_tests.cpp,
// memory_pager_tests.cpp): set-up, probe threads, the server that receives map items.
// Selectors 800-899.
//
// ktest is sigma0, so it sees physical page P at kSigma0Window + P. Each test uses its own
// pages at the top of the highest free region (phys_page(index)) and its own 1 MiB of
// virtual targets (target(index)), so tests stay independent. The main thread never touches
// memory whose mapping a test changes: a probe thread (with the main thread as its exception
// handler) reads or writes it, so a fault is reported instead of stopping the main thread.
#pragma once

#include "helpers.hpp"

#include "l4/abi/boot_info.hpp"

namespace kt::mem {

constexpr Selector kVictim = 800, kServer = 801; // threads first
constexpr Selector kHandler = 810, kEndpoint = 811, kNoGrant = 812, kPager = 813;
constexpr uint64_t kServerTimeout = 200; // ticks: 2 s at 100 Hz
constexpr uint64_t kPage = 4096;
constexpr uint64_t kTargetBase = 0x10000000, kTargetStride = 0x100000;
constexpr uint64_t kNoResume = 7; // an exception reply label that leaves the thread suspended

constexpr uint64_t kPageFaultVector = 14;
// x86 page-fault error codes of user accesses.
constexpr uint64_t kReadNotPresent = 0x4, kWritePresent = 0x7;

using Tag = abi::MessageTag;
using abi::Flexpage;
namespace page_rights = abi::page_rights;
constexpr uint64_t kRw = page_rights::read | page_rights::write;

// The highest free region of at least `at_least` bytes (nullptr if none). Under UEFI the
// highest free regions are small pieces between the firmware's.
const abi::MemoryRegion* highest_free(uint64_t at_least = 0);

// Physical page `index` counted down from the top of the highest free region (rounded down
// to 64 KiB, so that phys_page(4k + 3) starts four 16 KiB-aligned pages).
uint64_t phys_page(uint64_t index);

uint64_t window(uint64_t index);
uint64_t target(uint64_t test);

Error memory_unmap(Flexpage page, uint64_t self);

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

} // namespace kt::mem

// The probes (memory_probe.cpp): each touches kt_mt_addr at its _at label; on success it
// publishes what it read and sets kt_mt_done. kt_mt_pager reads, sets kt_mt_stage, then writes.
extern "C" {
extern char kt_mt_read[], kt_mt_read_at[];
extern char kt_mt_write[], kt_mt_write_at[];
extern char kt_mt_pager[], kt_mt_pager_read_at[], kt_mt_pager_write_at[];
extern char kt_mt_finish[];
extern volatile uint64_t kt_mt_addr, kt_mt_wval, kt_mt_value, kt_mt_stage, kt_mt_done;
}

namespace kt::mem {

uint64_t address(const char* label);

// One page (4 KiB) at `addr`: read-write by default, or with all rights.
Flexpage page_at(uint64_t addr, uint64_t rights = kRw);
Flexpage window_at(uint64_t addr);

enum class Op { read, write, fill, check };

struct Probe {
    Error error = Error::ok; // of starting the probe
    bool finished = false;   // ran to its end
    bool faulted = false;    // took an exception instead (then the fields below)
    uint64_t value = 0;      // read: the word; check: the wrong words
    uint64_t vector = 0, error_code = 0, fault_address = 0, rip = 0;
};

// What a probe that ran to its end shows, and one that took a page fault at its access.
Probe finished(uint64_t value = 0);
Probe page_fault(uint64_t addr, uint64_t error_code, uint64_t rip);

// Expects every field of `got` to be as in `want`; a mismatch names `line` of the calling
// file.
Probe expect_probe(const Probe& got, const Probe& want, int line, const char* file = __builtin_FILE());

// The probes' shared variables, before a probe thread starts.
void reset_probe(uint64_t addr, uint64_t value);

// Starts a probe thread at `body` with kHandler (which the test created) as its exception
// handler, and `pager` as its pager unless that is 0. It runs in our task, or in `task`
// (which must show our image at our addresses: memory_map_to_tests.cpp).
Error start_victim(ThreadBody body, Selector pager = 0, Selector task = kTask);

// Runs one probe thread (in `task`) that starts at `body`, waits for it to finish or fault
// (bounded), leaves a faulted one suspended, and deletes it.
Probe run_probe(ThreadBody body, Selector task = kTask);

// A probe of kind `op` at `addr` (run_probe), in `task`.
Probe probe(Op op, uint64_t addr, uint64_t value = 0, Selector task = kTask);

// Fills the page at `addr` with seed + i; false when the probe did not finish.
bool filled(uint64_t addr, uint64_t seed, int line, const char* file = __builtin_FILE());

// The page faults of the read and write probes, at `addr`.
Probe read_fault(uint64_t addr);
Probe write_fault(uint64_t addr);

// The server: a second thread that receives one message into its receive window and reads
// the word at read_at when pages arrived.
struct Server {
    Selector endpoint;
    uint64_t window;  // Flexpage raw
    uint64_t read_at; // 0: read nothing
    uint64_t error, label, received_pages, value;
    volatile uint64_t started, done;
};
extern Server server;

Error start_server(uint64_t receive_window, uint64_t read_at = 0);

// Waits for the server to have received, and deletes it; false when it never did.
bool finish_server();

// Expects the server to have received `label` with `pages` pages; false on a mismatch.
bool expect_server(uint64_t label, uint64_t pages);

void set_item(uint64_t i, Flexpage page, uint64_t hotspot = 0, uint64_t grant = 0);

// A pager's reply to the page fault just received: `page` mapped with hotspot `addr`; false
// (reported) when the reply fails.
bool reply_mapping(Flexpage page, uint64_t addr);

// Sends `label` with `pages` map items (already in the UTCB) through `through` once a
// receiver waits (bounded).
Error send_pages(Selector through, uint64_t label, uint64_t pages);

// One map or grant item from us to the server, whose receive window is `receive_window`;
// the server's record is in `server`.
Error deliver(Flexpage page, uint64_t hotspot, uint64_t grant, Flexpage receive_window, uint64_t read_at = 0);

// deliver(), expecting it to succeed with `pages` pages at the server; false on a mismatch.
bool expect_mapped(Flexpage page, Flexpage receive_window, uint64_t pages, uint64_t read_at = 0, uint64_t hotspot = 0,
                   uint64_t grant = 0);

// The usual case: the read-write page at `from` lands at `to` (read there at `read_at`).
bool map_page(uint64_t from, uint64_t to, uint64_t read_at = 0);

// One test's set-up: slots 800-819, its targets (Targets), the exception handler endpoint,
// and `second` (kEndpoint or kPager; 0 for none) as an endpoint too. `ok` is false after a
// failed check; the test then ends.
bool make_endpoints(Selector second);

struct Case {
    Slots slots{800, 820};
    Targets targets;
    bool ok;
    explicit Case(uint64_t test = kNoTargets, Selector second = kEndpoint) : targets(test), ok(make_endpoints(second))
    {
    }
};

} // namespace kt::mem

// Probe expectations: macros, so that a failure names the test's line.
#define EXPECT_READS(addr, expected) expect_probe(probe(Op::read, (addr)), finished(expected), __LINE__)
#define EXPECT_WRITES(addr, value) expect_probe(probe(Op::write, (addr), (value)), finished(), __LINE__)
// A page fault (vector 14) at exactly `addr`, with the error code, at the probe's access.
#define EXPECT_READ_FAULT(addr) expect_probe(probe(Op::read, (addr), 0x0bad), read_fault(addr), __LINE__)
#define EXPECT_WRITE_FAULT(addr) expect_probe(probe(Op::write, (addr), 0x0bad), write_fault(addr), __LINE__)
// Fills a page with seed + i (ends the test if that fails), and checks such a page.
#define FILL(addr, seed)                                                                                               \
    do {                                                                                                               \
        if (!filled((addr), (seed), __LINE__))                                                                         \
            return;                                                                                                    \
    } while (0)
#define EXPECT_PAGE(addr, seed) expect_probe(probe(Op::check, (addr), (seed)), finished(), __LINE__)
// A write of `value` at `to` that reads back at `from` (one frame, or the same address).
#define EXPECT_SHARED(to, from, value)                                                                                 \
    do {                                                                                                               \
        EXPECT_WRITES((to), (value));                                                                                  \
        EXPECT_READS((from), (value));                                                                                 \
    } while (0)
// The word at `addr` reads as `expected`, and a write there faults.
#define EXPECT_READ_ONLY(addr, expected)                                                                               \
    do {                                                                                                               \
        EXPECT_READS((addr), (expected));                                                                              \
        EXPECT_WRITE_FAULT(addr);                                                                                      \
    } while (0)

// A test whose set-up (Case: targets of test `test`, kHandler and `second`) is done, and
// window page `page` filled with seed + i (unless seed is 0). Its body sees that page as `a`,
// and two targets 64 KiB apart as `b` and `d`. MEMORY_TEST: `second` is kEndpoint.
#define MEMORY_TEST_WITH(name, page, test, seed, second)                                                               \
    static void name##_body(uint64_t a, uint64_t b, uint64_t d);                                                       \
    KTEST(name)                                                                                                        \
    {                                                                                                                  \
        Case c((test), (second));                                                                                      \
        if (c.ok && ((seed) == 0 || filled(window(page), (seed), __LINE__)))                                           \
            name##_body(window(page), target(test), target(test) + 0x10000);                                           \
    }                                                                                                                  \
    static void name##_body([[maybe_unused]] uint64_t a, [[maybe_unused]] uint64_t b, [[maybe_unused]] uint64_t d)
#define MEMORY_TEST(name, page, test, seed) MEMORY_TEST_WITH(name, page, test, seed, kEndpoint)
