// The shared part of the memory tests (memory_probe.hpp): the boot information's free
// memory, the probe threads and their assembly, the server that receives map items, set-up.
#include "memory_probe.hpp"

namespace kt::mem {

const abi::MemoryRegion* highest_free(uint64_t at_least)
{
    const abi::BootInfo& info = boot_info();
    const abi::MemoryRegion* best = nullptr;
    for (uint64_t i = 0; i < info.region_count && i < abi::kMaxBootRegions; ++i) {
        const abi::MemoryRegion& r = info.regions[i];
        if (r.kind == abi::MemoryKind::free && r.size >= at_least && (best == nullptr || r.base > best->base))
            best = &r;
    }
    return best;
}

uint64_t phys_page(uint64_t index)
{
    const abi::MemoryRegion* r = highest_free();
    uint64_t top = r == nullptr ? 0 : (r->base + r->size) & ~uint64_t{0xffff};
    return top - (index + 1) * kPage;
}

uint64_t window(uint64_t index) { return abi::kSigma0Window + phys_page(index); }
uint64_t target(uint64_t test) { return kTargetBase + test * kTargetStride; }

Error memory_unmap(Flexpage page, uint64_t self)
{
    return l4::raw_syscall(static_cast<uint64_t>(abi::Syscall::memory_unmap), page.raw, self);
}

} // namespace kt::mem

// The probes (memory_probe.hpp).
extern "C" {
volatile uint64_t kt_mt_addr, kt_mt_wval, kt_mt_value, kt_mt_stage, kt_mt_done;
[[noreturn]] void kt_mt_exit() { l4::thread_exit(); }
}
// The labels are global: the test files start and expect the probes at them.
asm(R"(
    .text
    .globl kt_mt_read, kt_mt_read_at, kt_mt_write, kt_mt_write_at
    .globl kt_mt_pager, kt_mt_pager_read_at, kt_mt_pager_write_at, kt_mt_finish
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

namespace kt::mem {

uint64_t address(const char* label) { return reinterpret_cast<uint64_t>(label); }

Flexpage page_at(uint64_t addr, uint64_t rights) { return Flexpage::make(addr, 12, rights); }
Flexpage window_at(uint64_t addr) { return Flexpage::make(addr, 12, page_rights::all); }

namespace {

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

} // namespace

Probe finished(uint64_t value)
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

Probe expect_probe(const Probe& got, const Probe& want, int line, const char* file)
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
        ktest::expect_eq(file, line, f.what, f.got, f.want);
    return got;
}

void reset_probe(uint64_t addr, uint64_t value)
{
    kt_mt_addr = addr;
    kt_mt_wval = value;
    kt_mt_value = 0;
    kt_mt_stage = 0;
    kt_mt_done = 0;
}

Error start_victim(ThreadBody body, Selector pager, Selector task)
{
    Error e = create_thread(kVictim, kMainPriority, task);
    if (e == Error::ok && pager != 0)
        e = l4::thread_control(kVictim, ThreadOp::set_pager, pager);
    if (e == Error::ok)
        e = l4::thread_control(kVictim, ThreadOp::set_exception_handler, kHandler);
    if (e == Error::ok)
        e = start_thread(kVictim, body);
    return e;
}

Probe run_probe(ThreadBody body, Selector task)
{
    Probe p;
    p.error = start_victim(body, 0, task);
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

Probe probe(Op op, uint64_t addr, uint64_t value, Selector task)
{
    reset_probe(addr, value);
    ThreadBody body = op == Op::read    ? reinterpret_cast<ThreadBody>(kt_mt_read)
                      : op == Op::write ? reinterpret_cast<ThreadBody>(kt_mt_write)
                      : op == Op::fill  ? fill_body
                                        : check_body;
    return run_probe(body, task);
}

bool filled(uint64_t addr, uint64_t seed, int line, const char* file)
{
    return expect_probe(probe(Op::fill, addr, seed), finished(), line, file).finished;
}

Probe read_fault(uint64_t addr) { return page_fault(addr, kReadNotPresent, address(kt_mt_read_at)); }
Probe write_fault(uint64_t addr) { return page_fault(addr, kWritePresent, address(kt_mt_write_at)); }

Server server;

namespace {

// The server's thread.
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

} // namespace

Error start_server(uint64_t receive_window, uint64_t read_at)
{
    server = Server{};
    server.endpoint = kEndpoint;
    server.window = receive_window;
    server.read_at = read_at;
    server.error = ~uint64_t{0};
    server.received_pages = ~uint64_t{0};
    return spawn_thread(kServer, server_body);
}

bool finish_server()
{
    bool done = wait_flag(server.done);
    release_slot(kServer);
    return done;
}

bool expect_server(uint64_t label, uint64_t pages)
{
    KEXPECT_EQ(server.error, Error::ok);
    KEXPECT_EQ(server.label, label);
    KEXPECT_EQ(server.received_pages, pages);
    return server.error == static_cast<uint64_t>(Error::ok) && server.label == label && server.received_pages == pages;
}

void set_item(uint64_t i, Flexpage page, uint64_t hotspot, uint64_t grant)
{
    l4::utcb()->send_pages[i] = abi::MapItem{page.raw, hotspot, grant};
}

bool reply_mapping(Flexpage page, uint64_t addr)
{
    set_item(0, page, addr);
    l4::Message r;
    r.tag = Tag::make(0, 0, 0, 1);
    KREQUIRE_EQ_OR(l4::reply(r), Error::ok, false);
    return true;
}

Error send_pages(Selector through, uint64_t label, uint64_t pages)
{
    l4::Message m;
    m.tag = Tag::make(label, 0, 0, pages);
    return send_polled(through, m);
}

Error deliver(Flexpage page, uint64_t hotspot, uint64_t grant, Flexpage receive_window, uint64_t read_at)
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

bool expect_mapped(Flexpage page, Flexpage receive_window, uint64_t pages, uint64_t read_at, uint64_t hotspot,
                   uint64_t grant)
{
    Error e = deliver(page, hotspot, grant, receive_window, read_at);
    KEXPECT_EQ(e, Error::ok);
    return expect_server(0x4d, pages) && e == Error::ok;
}

bool map_page(uint64_t from, uint64_t to, uint64_t read_at)
{
    return expect_mapped(page_at(from), window_at(to), 1, read_at);
}

bool make_endpoints(Selector second)
{
    KREQUIRE_EQ_OR(make(kHandler, ObjectKind::endpoint), Error::ok, false);
    if (second != 0)
        KREQUIRE_EQ_OR(make(second, ObjectKind::endpoint), Error::ok, false);
    return true;
}

} // namespace kt::mem
