// l4::abi::error_name: every status code has its own name, as the enumerator is spelled.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "l4/abi/error.hpp"

using l4::abi::Error;
using l4::abi::error_name;

TEST_CASE("error names: one per code, as spelled in the enum")
{
    CHECK(std::string(error_name(Error::ok)) == "ok");
    CHECK(std::string(error_name(Error::missing_rights)) == "missing_rights");
    CHECK(std::string(error_name(Error::out_of_memory)) == "out_of_memory");
    CHECK(std::string(error_name(Error::cancelled)) == "cancelled");
    std::set<std::string> names;
    for (uint64_t code = 0; code <= static_cast<uint64_t>(Error::cancelled); ++code) {
        std::string name = error_name(static_cast<Error>(code));
        CHECK(name != "unknown error");
        CHECK(names.insert(name).second);
    }
    CHECK(names.size() == 15);
}

TEST_CASE("error names: other values are unknown")
{
    CHECK(std::string(error_name(static_cast<Error>(15))) == "unknown error");
    CHECK(std::string(error_name(static_cast<Error>(~uint64_t{0}))) == "unknown error");
    static_assert(error_name(Error::timeout)[0] == 't'); // usable at compile time
}
