// What the paravirtual test guest's files share: counting checks, raw hypercalls, spare guest
// memory for rings, and waiting for a device's responses.
#pragma once

#include <stdint.h>

#include "l4/hypercall.hpp"
#include "l4/pv_device.hpp"

namespace pvtest {

namespace hc = l4::abi::hc;
namespace pv = hc::pv;
using hc::Call;
using hc::DeviceKind;
using hc::HcStatus;

// Counts a check; a failed one is printed with `got` (and the current context, when set).
void expect(bool ok, const char* what, uint64_t got = 0);
void expect_status(HcStatus got, HcStatus want, const char* what);

// Names what the following checks test, in their FAIL lines ("console", "block", ...).
void set_context(const char* context);

// A hypercall with `words` argument words as given: what a careless guest might send.
using l4::hc::raw_hypercall;

// Page-aligned, zeroed guest memory above the kernel image and initrd, never given back.
uint8_t* take_memory(uint64_t bytes);

// The device tests (pv_device_tests.cpp); `with_disk`: the guest's line has disk=;
// `with_peer`: frame_echo_guest.cpp is on the switch. True when the disk holds what an earlier run
// of this guest wrote: this run followed a reboot.
bool check_devices(bool with_disk, bool with_peer);

} // namespace pvtest
