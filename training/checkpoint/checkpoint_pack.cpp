#include "training/checkpoint/checkpoint_pack.h"

#include "training/checkpoint/checkpoint.h"
#include "training/methods/method.h"
#include "vision/core/error.h"
#include "vision/weights/safetensors.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <filesystem>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

std::string lastComponent(const fs::path &p)
{
    const auto name = p.filename();
    return (name.empty() ? p.parent_path().filename() : name).string();
}

// "/a/b/data" → "data"; `guider="/a/b/c.wsss"` (a recorded --set) → `guider="c.wsss"`; other
// text unchanged. Returns whether it changed.
bool reducePath(std::string &text)
{
    if (!text.empty() && fs::path(text).is_absolute()) {
        text = lastComponent(text);
        return true;
    }
    const auto eq = text.find('=');
    if (eq == std::string::npos)
        return false;
    std::string value = text.substr(eq + 1);
    const bool quoted = value.size() >= 2 && value.front() == '"' && value.back() == '"';
    if (quoted)
        value = value.substr(1, value.size() - 2);
    if (value.empty() || !fs::path(value).is_absolute())
        return false;
    const auto name = lastComponent(value);
    text = text.substr(0, eq + 1) + (quoted ? "\"" + name + "\"" : name);
    return true;
}

void reducePaths(nlohmann::json &node, const std::string &where, std::vector<std::string> &reduced)
{
    if (node.is_object()) {
        for (auto it = node.begin(); it != node.end(); ++it)
            reducePaths(it.value(), where.empty() ? it.key() : where + "." + it.key(), reduced);
    } else if (node.is_array()) {
        for (std::size_t i = 0; i < node.size(); ++i)
            reducePaths(node[i], where + "[" + std::to_string(i) + "]", reduced);
    } else if (node.is_string()) {
        auto text = node.get<std::string>();
        if (reducePath(text)) {
            node = text;
            reduced.push_back(where);
        }
    }
}

torch::ScalarType storedType(const std::string &precision)
{
    if (precision == "fp16")
        return torch::kHalf;
    if (precision == "bf16")
        return torch::kBFloat16;
    if (precision == "fp32")
        return torch::kFloat;
    throw Error("pack: unknown precision \"" + precision + "\" (fp16, bf16 or fp32)");
}

} // namespace

PackResult packCheckpoint(const PackOptions &o)
{
    const auto type = storedType(o.precision);
    vision::requireSafetensorsFile(o.in, "checkpoint");
    std::error_code ec;
    if (fs::exists(o.out, ec)) {
        if (fs::equivalent(o.in, o.out, ec))
            throw Error("pack: the output \"" + o.out + "\" is the checkpoint itself; write the copy elsewhere");
        if (!o.force)
            throw Error("pack: \"" + o.out + "\" exists; --force replaces it");
        if (fs::is_directory(o.out, ec))
            throw Error("pack: \"" + o.out + "\" is a folder; name the file to write");
    }

    auto file = vision::readSafetensors(o.in);
    auto header = checkpointHeaderJson(file.metadata, o.in);
    CheckpointHeader::fromJson(header, o.in); // a checkpoint this version reads, or a clear error
    if (o.configOverrides.is_object() && !o.configOverrides.empty()) {
        // As `wsss infer --set` would load it: the method checks the keys and the weights still fit.
        const auto model = loadCheckpoint(file, o.in, torch::kCPU, o.configOverrides);
        for (const auto &key : model.method->auxiliaryWeightKeys())
            if (o.configOverrides.contains(key))
                throw Error("pack: --set " + key + " would change the weights the copy carries; train or infer with it instead");
        header["config"] = model.header.config;
        header["packed_set"] = o.configOverrides;
    }

    PackResult result;
    reducePaths(header, "", result.pathsReduced);
    file.metadata["wsss"] = header.dump();
    for (auto &[name, tensor] : file.tensors) {
        ++result.tensors;
        if (tensor.is_floating_point() && tensor.scalar_type() != type) {
            tensor = tensor.to(type);
            ++result.tensorsConverted;
        }
    }
    vision::writeSafetensors(o.out, file.tensors, file.metadata);
    result.bytesIn = fs::file_size(o.in);
    result.bytesOut = fs::file_size(o.out);
    return result;
}

} // namespace wsss::training
