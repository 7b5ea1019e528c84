// Irq: interrupt lines as notifications.
#include "irq.hpp"

#include <new>

#include "arch/x86_64/interrupts.hpp"
#include "arch/x86_64/platform.hpp"
#include "factory.hpp"
#include "notification.hpp"
#include "objects.hpp"
#include "task.hpp"

static_assert(Irq::kLines == interrupts::vector::pic_lines);

namespace {

Irq* lines[Irq::kLines]; // the Irq object of each line, if made

} // namespace

Irq::Irq(Factory* factory, uint32_t line)
    : cap::Object(kType), factory_(factory), line_(line), slot_(), bound_(slot_, 1, destroy_object, nullptr)
{
}

Irq* Irq::create(Factory* factory, uint32_t line, l4::abi::Error& error)
{
    if (line >= kLines) {
        error = l4::abi::Error::invalid_argument;
        return nullptr;
    }
    if (lines[line] != nullptr) { // one object per line
        error = l4::abi::Error::busy;
        return nullptr;
    }
    void* memory = factory->allocate(sizeof(Irq), error);
    if (memory == nullptr)
        return nullptr;
    lines[line] = new (memory) Irq(factory, line);
    return lines[line];
}

void Irq::destroy()
{
    platform::pic_mask(line_, true);
    lines[line_] = nullptr;
    bound_.clear();
    Factory* factory = factory_;
    this->~Irq();
    factory->free(this, sizeof(Irq));
}

l4::abi::Error Irq::bind(cap::CapSpace& from, cap::Selector notification)
{
    auto found = from.lookup<Notification>(notification, l4::abi::rights::send);
    if (found.error != l4::abi::Error::ok)
        return found.error;
    platform::pic_mask(line_, true);
    (void)bound_.remove(0);
    auto error = cap::CapSpace::derive(from, notification, bound_, 0, l4::abi::rights::send);
    if (error == l4::abi::Error::ok)
        platform::pic_mask(line_, false);
    return error;
}

void Irq::acknowledge()
{
    if (!bound_.slot(0)->empty())
        platform::pic_mask(line_, false);
}

void Irq::deliver(uint32_t line)
{
    platform::pic_mask(line, true); // until the driver acknowledges
    platform::pic_end_of_interrupt(line);
    Irq* irq = line < kLines ? lines[line] : nullptr;
    if (irq == nullptr)
        return;
    // The bound capability names a notification: bind() accepted nothing else.
    auto bound = irq->bound_.lookup<Notification>(0, 0);
    if (bound.error == l4::abi::Error::ok)
        bound.object->signal(bound.slot->badge() | 1);
}
