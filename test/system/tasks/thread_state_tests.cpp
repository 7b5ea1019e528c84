// The thread state a guest kernel needs besides the general registers: the FS base in
// exception IPC and read/write_registers, the FPU/SSE image (read_fpu, write_fpu), and time
// (the boot information's clock fields, rdtsc in user mode). Selectors 700-719.
#include "helpers.hpp"
#include "l4/abi/boot_info.hpp"

using namespace kt;

namespace {

constexpr Selector kVictim = 700, kEndpoint = 710, kCopy = 711, kSleep = 712;
constexpr Selector kEmpty = 719;

using Tag = abi::MessageTag;
namespace layout = abi::fpu_image;

constexpr uint64_t kXmmCount = 16;
constexpr uint32_t kDefaultMxcsr = 0x1f80; // all SSE exceptions masked, round to nearest

struct FsBlock {
    uint64_t magic;
};
FsBlock fs_first = {0xf5f1257}, fs_second = {0xf55ec0d};

uint64_t address(const void* p) { return reinterpret_cast<uint64_t>(p); }

} // namespace

// The victims. kt_ts_fs faults with ud2, then publishes %fs:0. kt_ts_xmm loads xmm0..15 from
// kt_ts_xmm_in, faults with ud2, then stores them to kt_ts_xmm_out. Both end by publishing
// done and exiting.
extern "C" {
extern char kt_ts_fs[], kt_ts_fs_after[], kt_ts_xmm[], kt_ts_xmm_at[], kt_ts_xmm_after[];
alignas(16) uint64_t kt_ts_xmm_in[2 * kXmmCount];
alignas(16) volatile uint64_t kt_ts_xmm_out[2 * kXmmCount];
volatile uint64_t kt_ts_done, kt_ts_fs_value;
[[noreturn]] void kt_ts_exit() { l4::thread_exit(); }
}
asm(R"(
    .text
kt_ts_fs:
    ud2
kt_ts_fs_after:
    mov %fs:0, %rax
    mov %rax, kt_ts_fs_value(%rip)
    jmp kt_ts_finish

kt_ts_xmm:
    lea kt_ts_xmm_in(%rip), %rax
    movdqa 0x00(%rax), %xmm0
    movdqa 0x10(%rax), %xmm1
    movdqa 0x20(%rax), %xmm2
    movdqa 0x30(%rax), %xmm3
    movdqa 0x40(%rax), %xmm4
    movdqa 0x50(%rax), %xmm5
    movdqa 0x60(%rax), %xmm6
    movdqa 0x70(%rax), %xmm7
    movdqa 0x80(%rax), %xmm8
    movdqa 0x90(%rax), %xmm9
    movdqa 0xa0(%rax), %xmm10
    movdqa 0xb0(%rax), %xmm11
    movdqa 0xc0(%rax), %xmm12
    movdqa 0xd0(%rax), %xmm13
    movdqa 0xe0(%rax), %xmm14
    movdqa 0xf0(%rax), %xmm15
kt_ts_xmm_at:
    ud2
kt_ts_xmm_after:
    lea kt_ts_xmm_out(%rip), %rax
    movdqa %xmm0, 0x00(%rax)
    movdqa %xmm1, 0x10(%rax)
    movdqa %xmm2, 0x20(%rax)
    movdqa %xmm3, 0x30(%rax)
    movdqa %xmm4, 0x40(%rax)
    movdqa %xmm5, 0x50(%rax)
    movdqa %xmm6, 0x60(%rax)
    movdqa %xmm7, 0x70(%rax)
    movdqa %xmm8, 0x80(%rax)
    movdqa %xmm9, 0x90(%rax)
    movdqa %xmm10, 0xa0(%rax)
    movdqa %xmm11, 0xb0(%rax)
    movdqa %xmm12, 0xc0(%rax)
    movdqa %xmm13, 0xd0(%rax)
    movdqa %xmm14, 0xe0(%rax)
    movdqa %xmm15, 0xf0(%rax)

kt_ts_finish:
    movq $1, kt_ts_done(%rip)
    and $-16, %rsp
    call kt_ts_exit
)");

