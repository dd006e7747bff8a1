#include "vision/backbones/mit.h"

#include "vision/weights/mit_key_maps.h"

#include "vision/core/error.h"

#include <torch/torch.h>

#include <cmath>
#include <map>

namespace wsss::vision {

namespace F = torch::nn::functional;

// --- Config -------------------------------------------------------------------------------

int MitConfig::totalDepth() const
{
    int total = 0;
    for (int d : depths)
        total += d;
    return total;
}

int MitConfig::stride(int stage) const
{
    if (stage == 0)
        return 4;
    return stage == kMitStages - 1 ? lastStride : 2;
}

int MitConfig::outputStride(int stage) const
{
    int s = 1;
    for (int i = 0; i <= stage; ++i)
        s *= stride(i);
    return s;
}

void MitConfig::validate() const
{
    auto fail = [&](const std::string &what) { throw Error("backbone \"" + name + "\": " + what); };
    for (int s = 0; s < kMitStages; ++s) {
        const std::string stage = "stage " + std::to_string(s + 1);
        if (widths[s] <= 0 || depths[s] <= 0 || heads[s] <= 0 || srRatios[s] <= 0)
            fail(stage + ": widths, depths, heads and srRatios must be positive");
        if (widths[s] % heads[s] != 0)
            fail(stage + ": width " + std::to_string(widths[s]) + " is not divisible by heads " +
                 std::to_string(heads[s]));
    }
    if (lastStride != 1 && lastStride != 2)
        fail("lastStride " + std::to_string(lastStride) + " must be 1 or 2");
    if (mlpRatio <= 0)
        fail("mlpRatio must be positive");
    if (dropPathRate < 0 || dropPathRate >= 1)
        fail("dropPathRate " + std::to_string(dropPathRate) + " must be in [0, 1)");
}

namespace {

MitConfig mit(std::string name, std::array<int, kMitStages> widths)
{
    MitConfig c;
    c.name = std::move(name);
    c.widths = widths;
    return c;
}

// SegFormer's mit_b0 and mit_b1: the same depths, heads and sr ratios, different widths.
const std::map<std::string, MitConfig> &mitPresets()
{
    static const std::map<std::string, MitConfig> table = {
        {"mit_b0", mit("mit_b0", {32, 64, 160, 256})},
        {"mit_b1", mit("mit_b1", {64, 128, 320, 512})},
    };
    return table;
}

} // namespace

MitConfig mitPreset(const std::string &name)
{
    auto it = mitPresets().find(name);
    if (it == mitPresets().end()) {
        std::string known;
        for (const auto &[n, c] : mitPresets())
            known += (known.empty() ? "" : ", ") + n;
        throw Error("unknown MiT backbone \"" + name + "\" (known: " + known + ")");
    }
    return it->second;
}

std::vector<std::string> mitBackboneNames()
{
    std::vector<std::string> names;
    for (const auto &[n, c] : mitPresets())
        names.push_back(n);
    return names;
}

// --- Pieces -------------------------------------------------------------------------------

namespace {

// [B, N, C] tokens on an h×w grid ↔ [B, C, h, w] maps.
torch::Tensor tokensToMap(const torch::Tensor &x, std::int64_t h, std::int64_t w)
{
    return x.transpose(1, 2).reshape({x.size(0), x.size(2), h, w});
}

torch::Tensor mapToTokens(const torch::Tensor &x)
{
    return x.flatten(2).transpose(1, 2);
}

} // namespace

OverlapPatchEmbedImpl::OverlapPatchEmbedImpl(int in, int out, int kernel, int stride, double lnEps)
{
    m_proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                                           .stride(stride)
                                                           .padding(kernel / 2)));
    m_norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({out}).eps(lnEps)));
}

torch::Tensor OverlapPatchEmbedImpl::forward(const torch::Tensor &x, std::int64_t *h, std::int64_t *w)
{
    auto map = m_proj(x);
    *h = map.size(2);
    *w = map.size(3);
    return m_norm(mapToTokens(map));
}

MitAttentionImpl::MitAttentionImpl(int dim, int heads, int srRatio, double lnEps)
    : m_heads(heads), m_scale(1.0 / std::sqrt(static_cast<double>(dim / heads)))
{
    m_q = register_module("q", torch::nn::Linear(dim, dim));
    m_kv = register_module("kv", torch::nn::Linear(dim, 2 * dim));
    m_proj = register_module("proj", torch::nn::Linear(dim, dim));
    if (srRatio > 1) {
        m_sr = register_module("sr", torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, dim, srRatio).stride(srRatio)));
        m_norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(lnEps)));
    }
}

