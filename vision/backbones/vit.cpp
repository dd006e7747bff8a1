#include "vision/backbones/vit.h"

#include "vision/weights/vit_key_maps.h"

#include "vision/core/error.h"

#include <torch/torch.h>

#include <cmath>

namespace wsss::vision {

namespace F = torch::nn::functional;

void VitConfig::validate() const
{
    auto fail = [&](const std::string &what) {
        throw Error("backbone \"" + name + "\": " + what);
    };
    if (patchSize <= 0 || embedDim <= 0 || depth <= 0 || heads <= 0)
        fail("patchSize, embedDim, depth and heads must be positive");
    if (embedDim % heads != 0)
        fail("embedDim " + std::to_string(embedDim) + " is not divisible by heads " + std::to_string(heads));
    if (imgSize % patchSize != 0)
        fail("imgSize " + std::to_string(imgSize) + " is not a multiple of patchSize " + std::to_string(patchSize));
    if (resnetStem) {
        if (!stemChannels.empty())
            fail("has both a conv stem (stemChannels) and a ResNetV2 stem");
        resnetStem->validate(name);
        if (resnetStem->stride() != patchSize)
            fail("a ResNetV2 stem of " + std::to_string(resnetStem->depths.size()) + " stages has stride " +
                 std::to_string(resnetStem->stride()) + ", not patchSize " + std::to_string(patchSize));
    }
    if (prefixTokens < 1)
        fail("prefixTokens " + std::to_string(prefixTokens) + " must be at least 1");
    if (!stemChannels.empty() && (1 << stemChannels.size()) != patchSize)
        fail("a conv stem of " + std::to_string(stemChannels.size()) + " stride-2 layers has stride " +
             std::to_string(1 << stemChannels.size()) + ", not patchSize " + std::to_string(patchSize));
}

// --- Attention ----------------------------------------------------------------------------

AttentionImpl::AttentionImpl(int dim, int heads)
    : m_heads(heads), m_scale(1.0 / std::sqrt(static_cast<double>(dim / heads)))
{
    m_qkv = register_module("qkv", torch::nn::Linear(dim, dim * 3));
    m_proj = register_module("proj", torch::nn::Linear(dim, dim));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor &x, const CaptureRequest *what, BlockCapture *into,
                                     double dropout)
{
    const auto B = x.size(0), T = x.size(1), D = x.size(2);
    auto qkv = m_qkv(x).reshape({B, T, 3, m_heads, D / m_heads}).permute({2, 0, 3, 1, 4});
    auto q = qkv[0], k = qkv[1], v = qkv[2]; // [B, heads, T, hd]
    auto logits = torch::matmul(q * m_scale, k.transpose(-2, -1));
    auto attn = logits.softmax(-1);
    if (what && into) {
        if (what->attention)
            into->probs = attn;
        if (what->logits)
            into->logits = logits;
        if (what->queries)
            into->queries = q;
        if (what->keys)
            into->keys = k;
    }
    auto out = torch::matmul(attn, v).transpose(1, 2).reshape({B, T, D});
    return F::dropout(m_proj(out), F::DropoutFuncOptions().p(dropout).training(is_training() && dropout > 0));
}

// --- MLP and block ------------------------------------------------------------------------

MlpImpl::MlpImpl(int dim, int hidden)
{
    m_fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
    m_fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor &x, double dropout)
{
    const auto drop = F::DropoutFuncOptions().p(dropout).training(is_training() && dropout > 0);
    return F::dropout(m_fc2(F::dropout(F::gelu(m_fc1(x)), drop)), drop);
}

BlockImpl::BlockImpl(const VitConfig &c)
{
    auto ln = torch::nn::LayerNormOptions({c.embedDim}).eps(c.lnEps);
    m_norm1 = register_module("norm1", torch::nn::LayerNorm(ln));
    m_attn = register_module("attn", Attention(c.embedDim, c.heads));
    m_norm2 = register_module("norm2", torch::nn::LayerNorm(ln));
    m_mlp = register_module("mlp", Mlp(c.embedDim, static_cast<int>(c.embedDim * c.mlpRatio)));
}

torch::Tensor BlockImpl::forward(const torch::Tensor &x, const CaptureRequest *what, BlockCapture *into,
                                 double dropPathRate, double dropout)
{
    auto y = x + dropPath(m_attn->forward(m_norm1(x), what, into, dropout), dropPathRate, is_training());
    return y + dropPath(m_mlp->forward(m_norm2(y), dropout), dropPathRate, is_training());
}

// --- Patch embedding ----------------------------------------------------------------------

namespace {

// Weight-standardised conv (BiT / the R50 hybrid's StdConv2d): each filter is normalised to
// zero mean and unit variance before the convolution.
class StdConv2dImpl : public torch::nn::Module {
public:
    StdConv2dImpl(int in, int out, int kernel, int stride) : m_stride(stride), m_padding(kernel / 2)
    {
        weight = register_parameter("weight", torch::empty({out, in, kernel, kernel}));
        torch::nn::init::kaiming_normal_(weight, 0.0, torch::kFanOut, torch::kReLU);
    }
    torch::Tensor forward(const torch::Tensor &x)
    {
        auto flat = weight.reshape({weight.size(0), -1});
        auto mean = flat.mean(1, true);
        auto var = flat.var(1, false, true);
        auto standardised = ((flat - mean) / torch::sqrt(var + 1e-8)).reshape_as(weight);
        return F::conv2d(x, standardised, F::Conv2dFuncOptions().stride(m_stride).padding(m_padding));
    }
    torch::Tensor weight;

private:
    int m_stride, m_padding;
};
TORCH_MODULE(StdConv2d);

class StemLayerImpl : public torch::nn::Module {
public:
    StemLayerImpl(int in, int out)
    {
        m_conv = register_module("conv", StdConv2d(in, out, 3, 2));
        m_norm = register_module("norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(std::min(8, out), out).eps(1e-5)));
    }
    torch::Tensor forward(const torch::Tensor &x) { return torch::relu(m_norm(inFloat(m_conv(x)))); }

private:
    StdConv2d m_conv{nullptr};
    torch::nn::GroupNorm m_norm{nullptr};
};
TORCH_MODULE(StemLayer);

} // namespace

PatchEmbedImpl::PatchEmbedImpl(const VitConfig &c)
{
    if (c.resnetStem) {
        m_backbone = register_module("backbone", ResNetV2Stem(*c.resnetStem));
        m_proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.resnetStem->outChannels(), c.embedDim, 1)));
        return;
    }
    if (c.stemChannels.empty()) {
        m_proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, c.embedDim, c.patchSize).stride(c.patchSize)));
        return;
    }
    m_stem = register_module("stem", torch::nn::Sequential());
    int in = 3;
    for (int ch : c.stemChannels) {
        m_stem->push_back(StemLayer(in, ch));
        in = ch;
    }
    m_proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, c.embedDim, 1)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor &x)
{
    if (m_backbone)
        return m_proj(m_backbone(x));
    return m_proj(m_stem ? m_stem->forward(x) : x);
}

