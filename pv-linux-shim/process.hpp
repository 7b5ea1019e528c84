// A Linux process of the shim: a task of the microkernel with one foreign-ABI thread, whose
// system calls and page faults come to the shim's endpoint badged with the process's number.
// Every page of it is a page of the shim's memory (PagePool), mapped into the task on its first
// fault and remembered in the process's page map, so the shim reads and writes process memory
// in place, without a kernel call.
//
// fork shares the parent's pages with the child instead of copying them (PagePool counts the
// holders): a private page both hold is mapped without write into both, and whoever writes it
// first gets a copy of its own (or, when it is the last holder by then, write back). Pages of a
// MAP_SHARED mapping stay one page for all, writable by each.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/elf.hpp"
#include "l4/abi/utcb.hpp"
#include "l4/syscall.hpp"
#include "page_map.hpp"
#include "page_pool.hpp"
#include "signals.hpp"

namespace shim {

struct Inode;

// The process's address space (below the kernel's UTCB area at 0x7fffc0000000).
constexpr uint64_t kStackTop = 0x0000'7fff'8000'0000;
constexpr uint64_t kStackLimit = 8u << 20;           // RLIMIT_STACK
constexpr uint64_t kMmapTop = 0x0000'7f00'0000'0000; // anonymous mappings grow down from here
constexpr uint64_t kBrkLimit = uint64_t{1} << 30;    // the heap may grow this far past the image
constexpr uint64_t kMaxMappings = 64;

// Page rights as memory_map_to takes them.
constexpr uint32_t kRead = 1, kWrite = 2, kExecute = 4;

class Process {
public:
    // A process with selectors [first_selector, first_selector + 4) for its objects (task, thread,
    // its badged endpoint, the reply object that keeps a waiting call) and no memory yet. False
    // (and says why) when its objects cannot be had; nothing is left then.
    bool create(uint64_t pid, l4::Selector endpoint, l4::Selector first_selector, PagePool& pool);
    // Its memory from now on is that of the ELF `image` (whose bytes stay where they are: in the
    // initramfs): what it had before is gone (execve).
    void load(const elf::Image& image);
    // Its memory becomes `parent`'s, copy-on-write (fork): private pages shared until written,
    // MAP_SHARED ones shared for good. False when there is no memory to keep track.
    bool copy_memory_from(Process& from_process);
    // Starts its thread at `entry` with `rsp` (the start-up stack written by then).
    l4::Error start(uint64_t entry, uint64_t rsp);
    // Deletes its objects and gives its pages back.
    void destroy();

    // The shim page holding `address` (resolved as for a fault of `access`, kRead or kWrite),
    // or 0 when the process may not touch it so: a fault to refuse, or EFAULT for a system call.
    // For kWrite a page shared copy-on-write is the process's own from then on.
    uint64_t resolve(uint64_t address, uint32_t access);
    // Whether `address` (resolved) lies in a MAP_SHARED mapping: its page is the same one for
    // every process that has it (futex keys).
    bool is_shared(uint64_t address);

    // Copies between the shim and the process's memory; false (EFAULT) when a page is not there
    // to take, or not writable for copy_out.
    bool copy_in(void* to, uint64_t from, size_t bytes);
    bool copy_out(uint64_t to, const void* from, size_t bytes);
    // A NUL-terminated string of at most `capacity` bytes with its NUL; false for EFAULT or a
    // string too long.
    bool copy_string(char* to, uint64_t from, size_t capacity);

    // brk(2): the new break (the old one when `requested` is refused).
    uint64_t set_break(uint64_t requested);
    // An anonymous mapping of `bytes` (page-rounded), MAP_SHARED when `shared`; 0 when there is
    // no room.
    // At `fixed` (MAP_FIXED, replacing what was there) when not 0.
    uint64_t map_anonymous(uint64_t bytes, bool shared = false, uint64_t fixed = 0);
    // Unmaps [address, address + bytes): the pages go back to the pool. False for a bad range.
    bool unmap(uint64_t address, uint64_t bytes);
    // mprotect(2) to `rights` (kRead, kWrite, kExecute bits): pages there now are mapped again
    // with them, pages faulted in later get them. False for a bad range or no room to remember.
    bool protect(uint64_t address, uint64_t bytes, uint32_t rights);

    char name[16] = {}; // prctl PR_SET_NAME's, what ps shows
    char exe[64] = {};  // the path it was exec'd by: readlink /proc/self/exe, execve of it
    uint64_t fs_base = 0;