torch::Tensor MitAttentionImpl::forward(const torch::Tensor &x, std::int64_t h, std::int64_t w, torch::Tensor *logits)
{
    const auto B = x.size(0), N = x.size(1), C = x.size(2), hd = C / m_heads;
    auto q = m_q(x).reshape({B, N, m_heads, hd}).transpose(1, 2); // [B, heads, N, hd]
    auto source = m_sr ? m_norm(mapToTokens(m_sr(tokensToMap(x, h, w)))) : x;
    const auto Nkv = source.size(1);
    auto kv = m_kv(source).reshape({B, Nkv, 2, m_heads, hd}).permute({2, 0, 3, 1, 4});
    auto k = kv[0], v = kv[1]; // [B, heads, N_kv, hd]
    torch::Tensor attn;
    if (logits) {
        // AFA's affinity reads the raw q·kᵀ, before the 1/√d scale (afa.md §3.1).
        *logits = torch::matmul(q, k.transpose(-2, -1));
        attn = (*logits * m_scale).softmax(-1);
    } else {
        attn = torch::matmul(q * m_scale, k.transpose(-2, -1)).softmax(-1);
    }
    auto out = torch::matmul(attn, v).transpose(1, 2).reshape({B, N, C});
    return m_proj(out);
}

DepthwiseConvImpl::DepthwiseConvImpl(int dim)
{
    m_dwconv = register_module("dwconv", torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, dim, 3).padding(1).groups(dim)));
}

torch::Tensor DepthwiseConvImpl::forward(const torch::Tensor &x, std::int64_t h, std::int64_t w)
{
    return mapToTokens(m_dwconv(tokensToMap(x, h, w)));
}

MixFfnImpl::MixFfnImpl(int dim, int hidden)
{
    m_fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
    m_dwconv = register_module("dwconv", DepthwiseConv(hidden));
    m_fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor MixFfnImpl::forward(const torch::Tensor &x, std::int64_t h, std::int64_t w)
{
    return m_fc2(F::gelu(m_dwconv(m_fc1(x), h, w)));
}

MitBlockImpl::MitBlockImpl(const MitConfig &c, int stage)
{
    const int dim = c.widths[stage];
    auto ln = torch::nn::LayerNormOptions({dim}).eps(c.blockLnEps);
    m_norm1 = register_module("norm1", torch::nn::LayerNorm(ln));
    m_attn = register_module("attn", MitAttention(dim, c.heads[stage], c.srRatios[stage], c.embedLnEps));
    m_norm2 = register_module("norm2", torch::nn::LayerNorm(ln));
    m_mlp = register_module("mlp", MixFfn(dim, static_cast<int>(dim * c.mlpRatio)));
}

torch::Tensor MitBlockImpl::forward(const torch::Tensor &x, std::int64_t h, std::int64_t w, double p,
                                    torch::Tensor *logits)
{
    auto y = x + dropPath(m_attn(m_norm1(x), h, w, logits), p, is_training());
    return y + dropPath(m_mlp(m_norm2(y), h, w), p, is_training());
}

// --- Mix Transformer ----------------------------------------------------------------------

MixTransformerImpl::MixTransformerImpl(MitConfig config) : m_config(std::move(config))
{
    m_config.validate();
    const auto &c = m_config;
    int in = 3;
    for (int s = 0; s < kMitStages; ++s) {
        const std::string n = std::to_string(s + 1);
        m_patchEmbeds.push_back(register_module(
            "patch_embed" + n, OverlapPatchEmbed(in, c.widths[s], c.kernel(s), c.stride(s), c.embedLnEps)));
        auto blocks = torch::nn::ModuleList();
        for (int j = 0; j < c.depths[s]; ++j)
            blocks->push_back(MitBlock(c, s));
        m_blocks.push_back(register_module("block" + n, blocks));
        m_norms.push_back(register_module(
            "norm" + n, torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.widths[s]}).eps(c.blockLnEps))));
        in = c.widths[s];
    }

    // SegFormer's _init_weights: truncated normal 0.02 for linears, N(0, √(2/fan_out)) for convs
    // (fan_out = k·k·out / groups), zero biases; LayerNorms keep weight 1, bias 0.
    torch::NoGradGuard noGrad;
    // LibTorch has no trunc_normal_: clamping a normal at ±2σ is close enough for an init.
    auto truncNormal = [](torch::Tensor &t, double std) { t.normal_(0.0, std).clamp_(-2 * std, 2 * std); };
    for (auto &module : modules(false)) {
        if (auto *linear = module->as<torch::nn::Linear>()) {
            truncNormal(linear->weight, 0.02);
            torch::nn::init::zeros_(linear->bias);
        } else if (auto *conv = module->as<torch::nn::Conv2d>()) {
            const auto &o = conv->options;
            const auto fanOut = (*o.kernel_size())[0] * (*o.kernel_size())[1] * o.out_channels() / o.groups();
            conv->weight.normal_(0.0, std::sqrt(2.0 / static_cast<double>(fanOut)));
            torch::nn::init::zeros_(conv->bias);
        }
    }
}