// --- Vision transformer -------------------------------------------------------------------

VisionTransformerImpl::VisionTransformerImpl(VitConfig config) : m_config(std::move(config))
{
    m_config.validate();
    const auto &c = m_config;
    m_patchEmbed = register_module("patch_embed", PatchEmbed(c));
    m_clsToken = register_parameter("cls_token", torch::zeros({1, c.prefixTokens, c.embedDim}));
    const int grid = c.gridSize();
    m_posEmbed = register_parameter("pos_embed", torch::zeros({1, c.prefixTokens + grid * grid, c.embedDim}));
    m_blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < c.depth; ++i) {
        m_blockList.push_back(Block(c));
        m_blocks->push_back(m_blockList.back());
    }
    m_norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.embedDim}).eps(c.lnEps)));

    // timm's init: truncated normal 0.02 for tokens and linears, zero biases.
    torch::NoGradGuard noGrad;
    // LibTorch has no trunc_normal_: clamping a normal at ±2σ is close enough for an init.
    auto truncNormal = [](torch::Tensor &t, double std) { t.normal_(0.0, std).clamp_(-2 * std, 2 * std); };
    truncNormal(m_posEmbed, 0.02);
    torch::nn::init::normal_(m_clsToken, 0.0, 1e-6);
    for (auto &module : modules(false)) {
        if (auto *linear = module->as<torch::nn::Linear>()) {
            truncNormal(linear->weight, 0.02);
            torch::nn::init::zeros_(linear->bias);
        }
    }
}

torch::Tensor resizePositionEmbedding(const torch::Tensor &posEmbed, int prefixTokens,
                                      std::int64_t newHeight, std::int64_t newWidth, PosEmbedResize mode)
{
    const auto oldTokens = posEmbed.size(1) - prefixTokens;
    const auto oldSide = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(oldTokens))));
    if (oldSide * oldSide != oldTokens)
        throw Error("position embedding of " + std::to_string(oldTokens) + " patch tokens is not a square grid");
    if (oldSide == newHeight && oldSide == newWidth)
        return posEmbed;
    auto prefix = posEmbed.slice(1, 0, prefixTokens);
    auto grid = posEmbed.slice(1, prefixTokens).reshape({1, oldSide, oldSide, -1}).permute({0, 3, 1, 2});
    auto options = F::InterpolateFuncOptions().align_corners(false);
    if (mode == PosEmbedResize::BicubicScale) {
        // DINO's interpolate_pos_encoding: the +0.1 keeps floor(side·scale) at the target size;
        // the scale itself (not the size) sets where the samples fall.
        const double side = static_cast<double>(oldSide);
        options.scale_factor(std::vector<double>{(newHeight + 0.1) / side, (newWidth + 0.1) / side})
            .recompute_scale_factor(false)
            .mode(torch::kBicubic);
    } else {
        options.size(std::vector<int64_t>{newHeight, newWidth});
        if (mode == PosEmbedResize::Bilinear)
            options.mode(torch::kBilinear);
        else
            options.mode(torch::kBicubic);
    }
    grid = F::interpolate(grid.to(torch::kFloat), options).to(posEmbed.dtype());
    if (grid.size(2) != newHeight || grid.size(3) != newWidth)
        throw Error("position embedding resize to " + std::to_string(newHeight) + "x" + std::to_string(newWidth) +
                    " gave " + std::to_string(grid.size(2)) + "x" + std::to_string(grid.size(3)));
    grid = grid.permute({0, 2, 3, 1}).reshape({1, newHeight * newWidth, -1});
    return torch::cat({prefix, grid}, 1);
}

