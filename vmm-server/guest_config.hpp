// A guest's boot-module command line, parsed (docs/hypercalls.md, "Starting guests"):
//
//   guest name=linux0 mem=64M initrd=rootfs.cpio disk=disk.img console=on restart=on-crash -- init=/bin/sh
//
// Portable and allocation-free: the VMM and the host tests build it. Nothing in the line is
// trusted; a line that cannot be taken whole is refused with a message naming the word.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace vmm {

constexpr size_t kMaxNameLength = 31;    // a guest's or an initrd's name (StartInfo::name holds 32)
constexpr size_t kMaxGuestCmdline = 255; // what follows `--` (StartInfo::cmdline holds 256)
constexpr uint64_t kMinGuestMemory = uint64_t{1} << 20;
constexpr uint64_t kMaxGuestMemory = uint64_t{1} << 30;
constexpr uint64_t kDefaultGuestMemory = uint64_t{16} << 20;
// kmem=: the guest's kernel-memory quota, instead of its share of the VMM's (a guest kernel with
// many processes needs more: pv-linux-shim's cost some 60 KiB each).
constexpr uint64_t kMinGuestKernelMemory = uint64_t{64} << 10;
constexpr uint64_t kMaxGuestKernelMemory = uint64_t{16} << 20;
constexpr size_t kMaxConfigMessage = 120;

enum class Restart : uint8_t { no, on_crash };
// console=off|on|raw: dropped; in lines after the guest's name; raw, byte for byte as it comes
// (for an interactive guest: prompts without a newline, the terminal's escape sequences).
enum class ConsoleMode : uint8_t { off, lines, raw };

struct GuestConfig {
    char name[kMaxNameLength + 1] = {};
    uint64_t memory_bytes = kDefaultGuestMemory;
    uint64_t kernel_memory_bytes = 0;     // 0: the VMM's share for each guest
    char initrd[kMaxNameLength + 1] = {}; // empty: none
    char disk[kMaxNameLength + 1] = {};   // the block device's ramdisk module; empty: none
    ConsoleMode console = ConsoleMode::lines;
    Restart restart = Restart::no;
    char cmdline[kMaxGuestCmdline + 1] = {};
};

struct ConfigResult {
    bool ok = false;
    char message[kMaxConfigMessage] = {}; // why not, when !ok
};

// True when the line's first word is `guest`: the module is a guest kernel.
bool is_guest_line(const char* line);

// Parses `line` (NUL-terminated) into `out`; on refusal `out` holds what was read so far
// (its name, if that came first, for the message).
[[nodiscard]] ConfigResult parse_guest_config(const char* line, GuestConfig& out);

// "64M" and the like: decimal digits, then optionally K, M or G (powers of 1024). False for
// anything else, and for a value that does not fit 64 bits.
bool parse_size(const char* text, size_t length, uint64_t& out);

} // namespace vmm
