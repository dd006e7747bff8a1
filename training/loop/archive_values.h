#pragma once
// The scalars of a LibTorch archive (the resume states of `train` and `pretrain`), read by name.
// A missing or mistyped entry throws c10::Error, which the callers turn into a message naming
// their file.
#include <torch/serialize/input-archive.h>

#include <cstdint>
#include <string>

namespace wsss::training {

inline c10::IValue readArchiveValue(torch::serialize::InputArchive &archive, const std::string &name)
{
    c10::IValue v;
    archive.read(name, v);
    return v;
}

inline std::int64_t readArchiveInt(torch::serialize::InputArchive &archive, const std::string &name)
{
    return readArchiveValue(archive, name).toInt();
}

inline double readArchiveDouble(torch::serialize::InputArchive &archive, const std::string &name)
{
    return readArchiveValue(archive, name).toDouble();
}

inline std::string readArchiveString(torch::serialize::InputArchive &archive, const std::string &name)
{
    return readArchiveValue(archive, name).toStringRef();
}

} // namespace wsss::training
