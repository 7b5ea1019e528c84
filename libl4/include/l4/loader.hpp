// Loading an ELF executable into a new task, for the root task: the task starts empty and gets
// its memory on demand from the caller, which serves its page faults as its pager.
//
//   l4::LoadedImage image;                     // keep it (and the ELF bytes) while the task runs
//   factory_create(factory, ObjectKind::endpoint, pager);
//   l4::load_task(elf, elf_size, factory, task, thread, pager, image);
//   l4::serve_until_exit(image, pager, thread);   // or a loop over serve_loader_fault
//
// A page fault inside a PT_LOAD segment gets a fresh page from sigma0 (l4/sigma0.hpp; or from
// LoadOptions::fetch_page), filled with the segment's file bytes for that page and zero
// elsewhere (.bss included), mapped with the segment's rights (read, + write, + execute); a
// fault in the stack range gets a zeroed read/write page. Anything else is refused: the
// reply's label is nonzero and the kernel stops the faulting thread ("pager refused its page
// fault"). So is an access the page's rights do not allow (a write to .text, an instruction
// fetch from .data or the stack).
//
// The pages live in the caller's space too, in a scratch range of one page per page of the
// image (segments in program-header order, then the stack): page i at scratch_base + i * 4 KiB.
// A page is fetched once; a second fault on it (another thread raced for it, or a mapping was
// taken away) maps the same page again, so nothing the task wrote is lost. The scratch pages
// stay mapped in the caller after the task is gone (sigma0 takes nothing back).
//
// Not thread-safe (the default scratch ranges come from one unlocked cursor).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/elf.hpp"
#include "l4/syscall.hpp"

namespace l4 {

constexpr uint64_t kLoaderStackTop = 0x00007fff00000000;
constexpr uint64_t kLoaderStackSize = 64 * 1024;
// How many pages (segments and stack together) one LoadedImage can serve: 64 MiB.
constexpr uint64_t kLoaderMaxPages = 16384;
// Where the default scratch ranges are carved from in the caller's space, one after another
// (with a guard page between them), never reused.
constexpr uint64_t kLoaderScratchBase = 0x0000200000000000;
constexpr uint64_t kLoaderScratchSize = uint64_t{1} << 40;

// Maps one fresh page (any content: the loader fills all of it) at `at` in the caller's space.
using PageFetcher = Error (*)(uint64_t at);

struct LoadOptions {
    uint64_t capability_slots = 16;         // of the new task (1..4096); it starts with none filled
    uint64_t priority = 100;                // of its thread, at most the caller's (boot tasks: 100)
    uint64_t stack_top = kLoaderStackTop;   // page-aligned, <= kLastUserPage; the thread starts with rsp = stack_top
    uint64_t stack_size = kLoaderStackSize; // whole pages, below stack_top
    uint64_t scratch_base = 0;              // page-aligned, or 0: the next default scratch range
    PageFetcher fetch_page = nullptr;       // null: sigma0::allocate(12, at)
};

// What the pager knows of a loaded task. The ELF image it was loaded from must stay mapped,
// unchanged, in the caller while the task runs: its pages are copied on demand.
struct LoadedImage {
    elf::Image executable;    // entry, segments, the file
    elf::Result parse_result; // why load_task refused the image (error none otherwise)
    uint64_t stack_base = 0, stack_top = 0;
    uint64_t scratch_base = 0; // page i of the image is at scratch_base + i * 4 KiB here
    uint64_t page_count = 0;   // segment pages, then stack pages
    PageFetcher fetch_page = nullptr;
    uint64_t first_page[elf::kMaxSegments] = {}; // each segment's first page index
    uint64_t present[kLoaderMaxPages / 64] = {}; // bit i: page i was fetched and filled
    uint64_t faults_served = 0;                  // replies that mapped a page
    uint64_t faults_refused = 0;                 // replies that refused a fault
    uint64_t pages_fetched = 0;                  // pages taken from sigma0
};

// Parses `image` (common/elf.hpp, a static ET_EXEC: invalid_argument and parse_result on any error), creates a task in
// `task_slot` and a thread of it in `thread_slot` (both through `factory`, both empty slots of
// the caller), makes `pager_endpoint` (the caller's, with send) the thread's pager and starts it
// at the entry point with rsp = options.stack_top. Fills `out`.
// Errors: invalid_argument also for options that do not fit (stack not page-aligned, outside
// user space or overlapping a segment, more than kLoaderMaxPages pages, a bad scratch_base);
// otherwise those of factory_create and thread_control. On an error nothing is left behind in
// the two slots.
[[nodiscard]] Error load_task(const uint8_t* image, size_t size, Selector factory, Selector task_slot,
                              Selector thread_slot, Selector pager_endpoint, LoadedImage& out,
                              const LoadOptions& options = LoadOptions{});

// Turns the received message `m` (a page fault of the loaded task: label
// abi::label::page_fault, words PageFault) into its reply, to send with l4::reply or
// l4::reply_wait: label 0 with one map item (utcb()->send_pages[0]) of the page, or a refusal
// whose label is the returned error. Returns ok when the fault is resolved; bad_address for an
// address outside the segments and the stack, missing_rights for an access the page does not
// allow, invalid_argument for a message that is no page fault, or sigma0's error when it gave
// no page.
Error serve_loader_fault(LoadedImage& image, Message& m);

// Serves the task's page faults on `pager_endpoint` (receiving with a timeout of `poll_ticks`)
// until its thread `thread_slot` is gone (it exited, or was stopped for good: a refused fault,
// an exception without handler): then ok. timeout after `max_idle_polls` polls in a row brought
// no message while the thread lived on; other errors are receive's. Only for a pager endpoint
// that serves this one task.
Error serve_until_exit(LoadedImage& image, Selector pager_endpoint, Selector thread_slot, uint64_t poll_ticks = 10,
                       uint64_t max_idle_polls = 1000);

} // namespace l4