namespace {

// The two 64-bit halves of xmm `i` in an image.
uint64_t xmm_half(const l4::FpuImage& image, uint64_t i, uint64_t half)
{
    uint64_t v;
    __builtin_memcpy(&v, &image.bytes[layout::kXmm0 + layout::kRegisterStride * i + 8 * half], sizeof v);
    return v;
}

void set_xmm_half(l4::FpuImage& image, uint64_t i, uint64_t half, uint64_t v)
{
    __builtin_memcpy(&image.bytes[layout::kXmm0 + layout::kRegisterStride * i + 8 * half], &v, sizeof v);
}

uint32_t mxcsr_of(const l4::FpuImage& image)
{
    uint32_t v;
    __builtin_memcpy(&v, &image.bytes[layout::kMxcsr], sizeof v);
    return v;
}

void set_mxcsr(l4::FpuImage& image, uint32_t v) { __builtin_memcpy(&image.bytes[layout::kMxcsr], &v, sizeof v); }

// Distinct values for every half of every register, one pattern per `seed`.
uint64_t pattern(uint64_t seed, uint64_t i, uint64_t half)
{
    return seed * 0x0101010101010101 ^ (i << 56 | half << 48 | (i * 2 + half + 1) * 0x1111);
}

// Expects every xmm half of `image` to be pattern `seed`; false at the first mismatch.
bool xmm_match(const l4::FpuImage& image, uint64_t seed)
{
    for (uint64_t i = 0; i < kXmmCount; ++i)
        for (uint64_t half = 0; half < 2; ++half)
            KREQUIRE_EQ_OR(xmm_half(image, i, half), pattern(seed, i, half), false);
    return true;
}

bool xmm_out_match(uint64_t seed)
{
    for (uint64_t i = 0; i < 2 * kXmmCount; ++i)
        KREQUIRE_EQ_OR(kt_ts_xmm_out[i], pattern(seed, i / 2, i % 2), false);
    return true;
}

// A victim at `code` with kEndpoint as its exception handler (and `fs_base` set), and its
// first exception received: the state in `s`. False after a failed check.
bool victim_faulted(const char* code, uint64_t fs_base, abi::ExceptionState& s, l4::Message& m)
{
    kt_ts_done = 0;
    kt_ts_fs_value = 0;
    for (volatile uint64_t& w : kt_ts_xmm_out)
        w = 0;
    KREQUIRE_EQ_OR(make(kEndpoint, ObjectKind::endpoint), Error::ok, false);
    KREQUIRE_EQ_OR(create_thread(kVictim), Error::ok, false);
    KREQUIRE_EQ_OR(l4::thread_control(kVictim, ThreadOp::set_exception_handler, kEndpoint), Error::ok, false);
    KREQUIRE_EQ_OR(l4::thread_control(kVictim, ThreadOp::set_fs_base, fs_base), Error::ok, false);
    KREQUIRE_EQ_OR(start_thread(kVictim, reinterpret_cast<ThreadBody>(const_cast<char*>(code))), Error::ok, false);
    KREQUIRE_EQ_OR(receive_polled(kEndpoint, m), Error::ok, false);
    KREQUIRE_EQ_OR(m.tag.label(), abi::label::exception, false);
    gather_words(m);
    s = utcb_state();
    return true;
}

// The xmm victim, loaded with pattern `seed`, stopped at its ud2.
bool xmm_victim_faulted(uint64_t seed, abi::ExceptionState& s)
{
    for (uint64_t i = 0; i < 2 * kXmmCount; ++i)
        kt_ts_xmm_in[i] = pattern(seed, i / 2, i % 2);
    l4::Message m;
    if (!victim_faulted(kt_ts_xmm, 0, s, m))
        return false;
    KREQUIRE_EQ_OR(s.rip, address(kt_ts_xmm_at), false);
    return true;
}

Error reply_registers(const abi::ExceptionState& s)
{
    utcb_state() = s;
    l4::Message r;
    r.tag = Tag::make(abi::reply_label::resume_with_registers, abi::kExceptionWords);
    scatter_words(r);
    return l4::reply(r);
}

// Resumes the xmm victim after its ud2 and waits until it has stored its registers.
bool xmm_victim_finished(abi::ExceptionState s)
{
    s.rip = address(kt_ts_xmm_after);
    KREQUIRE_EQ_OR(reply_registers(s), Error::ok, false);
    KREQUIRE_EQ_OR(wait_flag(kt_ts_done), true, false);
    return true;
}

// One case's xmm victim, loaded with pattern `seed`, stopped at its ud2, its image read;
// `ok` is false after a failed check (the case then ends).
struct XmmVictim {
    abi::ExceptionState s{};
    l4::FpuImage image{};
    bool ok;

    explicit XmmVictim(uint64_t seed) : ok(xmm_victim_faulted(seed, s) && read()) {}

    bool read()
    {
        KREQUIRE_EQ_OR(l4::read_fpu(kVictim, image), Error::ok, false);
        return true;
    }

