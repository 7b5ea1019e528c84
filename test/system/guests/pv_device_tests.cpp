// The paravirtual devices driven through their rings, good requests and bad, every response
// checked exactly (docs/hypercalls.md, "Rings" and "Virtual switch").
#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "pv_devices.hpp"

namespace pvtest {

namespace {

using pv::Status;

// Room for more requests than the VMM serves a queue in one pass (64).
constexpr uint32_t kConsoleEntries = 128, kBeyondBudget = 100;
// The most a queue may have: attach takes it.
constexpr uint32_t kBlockEntries = pv::kMaxEntries;
// Indices that wrap at 2^32 in the middle of the tests.
constexpr uint32_t kConsoleFirstIndex = 0xffff'fffa, kBlockFirstIndex = 0xffff'ffff;
constexpr uint32_t kNetFirstIndex = 0x8000'0000;
// The index the broken-ring test sets: the harness finds it in the VMM's report.
constexpr uint32_t kBrokenProducer = 1'000'000;

constexpr uint64_t kConsoleDataBytes = 4096, kNetDataBytes = 8192;
constexpr uint64_t kBlockDataBytes = 16 * pv::kSectorBytes;
constexpr uint64_t kDiskSectors = 10; // the harness's disk module: 5120 bytes
constexpr uint64_t kDiskBytes = kDiskSectors * pv::kSectorBytes;

// Copies `text` into the data area at `offset`: a request for it.
pv::BufferRequest text_at(Device& console, uint64_t offset, const char* text)
{
    const size_t length = strlen(text);
    memcpy(console.data + offset, text, length);
    return buffer(offset, length);
}

void check_console(Device& console)
{
    set_context("console ring");
    Exchange out(console, pv::queue::console_output);
    const uint64_t end = console.data_bytes;
    // One line in two requests: the harness sees it whole.
    out.post(text_at(console, 0, "pv-test: through the "), Status::ok, 0, "text");
    out.post(text_at(console, 1000, "console ring: ok\n"), Status::ok, 0, "the rest of the line");
    out.post(buffer(0, 0), Status::ok, 0, "no text");
    out.post(buffer(end, 0), Status::ok, 0, "no text, at the end of the data area");
    out.post(buffer(end, 1), Status::bad_buffer, 0, "a byte past the data area");
    out.post(buffer(end - 10, 11), Status::bad_buffer, 0, "text across the end of the data area");
    out.post(buffer(~uint64_t{0} - 1, 4), Status::bad_buffer, 0, "an offset + length that wraps 2^64");
    out.post(buffer(0, 0xffff'ffff), Status::bad_buffer, 0, "2^32 - 1 bytes");
    out.post(buffer(uint64_t{1} << 40, 1), Status::bad_buffer, 0, "an offset of 2^40");
    out.post(text_at(console, 2000, "pv-test: the console ring after bad requests: ok\n"), Status::ok, 0,
             "text after bad requests");
    // Control bytes show as '?', a carriage return is dropped, and a line longer than the VMM's
    // 160 bytes comes in pieces (the harness checks the lines).
    out.post(text_at(console, 2100, "pv-test: escapes \x1b[2J\x07 show as ?, a CR goes\r\n"), Status::ok, 0,
             "control bytes");
    memset(console.data + 2200, 'x', 170);
    console.data[2200 + 170] = '\n';
    out.post(buffer(2200, 171), Status::ok, 0, "a line of 170 bytes");
    out.finish();
    // The VMM read entries once and keeps its response producer to itself: scribbling on the
    // guest's copies changes nothing it does. (The guest's driver looks at the response producer
    // only once the VMM has surely rewritten it.)
    pv::RingHeader& header = console.ring.header();
    const uint32_t entries = header.entries;
    header.entries = 1;
    __atomic_store_n(&header.queues[pv::queue::console_output].response_producer, 0xdead'beef, __ATOMIC_RELEASE);
    out.post(buffer(0, 0), Status::ok, 0, "no text, after the guest rewrote entries and the response producer");
    out.post(buffer(end, 1), Status::bad_buffer, 0, "a byte past the data area, after the rewrite");
    out.finish(0, kSilenceNs);
    header.entries = entries;
}

// More requests after one doorbell than the VMM serves a queue in a pass: it serves the rest in
// the rounds after, without another doorbell, in order.
void check_console_budget(Device& console)
{
    set_context("console ring budget");
    uint32_t first_id = 0, posted = 0;
    for (uint32_t i = 0; i < kBeyondBudget; ++i) {
        pv::BufferRequest no_text = buffer(0, 0);
        no_text.id = Exchange::take_id();
        first_id = i == 0 ? no_text.id : first_id;
        posted += console.ring.post(pv::queue::console_output, no_text);
    }
    expect(posted == kBeyondBudget, "requests posted", posted);
    l4::hc::doorbell();
    uint32_t in_order = 0;
    pv::Response response{};
    while (in_order < posted && next_response(console, pv::queue::console_output, response, kResponseWaitNs)) {
        if (response.id != first_id + in_order || response.status != 0 || response.length != 0)
            break;
        ++in_order;
    }
    expect(in_order == kBeyondBudget, "more than a budget's requests after one doorbell, all answered in order",
           in_order);
}

// Unmasked, a response raises the device's source and signals the event notification with its
// bit; masked, it only sets pending, which the unmask then reports (docs/hypercalls.md, "The
// vCPU page and events"). The guest ran masked so far (check_memory) and goes on masked.
void check_device_events(Device& console)
{
    set_context("device events");
    constexpr uint64_t kConsoleBit = uint64_t{1} << hc::source::console;
    constexpr uint64_t kWaitTicks = 50;
    (void)l4::hc::timer_set(0); // no timer event in between
    (void)l4::hc::take_events();
    uint64_t bits = ~uint64_t{0};
    expect(l4::notify_poll(hc::kEventSelector, bits) == l4::Error::ok && bits == 0,
           "masked so far: the event notification was never signalled", bits);
    expect(!l4::hc::unmask_events(), "unmasked, nothing pending");
    pv::BufferRequest no_text = buffer(0, 0);
    no_text.id = Exchange::take_id();
    expect(console.ring.post(pv::queue::console_output, no_text), "a request posted");
    l4::hc::doorbell();
    bits = 0;
    const l4::Error waited = l4::notify_wait(hc::kEventSelector, bits, kWaitTicks);
    expect(waited == l4::Error::ok && bits == kConsoleBit, "unmasked: the console's bit signalled", bits);
    expect(l4::hc::take_events() == kConsoleBit, "unmasked: the console source pending");
    pv::Response response{};
    expect(console.ring.take_response(pv::queue::console_output, response) && response.id == no_text.id &&
               response.status == 0,
           "unmasked: the response is there when the signal comes", response.status);
    l4::hc::mask_events();
    Exchange out(console, pv::queue::console_output);
    out.post(buffer(0, 0), Status::ok, 0, "masked: a request answered");
    out.finish();
    bits = ~uint64_t{0};
    expect(l4::notify_poll(hc::kEventSelector, bits) == l4::Error::ok && bits == 0, "masked: no signal", bits);
    expect(l4::hc::vcpu().pending == 1, "masked: pending set", l4::hc::vcpu().pending);
    expect(l4::hc::unmask_events(), "the unmask sees what came while masked");
    l4::hc::mask_events();
    expect(l4::hc::take_events() == kConsoleBit, "masked: the console source pending");
}

// A producer index more than a ring ahead breaks the queue: the VMM reports it once and serves
// it no more, not the good request posted after either; the guest's hypercalls go on.
template <class Request>
void check_broken(Device& device, uint32_t queue, const Request& good)
{
    pv::QueueIndices& indices = device.ring.header().queues[queue];
    const uint32_t answered = __atomic_load_n(&indices.response_producer, __ATOMIC_ACQUIRE);
    const uint32_t producer = indices.request_producer;
    __atomic_store_n(&indices.request_producer, kBrokenProducer, __ATOMIC_RELEASE);
    l4::hc::doorbell();
    pv::Response response{};
    expect(!next_response(device, queue, response, kSilenceNs), "a producer ahead of the ring: no response",
           response.id);
    __atomic_store_n(&indices.request_producer, producer, __ATOMIC_RELEASE);
    expect(device.ring.post(queue, good), "a request after the break");
    l4::hc::doorbell();
    l4::hc::doorbell();
    expect(!next_response(device, queue, response, kSilenceNs), "a broken ring: no response to a good request",
           response.id);
    expect(__atomic_load_n(&indices.response_producer, __ATOMIC_ACQUIRE) == answered,
           "a broken ring: its response producer stands still", indices.response_producer);
    uint64_t version = 0, features = 0;
    expect_status(l4::hc::version(version, features), HcStatus::ok, "hypercalls after the broken ring");
}

void check_broken_console(Device& console)
{
    set_context("broken console ring");
    // Were it served, the harness would see the FAIL.
    check_broken(console, pv::queue::console_output,
                 text_at(console, 0, "pv-test: FAIL: a broken console ring was served\n"));
}

pv::BlockRequest block(pv::BlockOp op, uint64_t sector, uint64_t offset, uint32_t count)
{
    return pv::BlockRequest{
        0, static_cast<uint32_t>(op), sector, offset, static_cast<uint32_t>(count * pv::kSectorBytes), count};
}

pv::BlockRequest odd_block(uint32_t op, uint64_t sector, uint32_t length, uint32_t count)
{
    return pv::BlockRequest{0, op, sector, 0, length, count};
}

uint64_t load_u64(const uint8_t* bytes)
{
    uint64_t value;
    memcpy(&value, bytes, sizeof value);
    return value;
}

// Where each transfer goes in the block device's data area.
namespace at {
constexpr uint64_t size = 0, size_long = 8, whole_disk = 512;
constexpr uint64_t odd = whole_disk + kDiskBytes + 1; // no alignment asked
constexpr uint64_t write_source = 13 * pv::kSectorBytes, read_back = 14 * pv::kSectorBytes;
} // namespace at

// What check_block_write writes to the last sector.
uint8_t written_byte(uint64_t i) { return static_cast<uint8_t>(0xa5 ^ i); }

bool holds_written_sector(const uint8_t* sector)
{
    uint64_t differ = 0;
    for (uint64_t i = 0; i < pv::kSectorBytes; ++i)
        differ += sector[i] != written_byte(i);
    return differ == 0;
}

// The disk's size and contents: the harness's module pattern, each byte 7 more than the last,
// except the last sector when an earlier run wrote it (a ramdisk keeps writes across a restart).
// Returns whether one did.
bool check_block_reads(Device& disk, Exchange& requests)
{
    using pv::BlockOp;
    requests.post(odd_block(uint32_t(BlockOp::size), 0, 8, 0), Status::ok, 8, "size");
    pv::BlockRequest size_long = odd_block(uint32_t(BlockOp::size), 0, 16, 0);
    size_long.offset = at::size_long;
    requests.post(size_long, Status::ok, 8, "size into 16 bytes");
    requests.post(odd_block(uint32_t(BlockOp::size), 0, 7, 0), Status::bad_length, 0, "size into 7 bytes");
    requests.post(block(BlockOp::read, 0, at::whole_disk, kDiskSectors), Status::ok, kDiskBytes, "read the disk");
    requests.post(block(BlockOp::read, 3, at::odd, 1), Status::ok, pv::kSectorBytes, "read to an odd offset");
    requests.finish();
    const uint64_t sectors = load_u64(disk.data + at::size);
    expect(sectors == kDiskSectors, "size: the module's sectors", sectors);
    expect(load_u64(disk.data + at::size_long) == kDiskSectors, "size into 16 bytes: the module's sectors");
    const uint8_t* bytes = disk.data + at::whole_disk;
    const uint8_t* last = bytes + kDiskBytes - pv::kSectorBytes;
    const bool written_before = holds_written_sector(last);
    const uint64_t pattern_bytes = written_before ? kDiskBytes - pv::kSectorBytes : kDiskBytes;
    uint64_t sum = 0, off_pattern = 0;
    for (uint64_t i = 0; i < pattern_bytes; ++i) {
        sum += bytes[i];
        off_pattern += bytes[i] != static_cast<uint8_t>(bytes[0] + 7 * i);
    }
    expect(off_pattern == 0, "read: every byte 7 more than the one before", off_pattern);
    l4::hc::println("pv-test: disk of {} sectors, first byte {}, byte sum {} of {} bytes, the last sector {}", sectors,
                    bytes[0], sum, pattern_bytes, written_before ? "as an earlier run wrote it" : "new");
    expect(memcmp(disk.data + at::odd, bytes + 3 * pv::kSectorBytes, pv::kSectorBytes) == 0,
           "read to an odd offset: sector 3");
    return written_before;
}

void check_block_write(Device& disk, Exchange& requests)
{
    using pv::BlockOp;
    for (uint64_t i = 0; i < pv::kSectorBytes; ++i)
        disk.data[at::write_source + i] = written_byte(i);
    requests.post(block(BlockOp::write, 9, at::write_source, 1), Status::ok, 0, "write the last sector");
    requests.post(block(BlockOp::read, 9, at::read_back, 1), Status::ok, pv::kSectorBytes, "read it back");
    requests.post(odd_block(uint32_t(BlockOp::flush), 0, 0, 0), Status::ok, 0, "flush");
    requests.post(odd_block(uint32_t(BlockOp::flush), 0, 512, 1), Status::bad_length, 0, "flush of a sector");
    requests.post(odd_block(uint32_t(BlockOp::flush), 0, 0, 1), Status::bad_length, 0, "flush with a count");
    requests.finish();
    expect(memcmp(disk.data + at::read_back, disk.data + at::write_source, pv::kSectorBytes) == 0,
           "read back: what was written");
}

void check_block_refusals(Device& disk, Exchange& requests)
{
    using pv::BlockOp;
    const uint64_t end = disk.data_bytes;
    requests.post(block(BlockOp::read, kDiskSectors, 0, 1), Status::bad_sector, 0, "read the sector past the end");
    requests.post(block(BlockOp::read, kDiskSectors - 1, 0, 2), Status::bad_sector, 0, "read across the end");
    requests.post(block(BlockOp::read, ~uint64_t{0}, 0, 2), Status::bad_sector, 0, "read sectors that wrap 2^64");
    requests.post(block(BlockOp::read, 0, 0, kDiskSectors + 1), Status::bad_sector, 0, "read more than the disk");
    requests.post(block(BlockOp::write, kDiskSectors, at::write_source, 1), Status::bad_sector, 0,
                  "write past the end");
    requests.post(odd_block(uint32_t(BlockOp::read), 0, 500, 1), Status::bad_length, 0, "read 500 bytes");
    requests.post(odd_block(uint32_t(BlockOp::read), 0, 1024, 1), Status::bad_length, 0, "read 1024 bytes, 1 sector");
    requests.post(odd_block(uint32_t(BlockOp::read), 0, 0, 0), Status::bad_length, 0, "read 0 sectors");
    // count * 512 = 2^32: a 32-bit product would make it 0, as the length says.
    requests.post(odd_block(uint32_t(BlockOp::read), 0, 0, 0x80'0000), Status::bad_length, 0, "read 2^23 sectors");
    requests.post(block(BlockOp::read, 0, 0, uint32_t(end / pv::kSectorBytes + 1)), Status::bad_buffer, 0,
                  "read more than the data area");
    requests.post(block(BlockOp::read, 0, end - pv::kSectorBytes + 1, 1), Status::bad_buffer, 0,
                  "read a byte past the data area");
    requests.post(odd_block(0, 0, 512, 1), Status::bad_op, 0, "operation 0");
    requests.post(odd_block(5, 0, 512, 1), Status::bad_op, 0, "operation 5");
    requests.post(odd_block(~uint32_t{0}, 0, 512, 1), Status::bad_op, 0, "operation 2^32 - 1");
    requests.finish();
    // The refusals wrote nothing: the last sector is still what was written.
    memset(disk.data + at::read_back, 0, pv::kSectorBytes);
    requests.post(block(BlockOp::read, 9, at::read_back, 1), Status::ok, pv::kSectorBytes, "read the last sector");
    requests.finish();
    expect(memcmp(disk.data + at::read_back, disk.data + at::write_source, pv::kSectorBytes) == 0,
           "the refused write changed nothing");
}

bool check_block(Device& disk)
{
    set_context("block");
    Exchange requests(disk, pv::queue::block);
    const bool written_before = check_block_reads(disk, requests);
    check_block_write(disk, requests);
    check_block_refusals(disk, requests);
    set_context("broken block ring");
    check_broken(disk, pv::queue::block, block(pv::BlockOp::read, 0, 0, 1));
    return written_before;
}

constexpr uint8_t kNobodysMac[6] = {0x02, 0, 0, 0, 0x70, 0x99};
constexpr uint8_t kGroupMac[6] = {0x01, 0x00, 0x5e, 0, 0, 0x01};

// The frame posted before the attach is served like any other once the doorbell rings: the
// queue starts at the response producer init left, not at the request producer.
void check_posted_before_attach(Device& net)
{
    const pv::QueueIndices& tx = net.ring.header().queues[pv::queue::net_tx];
    expect(tx.response_producer + 1 == tx.request_producer,
           "a frame before the attach: not answered before the doorbell", tx.response_producer);
    l4::hc::doorbell();
    sleep_until(l4::hc::now_ns() + kSilenceNs);
    pv::Response answered{};
    expect(net.ring.take_response(pv::queue::net_tx, answered) && answered.status == 0 && answered.length == 0 &&
               tx.response_producer == tx.request_producer,
           "a frame posted before the attach: answered after the doorbell", answered.status);
}

void check_net(Device& net)
{
    set_context("net");
    Exchange tx(net, pv::queue::net_tx);
    tx.post(frame(net, 0, kNobodysMac, kOwnMac, 60), Status::ok, 0, "a frame to a MAC nobody has (dropped)");
    tx.post(frame(net, 64, kBroadcastMac, kOwnMac, 60), Status::ok, 0, "a broadcast");
    tx.post(frame(net, 128, kNobodysMac, kOwnMac, pv::kFrameMinBytes), Status::ok, 0, "a frame of 14 bytes");
    tx.post(frame(net, 2048, kNobodysMac, kOwnMac, pv::kFrameMaxBytes), Status::ok, 0, "a frame of 1514 bytes");
    tx.post(frame(net, 192, kNobodysMac, kOwnMac, pv::kFrameMinBytes - 1), Status::bad_length, 0,
            "a frame of 13 bytes");
    tx.post(frame(net, 256, kNobodysMac, kOwnMac, 0), Status::bad_length, 0, "a frame of 0 bytes");
    tx.post(frame(net, 4096, kNobodysMac, kOwnMac, pv::kFrameMaxBytes + 1), Status::bad_length, 0,
            "a frame of 1515 bytes");
    tx.post(frame(net, 320, kNobodysMac, kGroupMac, 60), Status::ok, 0, "a frame from a group MAC (dropped)");
    tx.finish();
    // A bad entry ends the port's turn for the pass: it goes alone, and the port works on.
    tx.post(buffer(net.data_bytes - 10, 60), Status::bad_buffer, 0, "a frame across the end of the data area");
    tx.finish();
    tx.post(frame(net, 0, kNobodysMac, kOwnMac, 60), Status::ok, 0, "a frame after the bad one");
    tx.finish();
    // Bits a guest adds to its doorbell (the serial line's, other guests') make the VMM look for nothing.
    tx.post(frame(net, 0, kNobodysMac, kOwnMac, 60), Status::ok, 0, "a frame, the doorbell with every bit");
    tx.finish(~uint64_t{0});
}

} // namespace

bool check_devices(bool with_disk, bool with_peer)
{
    namespace source = hc::source;
    l4::hc::enable_sources(uint64_t{1} << source::timer | uint64_t{1} << source::console |
                           uint64_t{1} << source::block | uint64_t{1} << source::net);
    Device console = make_device(DeviceKind::console, kConsoleDataBytes, kConsoleFirstIndex, kConsoleEntries);
    Device disk = make_device(DeviceKind::block, kBlockDataBytes, kBlockFirstIndex, kBlockEntries);
    Device net = make_device(DeviceKind::net, kNetDataBytes, kNetFirstIndex);
    set_context("attach");
    check_unknown_kinds(console);
    set_context("attach console");
    check_attach(console);
    set_context("attach block");
    check_attach(disk, with_disk);
    set_context("attach net");
    // A frame posted before the attach: served once the doorbell rings.
    expect(net.ring.post(pv::queue::net_tx, frame(net, 0, kBroadcastMac, kOwnMac, 60)), "a frame before the attach");
    check_attach(net);
    check_posted_before_attach(net);
    check_console(console);
    check_console_budget(console);
    check_device_events(console);
    check_net(net);
    if (with_peer)
        check_peer(net);
    check_broken_console(console);
    const bool rerun = with_disk && check_block(disk);
    set_context(nullptr);
    return rerun;
}

} // namespace pvtest
