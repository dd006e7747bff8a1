#include "vision/weights/safetensors.h"

#include "vision/core/error.h"
#include "vision/io/atomic_write.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace wsss::vision {

namespace {

struct DtypeName {
    const char *name;
    torch::ScalarType type;
};
constexpr DtypeName kDtypes[] = {{"F32", torch::kFloat}, {"F16", torch::kHalf}, {"BF16", torch::kBFloat16},
                                 {"F64", torch::kDouble}, {"I64", torch::kLong}, {"I32", torch::kInt},
                                 {"U8", torch::kByte}, {"BOOL", torch::kBool}};

torch::ScalarType dtypeOf(const std::string &name, const std::string &path, const std::string &key)
{
    for (const auto &d : kDtypes)
        if (name == d.name)
            return d.type;
    throw Error("safetensors \"" + path + "\": tensor \"" + key + "\" has unsupported dtype " + name);
}

const char *nameOf(torch::ScalarType type)
{
    for (const auto &d : kDtypes)
        if (type == d.type)
            return d.name;
    throw Error(std::string("safetensors: cannot store dtype ") + c10::toString(type));
}

} // namespace

void requireSafetensorsFile(const std::string &path, const std::string &what)
{
    const std::string name = what + " \"" + path + "\": ";
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw Error(name + "is a folder, not a .safetensors file");
    if (!std::filesystem::exists(path, ec))
        throw Error(name + "cannot open the file (no such file)");
    std::ifstream in(path, std::ios::binary);
    unsigned char head[9] = {};
    in.read(reinterpret_cast<char *>(head), sizeof head);
    const auto got = in.gcount();
    // A safetensors file opens with its header length, then the header's '{': that is never a
    // .pth, whatever its first bytes (a length of 0x0280 begins like a pickle).
    if (got == 9 && head[8] == '{')
        return;
    // torch.save writes a zip archive (PK\3\4) since PyTorch 1.6, a bare pickle (0x80, protocol 2-5) before.
    const bool zip = got >= 4 && std::memcmp(head, "PK\3\4", 4) == 0;
    const bool pickle = got >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5;
    if (zip || pickle)
        throw Error(name + "is a PyTorch .pth file (" + (zip ? "zip" : "pickle") +
                    "), not safetensors; convert it once with python3 -c \"import torch, safetensors.torch as st; "
                    "sd = torch.load('" + path + "', map_location='cpu'); sd = sd.get('model', sd); "
                    "st.save_file({k: v.contiguous() for k, v in sd.items()}, 'weights.safetensors')\" "
                    "(README: Using PyTorch weights)");
}

SafetensorsFile readSafetensors(const std::string &path)
{
    requireSafetensorsFile(path, "safetensors");
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in)
        throw Error("safetensors \"" + path + "\": cannot open the file");
    const auto fileSize = static_cast<std::uint64_t>(in.tellg());
    in.seekg(0);
    if (fileSize < 8)
        throw Error("safetensors \"" + path + "\": not a safetensors file (" + std::to_string(fileSize) + " bytes)");
    unsigned char lenBytes[8];
    in.read(reinterpret_cast<char *>(lenBytes), 8);
    std::uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i)
        headerLen = (headerLen << 8) | lenBytes[i];
    if (headerLen == 0 || headerLen > fileSize - 8 || headerLen > (100u << 20))
        throw Error("safetensors \"" + path + "\": not a safetensors file (header length " +
                    std::to_string(headerLen) + " does not fit a " + std::to_string(fileSize) + "-byte file)");
    std::string header(headerLen, '\0');
    in.read(header.data(), static_cast<std::streamsize>(headerLen));
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(header);
    } catch (const std::exception &e) {
        throw Error("safetensors \"" + path + "\": header is not valid JSON (" + e.what() + ")");
    }
    if (!json.is_object())
        throw Error("safetensors \"" + path + "\": header is not a JSON object");

    const std::uint64_t dataSize = fileSize - 8 - headerLen;
    std::vector<char> data(dataSize);
    in.read(data.data(), static_cast<std::streamsize>(dataSize));
    if (static_cast<std::uint64_t>(in.gcount()) != dataSize)
        throw Error("safetensors \"" + path + "\": could not read the data");

    SafetensorsFile file;
    for (auto it = json.begin(); it != json.end(); ++it) {
        const std::string &key = it.key();
        if (key == "__metadata__") {
            for (auto m = it->begin(); m != it->end(); ++m)
                file.metadata[m.key()] = m->is_string() ? m->get<std::string>() : m->dump();
            continue;
        }
        const auto &entry = *it;
        if (!entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
            throw Error("safetensors \"" + path + "\": tensor \"" + key + "\" lacks dtype, shape or data_offsets");
        const auto type = dtypeOf(entry["dtype"].get<std::string>(), path, key);
        const auto shape = entry["shape"].get<std::vector<std::int64_t>>();
        const auto offsets = entry["data_offsets"].get<std::vector<std::uint64_t>>();
        std::int64_t numel = 1;
        for (auto s : shape)
            numel *= s;
        const std::uint64_t bytes = static_cast<std::uint64_t>(numel) * c10::elementSize(type);
        if (offsets.size() != 2 || offsets[1] < offsets[0] || offsets[1] - offsets[0] != bytes)
            throw Error("safetensors \"" + path + "\": tensor \"" + key + "\" has data_offsets that do not match its shape");
        if (offsets[1] > dataSize)
            throw Error("safetensors \"" + path + "\": truncated file: tensor \"" + key + "\" ends at byte " +
                        std::to_string(offsets[1]) + " of a " + std::to_string(dataSize) + "-byte data section");
        auto tensor = torch::empty(shape, torch::TensorOptions().dtype(type));
        std::memcpy(tensor.data_ptr(), data.data() + offsets[0], bytes);
        file.tensors[key] = tensor;
    }
    return file;
}

void writeSafetensors(const std::string &path, const std::map<std::string, torch::Tensor> &tensors,
                      const std::map<std::string, std::string> &metadata)
{
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    std::vector<torch::Tensor> ordered;
    std::uint64_t offset = 0;
    for (const auto &[name, t] : tensors) {
        auto c = t.detach().to(torch::kCPU).contiguous();
        const std::uint64_t bytes = c.numel() * c.element_size();
        header[name] = {{"dtype", nameOf(c.scalar_type())},
                        {"shape", c.sizes().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        ordered.push_back(c);
    }
    std::string json = header.dump();
    while ((json.size() + 8) % 8 != 0) // align the data section, as the reference writer does
        json.push_back(' ');
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[i] = static_cast<char>((static_cast<std::uint64_t>(json.size()) >> (8 * i)) & 0xff);
    bytes += json;
    bytes.reserve(bytes.size() + offset);
    for (const auto &c : ordered)
        bytes.append(static_cast<const char *>(c.data_ptr()), c.numel() * c.element_size());
    atomicWriteBytes(path, bytes.data(), bytes.size());
}

} // namespace wsss::vision
