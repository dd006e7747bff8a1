#include "training/methods/method.h"

#include "training/methods/parameter_groups.h"
#include "vision/core/error.h"
#include "vision/weights/vit_key_maps.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <cmath>
#include <torch/torch.h>

namespace wsss::training {

vision::CaptureRequest inspectionCapture(bool wanted, const vision::BackboneInfo &info, std::int64_t height,
                                         std::int64_t width)
{
    if (!wanted)
        return vision::CaptureRequest::none();
    const std::int64_t tokens = info.prefixTokens + (height / info.stride) * (width / info.stride);
    vision::CaptureRequest request;
    if (tokens <= kDenseAttentionTokens)
        request.attention = true;
    else
        request.queries = request.keys = true;
    return request;
}

void takeAttention(vision::BackboneOutput &out, const vision::BackboneInfo &info, MethodOutput &result)
{
    for (auto &a : out.attention)
        result.attention.push_back(a[0]);
    for (auto &q : out.queries)
        result.queries.push_back(q[0]);
    for (auto &k : out.keys)
        result.keys.push_back(k[0]);
    result.attentionScale = 1.0 / std::sqrt(static_cast<double>(info.headDim));
}

torch::Tensor StepResult::total() const
{
    torch::Tensor sum;
    for (const auto &[name, loss] : losses)
        sum = sum.defined() ? sum + loss : loss;
    return sum;
}

void Method::setBackbone(std::shared_ptr<vision::Backbone> backbone)
{
    m_backbone = register_module("backbone", std::move(backbone));
}

vision::VisionTransformerImpl &Method::requireVit(const std::string &method) const
{
    auto *v = vit();
    if (!v)
        throw Error(method + ": needs a ViT backbone (a class token and blocks it runs one by one), not " +
                    m_backbone->info().name);
    return *v;
}

nlohmann::json TrainRecipe::toJson() const
{
    return {{"optimizer", optimizer}, {"lr", lr},       {"backbone_lr_scale", backboneLrScale},
            {"weight_decay", weightDecay}, {"momentum", momentum}, {"warmup", warmup}, {"warmup_fraction", warmupFraction},
            {"warmup_ratio", warmupRatio}, {"poly_power", polyPower}};
}

void TrainRecipe::validate() const
{
    if (optimizer != "adamw" && optimizer != "sgd")
        throw Error("train: optimizer \"" + optimizer + "\" is not adamw or sgd");
    if (!(lr > 0) || !std::isfinite(lr))
        throw Error("train: learning rate " + std::to_string(lr) + " must be positive");
    if (!(backboneLrScale >= 0))
        throw Error("train: backbone lr scale " + std::to_string(backboneLrScale) + " must be >= 0");
    if (!(weightDecay >= 0))
        throw Error("train: weight decay " + std::to_string(weightDecay) + " must be >= 0");
    if (warmup < 0)
        throw Error("train: warm-up " + std::to_string(warmup) + " must be >= 0");
}

std::unique_ptr<torch::optim::OptimizerOptions> optimizerOptions(const TrainRecipe &recipe, double lr,
                                                                 double weightDecay)
{
    if (recipe.optimizer == "sgd")
        return std::make_unique<torch::optim::SGDOptions>(
            torch::optim::SGDOptions(lr).momentum(recipe.momentum).weight_decay(weightDecay));
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(lr).weight_decay(weightDecay));
}

std::vector<torch::optim::OptimizerParamGroup> recipeGroups(const TrainRecipe &recipe,
                                                            std::array<std::vector<torch::Tensor>, 4> groups)
{
    std::vector<torch::optim::OptimizerParamGroup> out;
    for (int i = 0; i < 4; ++i) {
        if (groups[i].empty())
            continue;
        const double lr = i < 2 ? recipe.lr * recipe.backboneLrScale : recipe.lr;
        out.emplace_back(groups[i], optimizerOptions(recipe, lr, i % 2 ? 0.0 : recipe.weightDecay));
    }
    return out;
}

std::vector<torch::optim::OptimizerParamGroup> Method::parameterGroups(const TrainRecipe &recipe)
{
    // Four groups: {backbone, heads} × {decayed, not decayed}.
    std::array<std::vector<torch::Tensor>, 4> groups;
    const auto noDecayNames = m_backbone->noWeightDecay();
    for (const auto &p : named_parameters(true)) {
        if (!p.value().requires_grad())
            continue;
        const std::string &key = p.key();
        const bool isBackbone = key.rfind("backbone.", 0) == 0;
        bool noDecay = p.value().dim() <= 1;
        for (const auto &n : noDecayNames)
            noDecay = noDecay || key == "backbone." + n;
        groups[(isBackbone ? 0 : 2) + (noDecay ? 1 : 0)].push_back(p.value());
    }
    return recipeGroups(recipe, std::move(groups));
}

} // namespace wsss::training