    // Open files: each descriptor's handle of an open file (files.hpp), 0 for none.
    static constexpr uint64_t kMaxFiles = 32;
    uint16_t files[kMaxFiles] = {};
    Inode* cwd = nullptr; // the working directory (held), or null for the root
    uint32_t umask = 022;

    // Signals (processes.cpp delivers them): rt_sigaction's actions, the blocked mask, what is
    // pending with each one's siginfo, the alternate stack, and the stopped state wait4 reports.
    using SignalAction = signals::Action;
    SignalAction actions[signals::kMaxSignal] = {};
    uint64_t blocked = 0, pending = 0;
    signals::Info pending_info[signals::kMaxSignal] = {};
    signals::AltStack alt_stack{0, signals::kSsDisable, 0, 0};
    uint64_t suspend_saved_mask = 0; // rt_sigsuspend's: the mask its handler's frame restores
    bool suspend_mask_saved = false;
    bool stopped = false;                              // by a stop signal, until SIGCONT
    int stop_signal = 0;                               // which, for wait4
    bool report_stop = false, report_continue = false; // for wait4's WUNTRACED and WCONTINUED
    uint64_t alarm_deadline = 0, alarm_interval = 0;   // guest ns: alarm's and ITIMER_REAL's
    uint64_t group = 1, session = 1;                   // process group and session (init's own)
    uint64_t parent = 0;                               // its parent's pid (0: none, for init)
    bool zombie = false;                               // exited, its status not yet taken by wait4
    uint64_t exit_status = 0;                          // wait4's status word once a zombie

    // A system call that waits (read or poll of the console, a sleep): kept to be tried again.
    bool waiting = false;
    l4::abi::ForeignSyscall waiting_call{};
    uint64_t wake_deadline = 0; // guest ns, for a sleep or a poll's timeout; 0: none

    uint64_t pid() const { return pid_; }
    l4::Selector thread() const { return first_selector_ + 1; }
    l4::Selector reply() const { return first_selector_ + 3; }
    bool exists() const { return pages_ != nullptr; }

private:
    struct Mapping {
        uint64_t start, end;
        bool shared; // MAP_SHARED: fork shares its pages, never copies them
    };
    // PageEntry::flags
    static constexpr uint32_t kCopyOnWrite = 1; // shared by fork: mapped without write until written
    static constexpr uint32_t kShared = 2;      // a MAP_SHARED mapping's page
    static constexpr uint32_t kNotMapped = 4;   // fork's: not in the task until it touches it
    // (PageEntry::rights: what the process may do; mapped without write while kCopyOnWrite.)
    static constexpr uint64_t kPageMapPages = kPageMapEntries * sizeof(PageEntry) / 4096;

    static uint32_t mapped_rights(uint32_t rights, uint32_t flags)
    {
        return (flags & kCopyOnWrite) != 0 ? rights & ~kWrite : rights;
    }
    PageEntry* find(uint64_t virtual_page) { return page_map_find(pages_, virtual_page); }
    // The rights a fault at `page` may get, and what fills it; 0 rights: none.
    uint32_t rights_of(uint64_t page, const elf::Segment** segment) const;
    uint32_t base_rights_of(uint64_t page, const elf::Segment** segment) const; // before mprotect
    void forget(PageEntry* entry);
    bool insert(uint64_t page, uint32_t rights, uint64_t shim_page, uint32_t flags);
    // A new page for a first fault at `page` (filled from the image where it has bytes).
    uint64_t fault_in(uint64_t page, uint32_t rights, const elf::Segment* segment);
    // Makes a copy-on-write page the process's own and maps it with all its rights.
    bool take_private(PageEntry& entry);
    // Gives every page of its MAP_SHARED mappings a shim page (fork: so both have the same).
    bool fill_shared();
    bool in_shared_mapping(uint64_t page) const;
    // `action(entry)` for each page of [start, end) the process has; it says whether it took
    // the entry out of the map.
    template <typename Action>
    void for_each_page(uint64_t start, uint64_t end, Action action);

    uint64_t pid_ = 0;
    l4::Selector first_selector_ = 0; // task, thread, the badged endpoint
    elf::Image image_{};
    PagePool* pool_ = nullptr;
    PageEntry* pages_ = nullptr; // an open-addressing table of kPageMapEntries
    uint64_t page_count_ = 0;
    uint64_t brk_start_ = 0, brk_ = 0;
    Mapping mappings_[kMaxMappings] = {};
    struct Protection {
        uint64_t start, end;
        uint32_t rights;
    };
    Protection protections_[16] = {}; // mprotect's ranges, the latest first
    uint64_t mmap_next_ = kMmapTop;
};

} // namespace shim
