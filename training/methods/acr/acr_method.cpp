#include "training/methods/acr/acr_method.h"

#include "training/methods/acr/acr_losses.h"
#include "training/methods/cam/cam_method.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/maps/cam.h"
#include "vision/maps/gradient_maps.h"

#include <torch/torch.h>

#include <algorithm>

namespace wsss::training {

namespace F = torch::nn::functional;

namespace {

// Classes whose last-block gradients are computed in one backward: bounded so that a chunk's
// attention gradients stay near 256 MB per block (ViT-B at 384 px: 16 classes a chunk).
constexpr std::int64_t kGradientChunkElements = std::int64_t{1} << 26;

// Gradient maps are upsampled with align_corners=True (infer_cam.py; acr.md §9).
torch::Tensor upsampleAligned(const torch::Tensor &maps, std::int64_t height, std::int64_t width)
{
    return F::interpolate(maps, F::InterpolateFuncOptions()
                                    .size(std::vector<std::int64_t>{height, width})
                                    .mode(torch::kBilinear)
                                    .align_corners(true));
}

} // namespace

AcrMethod::AcrMethod(const MethodSpec &spec)
    : m_config(AcrConfig::fromJson(spec.config)), m_product(vision::affinityProductFromName(m_config.product))
{
    setBackbone(vision::makeBackbone(spec.backbone));
    const auto &vc = requireVit("acr").config(); // its class token and blocks run one by one
    m_gradLayers = m_config.gradLayersFor(vc.depth);
    if (m_gradLayers > vc.depth)
        throw Error("acr: grad_layers " + std::to_string(m_gradLayers) + " exceeds the " +
                    std::to_string(vc.depth) + " blocks of backbone \"" + spec.backbone + "\"");
    for (const auto &v : m_config.views)
        m_views.push_back(vision::gridTransformFromName(v));
    // PyTorch's default Linear init, bias on (DPT/ACR.py).
    m_head = register_module("head", torch::nn::Linear(vc.embedDim, spec.numClasses));
}

torch::Tensor AcrMethod::logits(const torch::Tensor &preNormTokens)
{
    // The class token of the last block's output before the final LayerNorm (acr.md §3.2).
    return m_head(preNormTokens.select(1, 0));
}

StepResult AcrMethod::trainStep(const Batch &batch)
{
    const auto view = m_views.size() == 1
                          ? m_views.front()
                          : m_views[static_cast<std::size_t>(
                                torch::randint(static_cast<std::int64_t>(m_views.size()), {1}).item<std::int64_t>())];
    const auto &images = batch.images;
    const auto second = vision::applyGridTransform(images, view);
    const int prefix = vit()->config().prefixTokens;
    const auto B = images.size(0);

    // Both views through the same network; one batch when their shapes agree (no batch
    // statistics anywhere in the ViT, so this equals two passes).
    torch::Tensor z, zView, attn, attnView;
    std::int64_t gh = 0, gw = 0;
    if (second.sizes() == images.sizes()) {
        auto out = m_backbone->forward(torch::cat({images, second}), vision::CaptureRequest::allAttention());
        const auto all = logits(out.preNormTokens);
        const auto stacked = stackHeadMeanAttention(out.attention); // [2B, L, T, T]
        z = all.slice(0, 0, B), zView = all.slice(0, B);
        attn = stacked.slice(0, 0, B), attnView = stacked.slice(0, B);
        gh = out.gridHeight, gw = out.gridWidth;
    } else { // a quarter turn of a non-square batch
        auto out = m_backbone->forward(images, vision::CaptureRequest::allAttention());
        auto outView = m_backbone->forward(second, vision::CaptureRequest::allAttention());
        z = logits(out.preNormTokens), zView = logits(outView.preNormTokens);
        attn = stackHeadMeanAttention(out.attention), attnView = stackHeadMeanAttention(outView.attention);
        gh = out.gridHeight, gw = out.gridWidth;
    }
    const auto pi = vision::tokenPermutation(view, gh, gw).to(images.device());
    const auto act = activationConsistencyLoss(attn, attnView, pi, prefix);
    const auto aff = affinityConsistencyLoss(attn, attnView, pi, prefix);

    StepResult r;
    r.losses["cls"] = multilabelSoftMarginLoss(z, batch.labels) + multilabelSoftMarginLoss(zView, batch.labels);
    r.losses["act"] = m_config.alpha * act;
    r.losses["aff"] = m_config.beta * aff;
    r.logs["l_act"] = act.item<double>();
    r.logs["l_aff"] = aff.item<double>();
    return r;
}

std::vector<torch::optim::OptimizerParamGroup> AcrMethod::parameterGroups(const TrainRecipe &recipe)
{
    std::vector<torch::Tensor> backbone, head;
    for (const auto &p : named_parameters(true)) {
        if (!p.value().requires_grad())
            continue;
        (p.key().rfind("backbone.", 0) == 0 ? backbone : head).push_back(p.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> out;
    out.emplace_back(backbone, optimizerOptions(recipe, recipe.lr * recipe.backboneLrScale, recipe.weightDecay));
    out.emplace_back(head, optimizerOptions(recipe, recipe.lr, recipe.weightDecay));
    return out;
}

AcrMethod::GradientPass AcrMethod::gradientPass(const torch::Tensor &image, const vision::CaptureRequest &inspect)
{
    if (image.dim() != 4 || image.size(0) != 1)
        throw Error("acr: gradient maps take one image [1, 3, H, W], got " + c10::str(image.sizes()));
    const auto &vc = vit()->config();
    const int depth = vc.depth, start = depth - m_gradLayers, prefix = vc.prefixTokens;
    // Every block's probabilities feed the affinity; what the inspection asks for comes along.
    vision::CaptureRequest request = inspect;
    request.attention = true;
    request.layers.clear();

    GradientPass pass;
    auto &cap = pass.captured;
    auto keep = [&](vision::BackboneOutput &block, int index) { // block's captures, batch item 0
        const auto affinity = vision::patchAffinity({block.attention.front().slice(0, 0, 1).detach()}, prefix)[0];
        pass.affinity = pass.affinity.defined() ? pass.affinity + affinity : affinity;
        cap.capturedLayers.push_back(index);
        if (inspect.attention)
            cap.attention.push_back(block.attention.front().slice(0, 0, 1).detach());
        if (inspect.queries)
            cap.queries.push_back(block.queries.front().slice(0, 0, 1).detach());
        if (inspect.keys)
            cap.keys.push_back(block.keys.front().slice(0, 0, 1).detach());
    };

    // Blocks before the gradient blocks: no gradient ever flows into them (acr.md §9).
    torch::Tensor tokens;
    {
        torch::NoGradGuard noGrad;
        tokens = vit()->embed(image, cap);
        for (int i = 0; i < start; ++i) {
            vision::BackboneOutput block;
            tokens = vit()->forwardBlocks(tokens, i, i + 1, request, block);
            keep(block, i);
        }
    }

    // The gradient blocks, run once per chunk of classes stacked along the batch: back-propagating
    // the sum of each copy's own class logit gives every class's ∂z_c/∂A in one backward.
    const std::int64_t K = m_head->weight.size(0);
    const std::int64_t T = tokens.size(1);
    const std::int64_t chunk =
        std::clamp<std::int64_t>(kGradientChunkElements / (static_cast<std::int64_t>(vc.heads) * T * T), 1, K);
    std::vector<torch::Tensor> gradients;
    torch::AutoGradMode enableGrad(true);
    const auto x = tokens.detach();
    for (std::int64_t c0 = 0; c0 < K; c0 += chunk) {
        const std::int64_t C = std::min(chunk, K - c0);
        vision::BackboneOutput last;
        const auto y = vit()->forwardBlocks(x.expand({C, -1, -1}), start, depth, request, last);
        const auto z = logits(y); // [C, K]
        const auto classes = torch::arange(c0, c0 + C, torch::TensorOptions().dtype(torch::kLong).device(z.device()));
        const auto selected = z.gather(1, classes.unsqueeze(1)).sum();
        const auto grads = torch::autograd::grad({selected}, last.attention);
        gradients.push_back(vision::gradientClassToPatch(grads, prefix).detach());
        if (c0 == 0) {
            pass.logits = z[0].detach();
            for (int l = 0; l < depth - start; ++l) {
                vision::BackboneOutput block;
                block.attention = {last.attention[l]};
                if (inspect.queries)
                    block.queries = {last.queries[l]};
                if (inspect.keys)
                    block.keys = {last.keys[l]};
                keep(block, start + l);
            }
        }
    }
    pass.gradient = torch::cat(gradients, 0).reshape({K, cap.gridHeight, cap.gridWidth});
    return pass;
}

MethodOutput AcrMethod::infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &)
{
    const auto H = image.size(2), W = image.size(3);
    const auto &vc = vit()->config();
    // The official order: the flipped image first, then the original (infer_cam.py).
    auto flipped = gradientPass(image.flip({3}), vision::CaptureRequest::none());
    auto original = gradientPass(image, inspectionCapture(captureAttention, m_backbone->info(), H, W));

    auto merged = [&](bool refine) { // [K, H, W]: both passes upsampled, the flip undone, summed, min-max
        auto onePass = [&](const GradientPass &p) {
            const auto g = refine ? vision::refineWithAffinity(p.gradient, p.affinity, m_product) : p.gradient;
            return upsampleAligned(g.unsqueeze(0), H, W);
        };
        return vision::normalizeMapsMinMax(onePass(original) + onePass(flipped).flip({3}), 1e-6)[0];
    };

    MethodOutput result;
    result.gridHeight = original.captured.gridHeight;
    result.gridWidth = original.captured.gridWidth;
    result.scores = torch::sigmoid(original.logits);
    result.maps["grad"] = merged(false);
    result.maps["acr"] = merged(true);
    // For the studio: the patch-to-patch attention averaged over the blocks (the refinement's sum / depth).
    result.affinities["p2p"] = original.affinity / static_cast<double>(vc.depth);
    takeAttention(original.captured, m_backbone->info(), result);
    return result;
}

} // namespace wsss::training
