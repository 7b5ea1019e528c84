// The check of user FXSAVE images before fxrstor loads them (kernel/arch/x86_64/fpu_image.hpp).
#include <catch2/catch.hpp>
#include <string.h>

#include "arch/x86_64/fpu_image.hpp"

namespace {

namespace layout = l4::abi::fpu_image;

struct TestImage {
    alignas(16) fpu::Image bytes{};

    void set_word(uint64_t offset, uint32_t value) { memcpy(&bytes[offset], &value, sizeof value); }
};

constexpr uint32_t kQemuMask = 0xffff; // what QEMU's CPUs report (DAZ included)

} // namespace

TEST_CASE("fpu image: a reported MXCSR_MASK of 0 means 0xffbf")
{
    CHECK(fpu::mxcsr_mask_of(0) == 0xffbf);
    CHECK(fpu::mxcsr_mask_of(0xffff) == 0xffff);
    CHECK(fpu::mxcsr_mask_of(0x1) == 0x1);
}

TEST_CASE("fpu image: the MXCSR word is read little-endian at offset 24")
{
    TestImage image;
    image.bytes[24] = 0x80;
    image.bytes[25] = 0x1f;
    image.bytes[26] = 0x02;
    image.bytes[27] = 0x40;
    CHECK(fpu::image_word(image.bytes, layout::kMxcsr) == 0x40021f80u);
}

TEST_CASE("fpu image: MXCSR bits inside the CPU's mask load")
{
    TestImage image;
    const uint32_t good[] = {0, 0x1f80, 0x1fbf, 0xffbf, 0x003f};
    for (uint32_t mxcsr : good) {
        image.set_word(layout::kMxcsr, mxcsr);
        CHECK(fpu::loadable(image.bytes, fpu::mxcsr_mask_of(0)));
        CHECK(fpu::loadable(image.bytes, kQemuMask));
    }
    image.set_word(layout::kMxcsr, 0x1fc0); // DAZ: only where the CPU has it
    CHECK(fpu::loadable(image.bytes, kQemuMask));
    CHECK_FALSE(fpu::loadable(image.bytes, fpu::mxcsr_mask_of(0)));
}

TEST_CASE("fpu image: every MXCSR bit outside the mask is refused")
{
    TestImage image;
    for (int bit = 16; bit < 32; ++bit) {
        image.set_word(layout::kMxcsr, 0x1f80 | uint32_t{1} << bit);
        CHECK_FALSE(fpu::loadable(image.bytes, kQemuMask));
        CHECK_FALSE(fpu::loadable(image.bytes, fpu::mxcsr_mask_of(0)));
    }
    image.set_word(layout::kMxcsr, 0x1f80);
    CHECK_FALSE(fpu::loadable(image.bytes, 0x0f80)); // a CPU without bit 12
}

TEST_CASE("fpu image: the image's own mask field and other bytes do not matter")
{
    TestImage image;
    memset(image.bytes, 0xff, sizeof image.bytes);
    image.set_word(layout::kMxcsr, 0x1f80);
    CHECK(fpu::loadable(image.bytes, kQemuMask)); // fxrstor ignores mxcsr_mask and reserved bytes
    image.set_word(layout::kMxcsrMask, 0);
    image.set_word(layout::kMxcsr, 0x10000);
    CHECK_FALSE(fpu::loadable(image.bytes, kQemuMask));
}
