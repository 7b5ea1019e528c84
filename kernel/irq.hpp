// Irq: an interrupt line delivered to a user-level driver. When it fires the line is masked
// and the bound notification signalled; the driver handles the device and acknowledges,
// which unmasks the line.
#pragma once

#include <stdint.h>

#include "cap/cap_space.hpp"
#include "l4/abi/error.hpp"

class Factory;

class Irq : public cap::Object {
public:
    static constexpr cap::ObjectType kType = cap::ObjectType::irq;
    static constexpr uint32_t kLines = 16; // legacy ISA lines through the 8259 PIC

    [[nodiscard]] static Irq* create(Factory* factory, uint32_t line, l4::abi::Error& error);
    void destroy();

    // Binds the line to a notification (a copy of the caller's capability): the line is
    // unmasked from now on.
    [[nodiscard]] l4::abi::Error bind(cap::CapSpace& from, cap::Selector notification);
    void acknowledge();

    // From the interrupt path: the Irq of a line, if one exists and is bound.
    static void deliver(uint32_t line);

private:
    Irq(Factory* factory, uint32_t line);

    Factory* factory_;
    uint32_t line_;
    cap::Slot slot_[1];
    cap::CapSpace bound_; // the notification it signals
};
