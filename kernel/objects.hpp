// The end of kernel objects: stopping a thread, and what happens when an object's last
// capability goes (the release hook of every capability space).
#pragma once

#include <stdint.h>

namespace cap {
struct Object;
}
class Thread;

// Stops a thread for good (its object stays while capabilities name it). The running thread
// is only marked `dying`: it exits on its way out of the kernel.
void kill_thread(Thread& thread);

// The release hook: destroys `object`, whose last capability just went. Objects this
// releases in turn are destroyed after it, in a loop, never by recursion.
void destroy_object(cap::Object* object, void* context);

// The badge hook: the last capability with `badge` to `object` went (or was revoked), so the
// sends queued through it on an endpoint fail with object_destroyed.
void retire_badge(cap::Object* object, uint64_t badge);
