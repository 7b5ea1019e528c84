// The block device's operations over a ramdisk.
#include "block.hpp"

namespace vmm {

static pv::Response answer(pv::Status status, uint32_t length = 0)
{
    return pv::Response{0, static_cast<uint32_t>(status), length, 0};
}

pv::Response block_serve(const Ramdisk& disk, const pv::BlockRequest& copy, uint8_t* buffer)
{
    switch (pv::BlockOp(copy.op)) {
    case pv::BlockOp::read:
    case pv::BlockOp::write: {
        if (copy.count == 0 || copy.length != uint64_t{copy.count} * pv::kSectorBytes)
            return answer(pv::Status::bad_length);
        if (!inside_area(copy.sector, copy.count, disk.sectors))
            return answer(pv::Status::bad_sector);
        uint8_t* sectors = disk.bytes + copy.sector * pv::kSectorBytes;
        if (pv::BlockOp(copy.op) == pv::BlockOp::write) {
            memcpy(sectors, buffer, copy.length);
            return answer(pv::Status::ok);
        }
        memcpy(buffer, sectors, copy.length);
        return answer(pv::Status::ok, copy.length);
    }
    case pv::BlockOp::flush: // a ramdisk holds nothing back
        return answer(copy.count == 0 && copy.length == 0 ? pv::Status::ok : pv::Status::bad_length);
    case pv::BlockOp::size:
        if (copy.length < sizeof(disk.sectors))
            return answer(pv::Status::bad_length);
        memcpy(buffer, &disk.sectors, sizeof(disk.sectors));
        return answer(pv::Status::ok, sizeof(disk.sectors));
    }
    return answer(pv::Status::bad_op);
}

} // namespace vmm
