// IoPorts: the right to a range of x86 I/O ports. A task may use a port only after
// ioport_enable with a capability covering it (TSS I/O permission bitmap).
#pragma once

#include <stdint.h>

#include "cap/capability.hpp"
#include "l4/abi/error.hpp"

class Factory;

class IoPorts : public cap::Object {
public:
    static constexpr cap::ObjectType kType = cap::ObjectType::io_ports;
    static constexpr uint32_t kPorts = 65536;

    // The caller checked that [first, first + count) is a non-empty part of 0..65535.
    [[nodiscard]] static IoPorts* create(Factory* factory, uint32_t first, uint32_t count, l4::abi::Error& error);
    void destroy();

    uint32_t first() const { return first_; }
    uint32_t count() const { return count_; }
    bool covers(uint32_t first, uint32_t count) const
    {
        return first >= first_ && count <= count_ && first - first_ <= count_ - count;
    }

private:
    IoPorts(Factory* factory, uint32_t first, uint32_t count)
        : cap::Object(kType), factory_(factory), first_(first), count_(count)
    {
    }

    Factory* factory_;
    uint32_t first_;
    uint32_t count_;
};