std::vector<double> MixTransformerImpl::dropPathRates(double rate) const
{
    const int total = m_config.totalDepth();
    std::vector<double> rates(total, 0.0);
    for (int i = 1; i < total; ++i)
        rates[i] = rate * i / (total - 1); // torch.linspace(0, rate, total)
    return rates;
}

MitOutput MixTransformerImpl::forwardStages(const torch::Tensor &x, const MitRequest &request)
{
    if (x.dim() != 4 || x.size(1) != 3)
        throw Error("backbone \"" + m_config.name + "\": expected input [B, 3, H, W], got " + c10::str(x.sizes()));
    const auto rates = dropPathRates(request.dropPathRate.value_or(m_config.dropPathRate));

    MitOutput out;
    torch::Tensor map = x;
    int blockIndex = 0;
    for (int s = 0; s < kMitStages; ++s) {
        std::int64_t h = 0, w = 0;
        auto tokens = m_patchEmbeds[s](map, &h, &w);
        const bool capture = request.lastStageLogits && s == kMitStages - 1;
        for (const auto &module : *m_blocks[s]) {
            auto block = std::dynamic_pointer_cast<MitBlockImpl>(module);
            const double p = rates[blockIndex++];
            if (capture) {
                torch::Tensor logits;
                tokens = block->forward(tokens, h, w, p, &logits);
                out.attentionLogits.push_back(logits);
            } else {
                tokens = block->forward(tokens, h, w, p);
            }
        }
        map = tokensToMap(m_norms[s](tokens), h, w);
        out.features.push_back(map);
    }
    return out;
}

BackboneOutput MixTransformerImpl::forward(const torch::Tensor &x, const CaptureRequest &capture,
                                           const DropRates &rates)
{
    const int last = kMitStages - 1, depth = m_config.totalDepth();
    const int firstOfLast = depth - m_config.depths[last];
    bool wanted = false;
    for (int b = firstOfLast; b < depth; ++b)
        wanted = wanted || (capture.any() && capture.wants(b, depth));
    MitRequest request;
    request.lastStageLogits = wanted && (capture.logits || capture.attention);
    if (rates.path > 0)
        request.dropPathRate = rates.path;
    auto stages = forwardStages(x, request);

    BackboneOutput out;
    const auto &map = stages.features.back(); // [B, C, h, w]
    out.gridHeight = map.size(2);
    out.gridWidth = map.size(3);
    out.prefixTokens = 0;
    out.tokens = map.flatten(2).transpose(1, 2);
    out.stages = std::move(stages.features);
    const double scale = 1.0 / std::sqrt(static_cast<double>(m_config.widths[last] / m_config.heads[last]));
    for (std::size_t i = 0; i < stages.attentionLogits.size(); ++i) {
        const int block = firstOfLast + static_cast<int>(i);
        if (!capture.wants(block, depth))
            continue;
        out.capturedLayers.push_back(block);
        const auto logits = stages.attentionLogits[i] * scale;
        if (capture.logits)
            out.logits.push_back(logits);
        if (capture.attention)
            out.attention.push_back(logits.softmax(-1));
    }
    return out;
}

BackboneInfo MixTransformerImpl::info() const
{
    const int last = kMitStages - 1;
    BackboneInfo info;
    info.name = m_config.name;
    info.norm = m_config.norm;
    info.stride = m_config.outputStride(last);
    info.sizeMultiple = 32;
    info.inputMultiple = 1;
    info.prefixTokens = 0;
    info.channels = m_config.widths[last];
    info.stageChannels.assign(m_config.widths.begin(), m_config.widths.end());
    info.affinityBlocks = m_config.depths[last];
    info.affinityHeads = m_config.heads[last];
    info.headDim = m_config.widths[last] / m_config.heads[last];
    return info; // depth and heads stay 0: the studio's attention views are a ViT's
}

std::vector<std::string> MixTransformerImpl::loadWeights(const std::string &path)
{
    const auto loaded = loadMitWeights(*this, path);
    std::vector<std::string> notes;
    if (!loaded.note().empty())
        notes.push_back(std::string(toString(loaded.naming)) + " names: " + loaded.note());
    return notes;
}

} // namespace wsss::vision
