// Benchmark partner in another address space: answers every call on the boot channel with
// the same message, until a message labelled kQuit arrives.
#include "l4/abi/boot.hpp"
#include "l4/syscall.hpp"

namespace {
constexpr uint64_t kQuit = 0xdead;
}

int main()
{
    l4::Message m;
    l4::receive(l4::abi::boot::kSigma0EndpointSelector, m);
    while (m.tag.label() != kQuit)
        l4::reply_wait(l4::abi::boot::kSigma0EndpointSelector, m);
    l4::reply(m);
    return 0;
}
