#include "vision/weights/load_weights.h"

#include "vision/backbones/vit.h"
#include "vision/core/error.h"

#include <torch/torch.h>

#include <set>

namespace wsss::vision {

std::map<std::string, torch::Tensor> stateDict(const torch::nn::Module &module)
{
    std::map<std::string, torch::Tensor> out;
    for (const auto &p : module.named_parameters(true))
        out[p.key()] = p.value();
    for (const auto &b : module.named_buffers(true))
        out[b.key()] = b.value();
    return out;
}

void loadStateDict(torch::nn::Module &module, const std::map<std::string, torch::Tensor> &tensors,
                   const std::string &source, const std::string &prefix,
                   const std::function<std::string(const std::string &)> &describe)
{
    torch::NoGradGuard noGrad;
    auto label = [&](const std::string &key) { return describe ? describe(key) : key; };
    std::set<std::string> used;
    std::string missing;
    for (auto &[name, target] : stateDict(module)) {
        auto it = tensors.find(prefix + name);
        if (it == tensors.end()) {
            missing += (missing.empty() ? "" : ", ") + label(prefix + name);
            continue;
        }
        used.insert(it->first);
        torch::Tensor value = it->second;
        const bool isPosEmbed =
            name == "pos_embed" || (name.size() > 10 && name.substr(name.size() - 10) == ".pos_embed");
        if (isPosEmbed && value.dim() == 3 && target.dim() == 3 && value.size(2) == target.size(2) &&
            value.size(1) != target.size(1)) {
            // Same width, other grid: resample (timm's resample_abs_pos_embed), keeping the class token.
            const auto side = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(target.size(1) - 1))));
            value = resizePositionEmbedding(value.to(torch::kFloat), 1, side, side);
        }
        if (value.sizes() != target.sizes())
            throw Error("weights \"" + source + "\": tensor \"" + label(prefix + name) + "\" has shape " +
                        c10::str(value.sizes()) + ", expected " + c10::str(target.sizes()));
        target.copy_(value.to(target.dtype()));
    }
    if (!missing.empty())
        throw Error("weights \"" + source + "\": missing tensors: " + missing);
    std::string unexpected;
    for (const auto &[key, value] : tensors)
        if (key.compare(0, prefix.size(), prefix) == 0 && !used.count(key))
            unexpected += (unexpected.empty() ? "" : ", ") + label(key);
    if (!unexpected.empty())
        throw Error("weights \"" + source + "\": unexpected tensors: " + unexpected);
}

} // namespace wsss::vision
