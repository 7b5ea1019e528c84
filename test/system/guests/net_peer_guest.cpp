// Three guests on the virtual switch, by the role after `--` (scenario vmm-hostile-guest):
//
// - `echo` answers every tagged frame with an echo of it to its sender, until both of its
//   clients said quit.
// - `steady` sends kSteadyRounds frames to echo, one at a time, each waiting for its echo, and
//   counts every frame that is not the echo it waits for: it must see nothing of the hostile one.
// - `hostile` (with a disk= module: its marker survives a restart) exchanges a few frames with
//   echo, then turns hostile: bogus hypercalls, floods of hypercalls, doorbells and frames,
//   spoofed and malformed ring entries, a ring whose producer runs ahead, and at last a write
//   outside its memory. Restarted (restart=on-crash), it finds its marker on the disk and
//   behaves: a few more frames with echo, then it powers off.
//
// Each prints exact counts for the harness; a check that fails says FAIL.
#include "common/string.hpp"
#include "l4/guest_console.hpp"
#include "l4/pv_device.hpp"
#include "l4/quota.hpp"
#include "guest_checks.hpp"
#include "test_frames.hpp"

namespace {

namespace hc = l4::abi::hc;
namespace pv = hc::pv;
using hc::Call;
using hc::HcStatus;
using l4::hc::kMacBytes;

constexpr uint32_t kSteadyRounds = 400, kProgressEvery = 100, kHostilePings = 3;
constexpr uint64_t kResendNs = 20'000'000; // steady's first frame may come before echo attached
constexpr uint64_t kFloodCalls = 20000, kFloodFrames = 5000, kSpoofedFrames = 1000;
enum Kind : uint8_t { ping = 'P', echo_reply = 'E', quit = 'Q', announce = 'A' };

constexpr uint8_t kBroadcast[kMacBytes] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr uint8_t kEchoMac[kMacBytes] = {0x02, 0, 0, 0, 0, 'e'};
uint8_t my_mac[kMacBytes] = {0x02, 0, 0, 0, 0, 0};

l4::hc::NetDevice<32> net;
using guest_checks::expect;
using guest_checks::power_off;

bool same_mac(const uint8_t (&a)[kMacBytes], const uint8_t (&b)[kMacBytes]) { return memcmp(a, b, kMacBytes) == 0; }

// Sends ping `round` to echo and waits for its echo; frames that are not it are counted in
// `unexpected`. Sends again after kResendNs without an answer (counted in `resent`).
void ping_echo(uint32_t round, uint32_t& unexpected, uint32_t& resent)
{
    test_frames::send(net, kEchoMac, my_mac, ping, round);
    l4::hc::doorbell();
    for (;;) {
        test_frames::Tagged got;
        bool ours = false;
        while (test_frames::receive(net, got, ours)) {
            const bool from_echo = ours && got.kind == echo_reply && same_mac(got.from, kEchoMac);
            if (from_echo && got.number == round)
                return;
            if (from_echo && got.number < round && resent != 0)
                continue; // the answer to a frame sent again
            ++unexpected;
            l4::hc::println("unexpected frame: kind {:#x}, number {}, from {:#x}, in round {}", got.kind, got.number,
                            got.from[5], round);
        }
        if (!test_frames::wait(kResendNs)) {
            ++resent;
            test_frames::send(net, kEchoMac, my_mac, ping, round);
            l4::hc::doorbell();
        }
    }
}

void say_quit()
{
    test_frames::send(net, kEchoMac, my_mac, quit, 0);
    l4::hc::doorbell();
}

void steady()
{
    uint32_t unexpected = 0, resent = 0, resent_before_first = 0;
    for (uint32_t round = 1; round <= kSteadyRounds; ++round) {
        ping_echo(round, unexpected, resent);
        if (round == 1)
            resent_before_first = resent;
        if (round % kProgressEvery == 0)
            l4::hc::println("steady: {} echoes at {} ms", round, l4::hc::now_ns() / 1000000);
    }
    say_quit();
    l4::hc::println("steady: {} of {} echoes, {} unexpected frames, {} resent after the first ({} before)",
                    kSteadyRounds, kSteadyRounds, unexpected, resent - resent_before_first, resent_before_first);
    guest_checks::failed += unexpected;
    power_off();
}

void echo()
{
    // Said once, to nobody yet: the switch learns echo's address, so frames to it are not flooded.
    test_frames::send(net, kBroadcast, my_mac, announce, 0);
    l4::hc::doorbell();
    // Steady's pings between hostile's last ping of its first life and the first of its second:
    // steady's progress while hostile attacked, crashed and came back.
    uint32_t echoes = 0, quits = 0, strangers = 0, hostile_pings = 0, steady_meanwhile = 0;
    constexpr uint8_t kSteady = 's', kHostile = 'h';
    while (quits < 2) {
        test_frames::Tagged got;
        bool ours = false, answered = false;
        while (test_frames::receive(net, got, ours)) {
            if (ours && got.kind == ping) {
                test_frames::send(net, got.from, my_mac, echo_reply, got.number);
                answered = true;
                ++echoes;
                hostile_pings += got.from[5] == kHostile;
                steady_meanwhile += got.from[5] == kSteady && hostile_pings == kHostilePings;
            } else if (ours && got.kind == quit) {
                ++quits;
            } else {
                ++strangers;
            }
        }
        if (answered)
            l4::hc::doorbell();
        if (quits < 2)
            (void)l4::hc::yield(), (void)l4::hc::take_events();
    }
    l4::hc::println("echo: {} echoes sent, {} other frames, both clients said quit", echoes, strangers);
    l4::hc::println("echo: {} pings from steady came while hostile attacked, crashed and restarted", steady_meanwhile);
    guest_checks::failed += strangers;
    power_off();
}

// --- hostile ---------------------------------------------------------------------------------

// The marker the first life writes to sector 0 of its disk.
constexpr char kMarker[] = "the hostile guest was here";

alignas(pv::kRingAlignment) uint8_t block_ring_area[pv::ring_bytes(hc::DeviceKind::block, 4)];
alignas(4096) uint8_t sector[pv::kSectorBytes];
l4::hc::DeviceRing block;

// One block request, waited for; its response's status.
uint32_t block_io(pv::BlockOp op)
{
    const uint32_t count = op == pv::BlockOp::flush ? 0 : 1;
    (void)block.post(pv::queue::block,
                     pv::BlockRequest{1, static_cast<uint32_t>(op), 0, 0, count * uint32_t{pv::kSectorBytes}, count});
    l4::hc::doorbell();
    pv::Response r;
    while (!block.take_response(pv::queue::block, r))
        (void)l4::hc::yield(), (void)l4::hc::take_events();
    return r.status;
}

// True when the marker was on the disk; writes it there otherwise.
bool marked()
{
    block.init(hc::DeviceKind::block, block_ring_area, 4);
    const HcStatus attached =
        l4::hc::device_attach(hc::DeviceKind::block, block_ring_area, sizeof block_ring_area, sector, sizeof sector);
    expect(attached == HcStatus::ok, "attach the disk", static_cast<uint64_t>(attached));
    expect(block_io(pv::BlockOp::read) == 0, "read sector 0", 0);
    if (memcmp(sector, kMarker, sizeof kMarker) == 0)
        return true;
    memcpy(sector, kMarker, sizeof kMarker);
    expect(block_io(pv::BlockOp::write) == 0, "write the marker", 0);
    expect(block_io(pv::BlockOp::flush) == 0, "flush", 0);
    return false;
}

void pings_with_echo()
{
    uint32_t unexpected = 0, resent = 0;
    for (uint32_t round = 1; round <= kHostilePings; ++round)
        ping_echo(round, unexpected, resent);
    expect(unexpected == 0, "no unexpected frames", unexpected);
}

// Hypercalls no guest should make: each refused with the status of docs/hypercalls.md.
void bogus_hypercalls()
{
    const hc::StartInfo& info = l4::hc::start_info();
    const uint64_t end = info.memory_base + info.memory_size, attach = static_cast<uint64_t>(Call::device_attach);
    const uint64_t net_kind = static_cast<uint64_t>(hc::DeviceKind::net);
    const uint64_t console = static_cast<uint64_t>(hc::DeviceKind::console);
    const uint64_t ring = reinterpret_cast<uint64_t>(block_ring_area);
    struct Case {
        HcStatus got, want;
        const char* what;
    };
    const Case cases[] = {
        {l4::hc::raw_hypercall(0, 0), HcStatus::unknown_call, "call 0"},
        {l4::hc::raw_hypercall(uint64_t{1} << 40, 6, ~uint64_t{0}, ~uint64_t{0}), HcStatus::unknown_call, "call 2^40"},
        {l4::hc::raw_hypercall(static_cast<uint64_t>(Call::console_write), 1, 41), HcStatus::invalid_argument,
         "41 console bytes"},
        {l4::hc::raw_hypercall(static_cast<uint64_t>(Call::shutdown), 2, 7, 0), HcStatus::invalid_argument,
         "shutdown reason 7"},
        {l4::hc::raw_hypercall(static_cast<uint64_t>(Call::timer_set), 0), HcStatus::invalid_argument,
         "timer_set without words"},
        {l4::hc::raw_hypercall(attach, 5, net_kind, ring, 4096, end - 4096, 4096), HcStatus::busy,
         "the network attached twice"},
        {l4::hc::raw_hypercall(attach, 5, console, end, 4096, end - 8192, 4096), HcStatus::out_of_range,
         "a ring past the end"},
        {l4::hc::raw_hypercall(attach, 5, console, hc::kStartInfoAddress, 4096, end - 8192, 4096),
         HcStatus::out_of_range, "a ring on the start-info page"},
        {l4::hc::raw_hypercall(attach, 5, console, hc::kVcpuPageAddress, 4096, end - 8192, 4096),
         HcStatus::out_of_range, "a ring on the vCPU page"},
        {l4::hc::raw_hypercall(attach, 5, console, end - 8192, 4096, ~uint64_t{0} - 100, 4096), HcStatus::out_of_range,
         "a data area wrapping 2^64"},
        {l4::hc::raw_hypercall(attach, 5, console, 0x1000, 4096, end - 8192, 4096), HcStatus::out_of_range,
         "a ring below guest memory"},
        {l4::hc::raw_hypercall(attach, 5, 9, end - 8192, 4096, end - 4096, 4096), HcStatus::invalid_argument,
         "device kind 9"},
        {l4::hc::raw_hypercall(attach, 4, console, end - 8192, 4096, end - 4096), HcStatus::invalid_argument,
         "four words"},
    };
    for (const Case& c : cases)
        expect(c.got == c.want, c.what, static_cast<uint64_t>(c.got));
    l4::hc::println("hostile: {} bogus hypercalls, each refused as documented", sizeof cases / sizeof cases[0]);
}

void floods()
{
    for (uint64_t i = 0; i < kFloodCalls; ++i) {
        uint64_t version = 0, features = 0;
        (void)l4::hc::version(version, features);
        l4::hc::doorbell();
    }
    // Frames to itself go nowhere; frames from echo's address are dropped as spoofed.
    for (uint64_t i = 0; i < kFloodFrames; ++i)
        test_frames::send(net, my_mac, my_mac, ping, static_cast<uint32_t>(i), pv::kFrameMaxBytes);
    for (uint64_t i = 0; i < kSpoofedFrames; ++i)
        test_frames::send(net, kEchoMac, kEchoMac, echo_reply, static_cast<uint32_t>(i));
    l4::hc::doorbell();
    l4::hc::println("hostile: flooded {} hypercalls, {} doorbells, {} frames to itself, {} spoofed as echo",
                    kFloodCalls, kFloodCalls, kFloodFrames, kSpoofedFrames);
}

// Transmit entries the switch must answer with an error: each status checked.
void malformed_entries()
{
    l4::hc::DeviceRing& ring = net.ring();
    for (;;) {                // the flood's answers first
        (void)net.tx_frame(); // takes the answers that came
        if (ring.in_flight(pv::queue::net_tx) == 0)
            break;
        l4::hc::doorbell();
        (void)test_frames::wait(1'000'000);
    }
    struct Case {
        pv::BufferRequest request;
        pv::Status want;
        const char* what;
    };
    const uint64_t past = net.data_bytes();
    const Case cases[] = {
        {{1, 0, past, 64, 0}, pv::Status::bad_buffer, "a frame past the data area"},
        {{2, 0, past - 32, 64, 0}, pv::Status::bad_buffer, "a frame across the data area's end"},
        {{3, 0, ~uint64_t{0} - 8, 64, 0}, pv::Status::bad_buffer, "an offset wrapping 2^64"},
        {{4, 0, 32 * 2048, 0, 0}, pv::Status::bad_length, "an empty frame"},
        {{5, 0, 32 * 2048, 13, 0}, pv::Status::bad_length, "13 bytes"},
        {{6, 0, 32 * 2048, 2048, 0}, pv::Status::bad_length, "2048 bytes"},
    };
    for (const Case& c : cases) {
        (void)ring.post(pv::queue::net_tx, c.request);
        l4::hc::doorbell();
        pv::Response r{};
        while (!ring.take_response(pv::queue::net_tx, r))
            (void)test_frames::wait(1'000'000);
        expect(r.id == c.request.id && r.status == static_cast<uint32_t>(c.want), c.what, r.status);
    }
    l4::hc::println("hostile: {} malformed transmit entries, each answered as documented",
                    sizeof cases / sizeof cases[0]);
}

// Kernel memory: a chain of factories, each given all its parent can give, the last one then
// filled with tasks until its quota is gone. The VMM must get every byte back when it stops us.
void exhaust_quota()
{
    constexpr l4::Selector kScratch = hc::kFirstGuestSelector, kChain = kScratch + 1, kDepth = 16;
    constexpr l4::Selector kSlots = 64; // the task the VMM made us has this many
    l4::Selector parent = static_cast<l4::Selector>(l4::hc::start_info().factory_selector);
    uint32_t depth = 0, tasks = 0;
    for (l4::Selector slot = kChain; slot < kChain + kDepth; ++slot, ++depth) {
        const uint64_t free = l4::factory_free_bytes(parent, kScratch);
        if (l4::factory_create(parent, l4::abi::ObjectKind::factory, slot, free) != l4::Error::ok)
            break;
        parent = slot;
    }
    l4::Error e = l4::Error::ok;
    for (l4::Selector slot = kChain + kDepth; slot < kSlots && e == l4::Error::ok; ++slot) {
        e = l4::factory_create(parent, l4::abi::ObjectKind::task, slot, l4::abi::kMaxTaskSlots);
        tasks += e == l4::Error::ok;
    }
    expect(depth == kDepth, "a chain of 16 factories", depth);
    expect(e == l4::Error::quota_exhausted, "the last factory emptied", static_cast<uint64_t>(e));
    l4::hc::println("hostile: a chain of {} factories, the last one emptied by {} tasks ({} bytes left)", depth, tasks,
                    l4::factory_free_bytes(parent, kScratch));
}

[[noreturn]] void break_ring_and_crash()
{
    pv::QueueIndices& tx = net.ring().header().queues[pv::queue::net_tx];
    const uint32_t producer = tx.request_producer + 1000;
    __atomic_store_n(&tx.request_producer, producer, __ATOMIC_RELEASE);
    l4::hc::doorbell();
    l4::hc::println("hostile: my transmit producer now runs ahead, at {}; now a write outside my memory", producer);
    const hc::StartInfo& info = l4::hc::start_info();
    *reinterpret_cast<volatile uint64_t*>(info.memory_base + info.memory_size + 0x10000) = 1;
    l4::hc::println("hostile: FAIL the write outside my memory went through");
    power_off();
}

void hostile()
{
    if (marked()) {
        l4::hc::println("hostile: back after a restart (my marker is on the disk), behaving");
        pings_with_echo();
        say_quit();
        l4::hc::println("hostile: {} echoes from echo again, {} checks wrong", kHostilePings, guest_checks::failed);
        power_off();
    }
    pings_with_echo();
    l4::hc::println("hostile: {} echoes from echo, turning hostile", kHostilePings);
    bogus_hypercalls();
    floods();
    malformed_entries();
    exhaust_quota();
    break_ring_and_crash();
}

} // namespace

// The vCPU starts in crt0.S with rsp at the top of guest memory.
extern "C" [[noreturn]] void l4_start()
{
    const hc::StartInfo& info = l4::hc::start_info();
    my_mac[5] = static_cast<uint8_t>(info.cmdline[0]);
    const HcStatus attached = net.attach();
    expect(attached == HcStatus::ok, "attach the network", static_cast<uint64_t>(attached));
    l4::hc::enable_sources(uint64_t{1} << hc::source::timer | uint64_t{1} << hc::source::net |
                           uint64_t{1} << hc::source::block);
    if (memcmp(info.cmdline, "echo", sizeof "echo") == 0)
        echo();
    else if (memcmp(info.cmdline, "steady", sizeof "steady") == 0)
        steady();
    else
        hostile();
    power_off();
}