    // Lets it run on; it must then hold pattern `seed`.
    void finish(uint64_t seed)
    {
        if (xmm_victim_finished(s))
            KEXPECT_EQ(xmm_out_match(seed), true);
    }
};

#define STATE_TEST(name) KTEST_F(name, 700, 720, true)

} // namespace

// The FS base set_fs_base gave is in the exception IPC (its last word) and in read_registers;
// a resume_with_registers reply changes it, and the thread then reads through the new one.
STATE_TEST(thread_state_fs_base_in_exception_and_reply)
{
    abi::ExceptionState s{};
    l4::Message m;
    if (!victim_faulted(kt_ts_fs, address(&fs_first), s, m))
        return;
    KEXPECT_EQ(m.tag.words(), 22);
    KEXPECT_EQ(abi::kExceptionWords, 22);
    KEXPECT_EQ(l4::utcb()->mr[21], address(&fs_first)); // word 21, after fault_address
    KEXPECT_EQ(s.fs_base, address(&fs_first));
    KEXPECT_EQ(s.vector, 6);
    abi::ExceptionState read{};
    KEXPECT_EQ(l4::read_registers(kVictim, read), Error::ok);
    KEXPECT_EQ(read.fs_base, address(&fs_first));
    KEXPECT_EQ(read.rip, address(kt_ts_fs));
    s.rip = address(kt_ts_fs_after);
    s.fs_base = address(&fs_second);
    KREQUIRE_EQ(reply_registers(s), Error::ok);
    KREQUIRE_EQ(wait_flag(kt_ts_done), true);
    KEXPECT_EQ(kt_ts_fs_value, fs_second.magic);
}

// A reply with a non-canonical FS base leaves the thread suspended, its FS base as it was;
// write_registers refuses non-canonical and kernel FS bases, and then takes a good one.
STATE_TEST(thread_state_fs_base_refused_then_written)
{
    abi::ExceptionState s{};
    l4::Message m;
    if (!victim_faulted(kt_ts_fs, address(&fs_first), s, m))
        return;
    s.rip = address(kt_ts_fs_after);
    s.fs_base = kNonCanonical;
    KREQUIRE_EQ(reply_registers(s), Error::ok);
    yield_times(50);
    KEXPECT_EQ(kt_ts_done, 0);
    abi::ExceptionState read{};
    KREQUIRE_EQ(l4::read_registers(kVictim, read), Error::ok);
    KEXPECT_EQ(read.fs_base, address(&fs_first));
    KEXPECT_EQ(read.rip, address(kt_ts_fs)); // nothing of the refused state was taken
    const uint64_t bad[] = {kNonCanonical, kKernelAddress, ~uint64_t{0}};
    for (uint64_t fs : bad) {
        s.fs_base = fs;
        KEXPECT_EQ(l4::write_registers(kVictim, s), Error::bad_address);
    }
    KREQUIRE_EQ(l4::read_registers(kVictim, read), Error::ok);
    KEXPECT_EQ(read.fs_base, address(&fs_first));
    s.fs_base = address(&fs_second);
    KEXPECT_EQ(l4::write_registers(kVictim, s), Error::ok);
    KREQUIRE_EQ(l4::read_registers(kVictim, read), Error::ok);
    KEXPECT_EQ(read.fs_base, address(&fs_second));
    KEXPECT_EQ(l4::thread_control(kVictim, ThreadOp::resume), Error::ok);
    KREQUIRE_EQ(wait_flag(kt_ts_done), true);
    KEXPECT_EQ(kt_ts_fs_value, fs_second.magic);
}

// read_fpu gives the xmm registers the thread loaded, at 160 + 16 i, and the MXCSR it runs with.
STATE_TEST(thread_state_read_fpu_exact_xmm)
{
    XmmVictim v(3);
    if (!v.ok)
        return;
    KEXPECT_EQ(xmm_match(v.image, 3), true);
    KEXPECT_EQ(mxcsr_of(v.image), kDefaultMxcsr);
    v.finish(3);
}

// write_fpu on a thread stopped in an exception: read_fpu shows the new image, and the thread
// runs on with the new xmm values.
STATE_TEST(thread_state_write_fpu_seen_by_thread)
{
    XmmVictim v(5);
    if (!v.ok)
        return;
    for (uint64_t i = 0; i < kXmmCount; ++i)
        for (uint64_t half = 0; half < 2; ++half)
            set_xmm_half(v.image, i, half, pattern(9, i, half));
    KEXPECT_EQ(l4::write_fpu(kVictim, v.image), Error::ok);
    KREQUIRE_EQ(v.read(), true);
    KEXPECT_EQ(xmm_match(v.image, 9), true);
    v.finish(9);
}

