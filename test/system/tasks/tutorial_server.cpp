// The example program of docs/tutorial.md: a root task with three small parts.
//
//   Step 4: an echo server thread, and the main thread as its client.
//   Step 5: a copy of the server's endpoint with fewer rights and a badge; what the kernel
//           says when the copy is used for what it lacks; cap_revoke.
//   Step 6: a pager: a worker thread touches memory that is not there yet, and the main
//           thread, its pager, answers each page fault with a page from sigma0.
//
// It boots as the root task, next to sigma0 (the "tutorial" scenario of
// test/system/harness.py checks every line it prints). Only libl4's public API is used.
#include <stddef.h>
#include <stdint.h>

#include "l4/abi/boot.hpp"
#include "l4/format.hpp"
#include "l4/sigma0.hpp"
#include "l4/syscall.hpp"

namespace {

namespace abi = l4::abi;
namespace rights = l4::abi::rights;
using l4::Error;
using l4::Selector;

// Capabilities the kernel gives every boot task (l4/abi/boot.hpp).
constexpr Selector kTask = abi::boot::kTaskSelector;
constexpr Selector kFactory = abi::boot::kFactorySelector;

// Slots we fill ourselves: any empty slot from kFirstFreeSelector on.
constexpr Selector kEcho = abi::boot::kFirstFreeSelector; // the echo server's endpoint
constexpr Selector kServerThread = kEcho + 1;
constexpr Selector kWeakEcho = kEcho + 2;      // step 5: send only, badged
constexpr Selector kRegained = kEcho + 3;      // step 5: a copy of the weak copy
constexpr Selector kPagerEndpoint = kEcho + 4; // step 6
constexpr Selector kWorkerThread = kEcho + 5;
constexpr Selector kNoPager = ~Selector{0};

// The echo protocol: the request's label says what it wants.
constexpr uint64_t kEchoRequest = 1; // reply: the same words, then the number of requests so far
constexpr uint64_t kQuitRequest = 2; // reply: nothing; the server thread ends
constexpr uint64_t kWorkerDone = 3;  // step 6: the worker tells its pager it is done

// A boot task's thread runs at priority 100; a thread it makes may not have more.
constexpr uint64_t kPriority = 100;
constexpr size_t kStackSize = 16 * 1024;
alignas(16) uint8_t server_stack[kStackSize];
alignas(16) uint8_t worker_stack[kStackSize];

// Step 6: where the worker touches memory that nobody mapped yet, and where the pager keeps
// the pages it gets from sigma0 (any free part of our address space will do).
constexpr uint64_t kLazyArea = 0x0000500000000000;
constexpr uint64_t kPagerScratch = 0x0000510000000000;
constexpr uint64_t kPage = 4096;

// Makes a thread in our own task and starts it at `body`, which must never return (it ends
// with l4::thread_exit()). With a pager endpoint, the thread's page faults go there.
Error start_thread(Selector slot, void (*body)(), uint8_t* stack, Selector pager = kNoPager)
{
    Error e = l4::factory_create(kFactory, abi::ObjectKind::thread, slot, kTask, kPriority);
    if (e == Error::ok && pager != kNoPager)
        e = l4::thread_control(slot, abi::ThreadOp::set_pager, pager);
    // The body is entered as if called: rsp + 8 is a multiple of 16.
    const uint64_t sp = reinterpret_cast<uint64_t>(stack + kStackSize) - 8;
    if (e == Error::ok)
        e = l4::thread_start(slot, reinterpret_cast<uint64_t>(body), sp);
    return e;
}

// Step 4 -----------------------------------------------------------------------------------

[[noreturn]] void echo_server()
{
    uint64_t served = 0;
    l4::Message m;
    Error e = l4::receive(kEcho, m); // wait for the first request
    while (e == Error::ok) {
        if (m.tag.label() == kQuitRequest) {
            l4::println("server: quit");
            l4::reply(l4::Message{});
            l4::thread_exit();
        }
        ++served;
        l4::println("server: request {}: label {}, {} words: {} {} {}, badge {:#x}", served, m.tag.label(),
                    m.tag.words(), m.words[0], m.words[1], m.words[2], m.badge);
        // The reply: the words that came (at most 5 of them), then the count. m.words holds the
        // 6 words that travel in registers; more would be in utcb()->mr[6..].
        const uint64_t words = m.tag.words() < 5 ? m.tag.words() : 5;
        m.words[words] = served;
        m.tag = abi::MessageTag::make(0, words + 1);
        e = l4::reply_wait(kEcho, m); // answer this caller, then wait for the next one
    }
    l4::println("server: receive failed with error {}", e);
    l4::thread_exit();
}

// Sends three words through `endpoint` and prints the reply.
Error echo(Selector endpoint, uint64_t a, uint64_t b, uint64_t c)
{
    l4::Message m;
    m.tag = abi::MessageTag::make(kEchoRequest, 3);
    m.words[0] = a;
    m.words[1] = b;
    m.words[2] = c;
    const Error e = l4::call(endpoint, m); // blocks until the server replies
    if (e == Error::ok)
        l4::println("client: reply label {}, {} words: {} {} {} {}", m.tag.label(), m.tag.words(), m.words[0],
                    m.words[1], m.words[2], m.words[3]);
    return e;
}

// Step 5 -----------------------------------------------------------------------------------

const char* name_if(Error e, Error expected, const char* name) { return e == expected ? name : "UNEXPECTED"; }

void capabilities()
{
    // A copy that may only send (no receive, no grant), badged 0xc1: a capability to hand to
    // one client. The server sees the badge with every message sent through it.
    Error e = l4::cap_copy(kEcho, kWeakEcho, rights::send, 0xc1);
    l4::println("client: cap_copy with rights send and badge 0xc1: error {}", e);
    echo(kWeakEcho, 4, 5, 6);

    // Receiving needs the receive right, which the copy lacks.
    l4::Message m;
    e = l4::receive(kWeakEcho, m, abi::kTimeoutZero);
    l4::println("client: receive through the weak copy: error {} ({})", e,
                name_if(e, Error::missing_rights, "missing_rights"));

    // Rights only shrink: a copy of the copy asking for every right still has only send.
    l4::cap_copy(kWeakEcho, kRegained, rights::all);
    e = l4::receive(kRegained, m, abi::kTimeoutZero);
    l4::println("client: receive through a copy of it asking for all rights: error {} ({})", e,
                name_if(e, Error::missing_rights, "missing_rights"));

    // Revoking the original deletes every copy made from it; the original stays.
    l4::cap_revoke(kEcho);
    e = echo(kWeakEcho, 7, 8, 9);
    l4::println("client: after cap_revoke, echo through the weak copy: error {} ({})", e,
                name_if(e, Error::invalid_selector, "invalid_selector"));
}

// Step 6 -----------------------------------------------------------------------------------

[[noreturn]] void worker()
{
    // Nothing is mapped at kLazyArea: the first read faults, and the pager answers.
    const auto* text = reinterpret_cast<const char*>(kLazyArea);
    l4::println("worker: read \"{}\"", text);
    // A write to the next page: a second fault.
    auto* counter = reinterpret_cast<volatile uint64_t*>(kLazyArea + kPage);
    *counter = 42;
    l4::println("worker: wrote {} to {:#x}", *counter, kLazyArea + kPage);

    l4::Message m;
    m.tag = abi::MessageTag::make(kWorkerDone, 0);
    l4::call(kPagerEndpoint, m);
    l4::thread_exit();
}

// Answers the worker's page faults until it says it is done; returns how many it served.
uint64_t serve_page_faults()
{
    uint64_t faults = 0;
    l4::Message m;
    Error e = l4::receive(kPagerEndpoint, m);
    while (e == Error::ok && m.tag.label() == abi::label::page_fault) {
        const uint64_t address = m.words[0], access = m.words[1];
        const uint64_t page = address & ~(kPage - 1);
        l4::println("pager: fault at {:#x}, access {} ({})", address, access,
                    access == abi::page_rights::write ? "write" : "read");
        // A fresh page from sigma0, mapped here at a scratch address. We write into it...
        const uint64_t scratch = kPagerScratch + faults * kPage;
        e = l4::sigma0::allocate(12, scratch);
        if (e != Error::ok)
            break;
        l4::format_to(reinterpret_cast<char*>(scratch), kPage, "page {} from the pager", faults);
        ++faults;
        // ...and the reply maps it (read/write) at the faulting page: the hotspot says where.
        l4::utcb()->send_pages[0] = abi::MapItem{
            abi::Flexpage::make(scratch, 12, abi::page_rights::read | abi::page_rights::write).raw, page, 0};
        m.tag = abi::MessageTag::make(0, 0, 0, 1);
        e = l4::reply_wait(kPagerEndpoint, m);
    }
    if (e == Error::ok && m.tag.label() == kWorkerDone)
        l4::reply(l4::Message{});
    else
        l4::println("pager: stops with error {}, label {:#x}", e, m.tag.label());
    return faults;
}

} // namespace

int main()
{
    l4::println("tutorial: step 4, an echo server");
    Error e = l4::factory_create(kFactory, abi::ObjectKind::endpoint, kEcho);
    if (e == Error::ok)
        e = start_thread(kServerThread, echo_server, server_stack);
    if (e == Error::ok)
        e = echo(kEcho, 1, 2, 3);
    if (e != Error::ok) {
        l4::println("tutorial: step 4 failed with error {}", e);
        return 1;
    }

    l4::println("tutorial: step 5, capabilities");
    capabilities();
    l4::Message quit;
    quit.tag = abi::MessageTag::make(kQuitRequest, 0);
    l4::call(kEcho, quit);

    l4::println("tutorial: step 6, a pager");
    e = l4::factory_create(kFactory, abi::ObjectKind::endpoint, kPagerEndpoint);
    if (e == Error::ok)
        e = start_thread(kWorkerThread, worker, worker_stack, kPagerEndpoint);
    if (e != Error::ok) {
        l4::println("tutorial: step 6 failed with error {}", e);
        return 1;
    }
    const uint64_t faults = serve_page_faults();
    l4::println("pager: the worker is done, {} faults served", faults);
    l4::println("tutorial: done");
    return 0;
}