torch::Tensor VisionTransformerImpl::positionEmbedding(std::int64_t gridHeight, std::int64_t gridWidth) const
{
    return resizePositionEmbedding(m_posEmbed, m_config.prefixTokens, gridHeight, gridWidth, m_config.posEmbedResize);
}

torch::Tensor VisionTransformerImpl::embed(const torch::Tensor &x, BackboneOutput &out, const DropRates &rates)
{
    rates.validate();
    const int p = m_config.patchSize;
    if (x.dim() != 4 || x.size(1) != 3)
        throw Error("backbone \"" + m_config.name + "\": expected input [B, 3, H, W], got " + c10::str(x.sizes()));
    if (x.size(2) % p != 0 || x.size(3) % p != 0)
        throw Error("backbone \"" + m_config.name + "\": input " + std::to_string(x.size(2)) + "x" +
                    std::to_string(x.size(3)) + " is not a multiple of the patch size " + std::to_string(p));

    auto grid = m_patchEmbed(x); // [B, D, h, w]
    out.gridHeight = grid.size(2);
    out.gridWidth = grid.size(3);
    out.prefixTokens = m_config.prefixTokens;
    auto tokens = grid.flatten(2).transpose(1, 2);
    tokens = torch::cat({m_clsToken.expand({x.size(0), -1, -1}), tokens}, 1);
    tokens = tokens + positionEmbedding(out.gridHeight, out.gridWidth);
    return F::dropout(tokens, F::DropoutFuncOptions().p(rates.dropout).training(is_training() && rates.dropout > 0));
}

torch::Tensor VisionTransformerImpl::forwardBlocks(torch::Tensor tokens, int first, int last,
                                                   const CaptureRequest &capture, BackboneOutput &out,
                                                   const DropRates &rates)
{
    const int depth = m_config.depth;
    if (first < 0 || last > depth || first > last)
        throw Error("backbone \"" + m_config.name + "\": blocks [" + std::to_string(first) + ", " +
                    std::to_string(last) + ") are outside 0.." + std::to_string(depth));
    for (int i = first; i < last; ++i) {
        auto &block = m_blockList[i];
        // timm's stochastic-depth decay: 0 at the first block, the full rate at the last.
        const double pathRate = depth > 1 ? rates.path * i / (depth - 1) : rates.path;
        if (!capture.wants(i, depth)) {
            tokens = block->forward(tokens, nullptr, nullptr, pathRate, rates.dropout);
            continue;
        }
        BlockCapture captured;
        tokens = block->forward(tokens, &capture, &captured, pathRate, rates.dropout);
        out.capturedLayers.push_back(i);
        if (capture.attention)
            out.attention.push_back(captured.probs);
        if (capture.logits)
            out.logits.push_back(captured.logits);
        if (capture.queries)
            out.queries.push_back(captured.queries);
        if (capture.keys)
            out.keys.push_back(captured.keys);
    }
    return tokens;
}

BackboneOutput VisionTransformerImpl::forward(const torch::Tensor &x, const CaptureRequest &capture,
                                              const DropRates &rates)
{
    BackboneOutput out;
    auto tokens = embed(x, out, rates);
    out.preNormTokens = forwardBlocks(tokens, 0, m_config.depth, capture, out, rates);
    out.tokens = m_norm(out.preNormTokens);
    return out;
}

std::vector<std::string> VisionTransformerImpl::noWeightDecay() const
{
    return {"pos_embed", "cls_token"};
}

BackboneInfo VisionTransformerImpl::info() const
{
    BackboneInfo info;
    info.name = m_config.name;
    info.norm = m_config.norm;
    info.stride = info.sizeMultiple = info.inputMultiple = m_config.patchSize;
    info.prefixTokens = m_config.prefixTokens;
    info.channels = m_config.embedDim;
    info.depth = info.affinityBlocks = m_config.depth;
    info.heads = info.affinityHeads = m_config.heads;
    info.headDim = m_config.embedDim / m_config.heads;
    return info;
}

std::vector<std::string> VisionTransformerImpl::loadWeights(const std::string &path)
{
    const auto loaded = loadVitWeights(*this, path);
    std::vector<std::string> notes;
    for (const auto &note : loaded.notes)
        notes.push_back(namingName(loaded.naming) + " names: " + note);
    return notes;
}

} // namespace wsss::vision