// An MXCSR with a bit outside the CPU's MXCSR_MASK (fxrstor would #GP): invalid_argument,
// and nothing of the image is taken.
STATE_TEST(thread_state_write_fpu_bad_mxcsr)
{
    XmmVictim v(7);
    if (!v.ok)
        return;
    set_xmm_half(v.image, 0, 0, 0xbad);
    const uint32_t bad[] = {kDefaultMxcsr | 1u << 16, kDefaultMxcsr | 1u << 31, ~uint32_t{0}};
    for (uint32_t mxcsr : bad) {
        set_mxcsr(v.image, mxcsr);
        KEXPECT_EQ(l4::write_fpu(kVictim, v.image), Error::invalid_argument);
    }
    KREQUIRE_EQ(v.read(), true);
    KEXPECT_EQ(mxcsr_of(v.image), kDefaultMxcsr);
    KEXPECT_EQ(xmm_match(v.image, 7), true);
    v.finish(7);
}

// Both operations need a thread capability with control.
STATE_TEST(thread_state_fpu_capability_errors)
{
    KREQUIRE_EQ(create_thread(kVictim), Error::ok);
    KREQUIRE_EQ(make(kEndpoint, ObjectKind::endpoint), Error::ok);
    KREQUIRE_EQ(l4::cap_copy(kVictim, kCopy, rights::all & ~rights::control), Error::ok);
    l4::FpuImage image{};
    KREQUIRE_EQ(l4::read_fpu(kVictim, image), Error::ok); // a new thread's clean state
    KEXPECT_EQ(mxcsr_of(image), kDefaultMxcsr);
    const ThreadOp ops[] = {ThreadOp::read_fpu, ThreadOp::write_fpu};
    for (ThreadOp op : ops) {
        if (op == ThreadOp::write_fpu)
            __builtin_memcpy(l4::utcb()->mr, image.bytes, sizeof image.bytes);
        KEXPECT_EQ(l4::thread_control(kEmpty, op), Error::invalid_selector);
        KEXPECT_EQ(l4::thread_control(kSlots, op), Error::invalid_selector);
        KEXPECT_EQ(l4::thread_control(kEndpoint, op), Error::wrong_type);
        KEXPECT_EQ(l4::thread_control(kTask, op), Error::wrong_type);
        KEXPECT_EQ(l4::thread_control(kCopy, op), Error::missing_rights);
        KEXPECT_EQ(l4::thread_control(kVictim, op), Error::ok);
    }
}

// A thread of another task (never started: the clean state) is read and written the same way.
STATE_TEST(thread_state_fpu_of_other_task)
{
    constexpr Selector kOtherTask = 713;
    KREQUIRE_EQ(l4::factory_create(kFactory, ObjectKind::task, kOtherTask, 16), Error::ok);
    KREQUIRE_EQ(l4::factory_create(kFactory, ObjectKind::thread, kVictim, kOtherTask, kMainPriority), Error::ok);
    l4::FpuImage image{};
    KREQUIRE_EQ(l4::read_fpu(kVictim, image), Error::ok);
    KEXPECT_EQ(mxcsr_of(image), kDefaultMxcsr);
    for (uint64_t i = 0; i < kXmmCount; ++i)
        for (uint64_t half = 0; half < 2; ++half)
            set_xmm_half(image, i, half, pattern(11, i, half));
    set_mxcsr(image, kDefaultMxcsr | 0x6000); // round toward zero
    KEXPECT_EQ(l4::write_fpu(kVictim, image), Error::ok);
    l4::FpuImage again{};
    KREQUIRE_EQ(l4::read_fpu(kVictim, again), Error::ok);
    KEXPECT_EQ(xmm_match(again, 11), true);
    KEXPECT_EQ(mxcsr_of(again), kDefaultMxcsr | 0x6000);
}

