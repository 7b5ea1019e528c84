// Events, yields, the timer and the guest clock (events.hpp).
#include "events.hpp"

#include "guest.hpp"
#include "hypercalls.hpp"
#include "vcpu_events.hpp"

namespace vmm {

namespace {

TimeScale scale{};
uint64_t tick_ns = 10'000'000;

} // namespace

void init_clock(const l4::abi::BootInfo& info)
{
    scale = time_scale(info.tsc_hz);
    if (info.tick_ns != 0)
        tick_ns = info.tick_ns;
}

uint64_t read_tsc()
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return uint64_t{hi} << 32 | lo;
}

uint64_t guest_now(const Guest& guest) { return scale_to_ns(read_tsc() - guest.tsc_base, scale); }

void start_clock(Guest& guest)
{
    guest.tsc_base = read_tsc();
    guest.timer_deadline = 0;
    guest.yielding = false;
    init_vcpu_page(vcpu_page(guest), guest.tsc_base, scale);
}

void raise(Guest& guest, uint64_t source)
{
    if (!guest.running)
        return;
    vcpu_page(guest).event_tsc = read_tsc();
    if (raise_event(vcpu_page(guest), source))
        (void)l4::notify_signal(event_notification(guest), uint64_t{1} << source);
    if (guest.yielding && event_waiting(vcpu_page(guest))) {
        guest.yielding = false;
        l4::Message m;
        set_answer(m, HcStatus::ok);
        (void)l4::reply_to(yield_reply(guest), m);
    }
}

Outcome timer_set(Guest& guest, l4::Message& m)
{
    if (m.tag.words() < 1) {
        set_answer(m, HcStatus::invalid_argument);
        return Outcome::reply;
    }
    guest.timer_deadline = m.words[0];
    set_answer(m, HcStatus::ok);
    fire_timers(&guest, 1); // a deadline already passed raises the timer before the reply
    return Outcome::reply;
}

Outcome yield(Guest& guest, l4::Message& m)
{
    set_answer(m, HcStatus::ok);
    if (event_waiting(vcpu_page(guest)) || l4::reply_save(yield_reply(guest)) != l4::Error::ok)
        return Outcome::reply;
    guest.yielding = true;
    return Outcome::no_reply;
}

uint64_t next_timeout(const Guest* guests, uint64_t count)
{
    uint64_t timeout = l4::abi::kTimeoutNever;
    for (uint64_t i = 0; i < count; ++i) {
        const Guest& guest = guests[i];
        if (!guest.running || guest.timer_deadline == 0)
            continue;
        const uint64_t ticks = timeout_ticks(guest.timer_deadline, guest_now(guest), tick_ns);
        if (ticks < timeout)
            timeout = ticks;
    }
    return timeout;
}

void fire_timers(Guest* guests, uint64_t count)
{
    for (uint64_t i = 0; i < count; ++i) {
        Guest& guest = guests[i];
        if (guest.running && guest.timer_deadline != 0 && guest.timer_deadline <= guest_now(guest)) {
            guest.timer_deadline = 0;
            raise(guest, hc::source::timer);
        }
    }
}

} // namespace vmm
