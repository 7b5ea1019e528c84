// Benchmark partner in another address space: answers every call on the boot channel with
// the same message, until a message labelled kQuit arrives; a foreign-ABI syscall (the short
// message) it resumes with rax unchanged, as a guest kernel answers getpid.
#include "l4/abi/boot.hpp"
#include "l4/syscall.hpp"

namespace {
constexpr uint64_t kQuit = 0xdead;
}

int main()
{
    l4::Message m;
    l4::receive(l4::abi::boot::kSigma0EndpointSelector, m);
    while (m.tag.label() != kQuit) {
        if (m.tag.label() == l4::abi::label::foreign_syscall)
            m.tag = l4::abi::MessageTag::make(l4::abi::reply_label::resume_with_rax, 1);
        l4::reply_wait(l4::abi::boot::kSigma0EndpointSelector, m);
    }
    l4::reply(m);
    return 0;
}