// On the calling thread itself: read_fpu sees the live registers, write_fpu changes them at once.
STATE_TEST(thread_state_fpu_on_self)
{
    alignas(16) const uint64_t five[2] = {0x5555aaaa0001, 0x5555aaaa0002};
    uint64_t status = static_cast<uint64_t>(abi::Syscall::thread_control);
    // User code is built with general registers only: xmm5 and xmm6 are ours alone.
    asm volatile("movdqa (%[p]), %%xmm5\n\tsyscall"
                 : "+a"(status)
                 : [p] "r"(five), "D"(kSelf), "S"(static_cast<uint64_t>(ThreadOp::read_fpu))
                 : "rcx", "r11", "memory");
    KREQUIRE_EQ(status, Error::ok);
    l4::FpuImage image{};
    __builtin_memcpy(image.bytes, l4::utcb()->mr, sizeof image.bytes);
    KEXPECT_EQ(xmm_half(image, 5, 0), five[0]);
    KEXPECT_EQ(xmm_half(image, 5, 1), five[1]);

    set_xmm_half(image, 6, 0, 0x6666bbbb0001);
    set_xmm_half(image, 6, 1, 0x6666bbbb0002);
    __builtin_memcpy(l4::utcb()->mr, image.bytes, sizeof image.bytes);
    alignas(16) uint64_t six[2] = {0, 0};
    status = static_cast<uint64_t>(abi::Syscall::thread_control);
    asm volatile("syscall\n\tmovdqa %%xmm6, (%[p])"
                 : "+a"(status)
                 : [p] "r"(six), "D"(kSelf), "S"(static_cast<uint64_t>(ThreadOp::write_fpu))
                 : "rcx", "r11", "memory");
    KEXPECT_EQ(status, Error::ok);
    KEXPECT_EQ(six[0], 0x6666bbbb0001);
    KEXPECT_EQ(six[1], 0x6666bbbb0002);

    set_mxcsr(image, kDefaultMxcsr | 1u << 20);
    KEXPECT_EQ(l4::write_fpu(kSelf, image), Error::invalid_argument);
    uint32_t mxcsr = 0;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    KEXPECT_EQ(mxcsr, kDefaultMxcsr);
}

// The boot information's clock: a plausible TSC rate, the tick as hz= set it (default 100),
// the invariant flag as CPUID says.
KTEST(thread_state_boot_info_time)
{
    const auto& info = *reinterpret_cast<const abi::BootInfo*>(abi::kBootInfoAddress);
    uint64_t hz = 100;
    for (const char* p = info.cmdline; *p != '\0'; ++p) {
        if ((p == info.cmdline || p[-1] == ' ') && p[0] == 'h' && p[1] == 'z' && p[2] == '=') {
            hz = 0;
            for (const char* d = p + 3; *d >= '0' && *d <= '9'; ++d)
                hz = hz * 10 + static_cast<uint64_t>(*d - '0');
        }
    }
    KEXPECT_EQ(info.tick_hz, hz);
    KEXPECT_EQ(info.tick_ns, 1'000'000'000 / hz);
    KEXPECT_EQ(info.tsc_hz >= 10'000'000 && info.tsc_hz <= 100'000'000'000, true);
    uint32_t eax = 0x80000000, ebx = 0, ecx = 0, edx = 0;
    asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
    uint64_t invariant = 0;
    if (eax >= 0x80000007) {
        eax = 0x80000007;
        asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
        invariant = (edx >> 8) & 1;
    }
    KEXPECT_EQ(info.time_flags & abi::kTimeTscInvariant, invariant);
    KEXPECT_EQ(info.time_flags & ~(abi::kTimeTscInvariant | abi::kTimeTscFromCpuid), 0);
}

namespace {

uint64_t rdtsc()
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return uint64_t{hi} << 32 | lo;
}

} // namespace

// rdtsc runs in user mode (CR4.TSD clear), never goes back, and moves across a switch.
KTEST(thread_state_rdtsc_monotonic)
{
    uint64_t last = rdtsc(), backwards = 0;
    for (int i = 0; i < 1000; ++i) {
        uint64_t now = rdtsc();
        if (now < last)
            ++backwards;
        last = now;
    }
    KEXPECT_EQ(backwards, 0);
    l4::yield();
    KEXPECT_EQ(rdtsc() > last, true);
}

// An IPC timeout of N ticks lasts N ticks (within two) as the TSC counts them at tsc_hz.
KTEST_F(thread_state_tsc_rate_matches_ticks, 700, 720, true)
{
    const auto& info = *reinterpret_cast<const abi::BootInfo*>(abi::kBootInfoAddress);
    KREQUIRE_EQ(info.tsc_hz != 0, true);
    KREQUIRE_EQ(make(kSleep, ObjectKind::endpoint), Error::ok);
    constexpr uint64_t kTicks = 20;
    l4::Message m;
    uint64_t start = rdtsc();
    KEXPECT_EQ(l4::receive(kSleep, m, kTicks), Error::timeout);
    uint64_t elapsed = rdtsc() - start;
    uint64_t ticks = elapsed * info.tick_hz / info.tsc_hz;
    KEXPECT_EQ(ticks >= kTicks - 2 && ticks <= kTicks + 2, true);
}
