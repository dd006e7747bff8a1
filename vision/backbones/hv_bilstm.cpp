#include "vision/backbones/hv_bilstm.h"

#include "vision/core/error.h"
#include "vision/core/text.h"

#include <torch/nn/functional/dropout.h>
#include <torch/nn/init.h>
#include <torch/torch.h>

#include <set>

namespace wsss::vision {

namespace F = torch::nn::functional;

namespace {

torch::nn::LSTM makeLstm(const HvBiLstmConfig &c)
{
    return torch::nn::LSTM(torch::nn::LSTMOptions(c.inDim, c.hidden).batch_first(true).bidirectional(true));
}

} // namespace

void HvBiLstmConfig::validate() const
{
    if (inDim <= 0)
        throw Error("hv-bilstm: inDim " + std::to_string(inDim) + " must be positive");
    if (hidden <= 0)
        throw Error("hv-bilstm: hidden " + std::to_string(hidden) + " must be positive");
    if (dropout < 0 || dropout >= 1)
        throw Error("hv-bilstm: dropout " + std::to_string(dropout) + " must be in [0, 1)");
    if (lstmDropout < 0 || lstmDropout >= 1)
        throw Error("hv-bilstm: lstmDropout " + std::to_string(lstmDropout) + " must be in [0, 1)");
}

HvBiLstmImpl::HvBiLstmImpl(HvBiLstmConfig config) : m_config(std::move(config))
{
    m_config.validate();
    m_horizontal = register_module("horizontal", makeLstm(m_config));
    m_vertical = register_module("vertical", makeLstm(m_config));
    resetParameters();
}

void HvBiLstmImpl::resetParameters()
{
    torch::NoGradGuard noGrad;
    const auto H = m_config.hidden;
    for (auto *lstm : {&m_horizontal, &m_vertical}) {
        for (auto &p : (*lstm)->named_parameters()) {
            auto &t = p.value();
            if (startsWith(p.key(), "weight_ih")) {
                // Keras GlorotUniform on the kernel [E, 4H]: limit sqrt(6 / (E + 4H)).
                torch::nn::init::xavier_uniform_(t);
            } else if (startsWith(p.key(), "weight_hh")) {
                // Keras Orthogonal on recurrent_kernel [H, 4H] (orthonormal rows) = orthonormal
                // columns of its transpose [4H, H].
                torch::nn::init::orthogonal_(t);
            } else if (startsWith(p.key(), "bias_ih")) {
                t.zero_();
                t.slice(0, H, 2 * H).fill_(1.0); // unit_forget_bias: gates i, f, g, o
            } else if (startsWith(p.key(), "bias_hh")) {
                // Keras has a single bias: LibTorch's second one stays zero and untrained, so
                // its gradient does not double the bias's effective learning rate.
                t.zero_();
                t.set_requires_grad(false);
            }
        }
    }
}

torch::Tensor HvBiLstmImpl::runBidirectional(torch::nn::LSTM &lstm, const torch::Tensor &seq)
{
    const double p = m_config.lstmDropout;
    if (!is_training() || p == 0.0)
        return std::get<0>(lstm->forward(seq));
    // Keras' Bidirectional holds two LSTM copies, each drawing its own input mask per sequence
    // ([N, 1, E], reused at every step). Both masked copies go through the bidirectional LSTM as
    // one batch of 2N; the forward half is read from the first copy, the backward from the second.
    const auto N = seq.size(0), H = static_cast<std::int64_t>(m_config.hidden);
    const double keep = 1.0 - p;
    auto masks = torch::empty({2, N, 1, seq.size(2)}, seq.options()).bernoulli_(keep).div_(keep);
    auto both = (seq.unsqueeze(0) * masks).flatten(0, 1); // [2N, L, E]
    auto out = std::get<0>(lstm->forward(both));          // [2N, L, 2H]
    return torch::cat({out.slice(0, 0, N).slice(2, 0, H), out.slice(0, N, 2 * N).slice(2, H, 2 * H)}, 2);
}

torch::Tensor HvBiLstmImpl::forward(const torch::Tensor &grid)
{
    if (grid.dim() != 4 || grid.size(3) != m_config.inDim)
        throw Error("hv-bilstm: grid has shape " + c10::str(grid.sizes()) + ", expected [B, h, w, " +
                    std::to_string(m_config.inDim) + "]");
    const auto B = grid.size(0), h = grid.size(1), w = grid.size(2), E = grid.size(3);
    auto x = F::dropout(grid, F::DropoutFuncOptions().p(m_config.dropout).training(is_training()));
    // Rows: B·h sequences of length w. Columns: B·w sequences of length h, transposed back.
    auto rows = runBidirectional(m_horizontal, x.reshape({B * h, w, E})).reshape({B, h, w, -1});
    auto cols = runBidirectional(m_vertical, x.transpose(1, 2).reshape({B * w, h, E})).reshape({B, w, h, -1});
    return torch::cat({rows, cols.transpose(1, 2)}, 3);
}

LstmTensors lstmFromKeras(const torch::Tensor &kernel, const torch::Tensor &recurrentKernel, const torch::Tensor &bias)
{
    if (kernel.dim() != 2 || recurrentKernel.dim() != 2 || bias.dim() != 1 || kernel.size(1) != bias.size(0) ||
        recurrentKernel.size(1) != bias.size(0) || recurrentKernel.size(0) * 4 != bias.size(0))
        throw Error("keras lstm: kernel " + c10::str(kernel.sizes()) + ", recurrent_kernel " +
                    c10::str(recurrentKernel.sizes()) + " and bias " + c10::str(bias.sizes()) +
                    " are not [E, 4H], [H, 4H] and [4H]");
    return {kernel.t().contiguous(), recurrentKernel.t().contiguous(), bias.contiguous(), torch::zeros_like(bias)};
}

std::map<std::string, torch::Tensor> hvBiLstmFromKeras(const std::map<std::string, torch::Tensor> &keras,
                                                       const std::string &source)
{
    std::map<std::string, torch::Tensor> out;
    std::set<std::string> used;
    std::string missing;
    for (const std::string axis : {"horizontal", "vertical"}) {
        for (const std::string direction : {"forward", "backward"}) {
            const std::string from = axis + "/" + direction + "/";
            std::map<std::string, torch::Tensor> parts;
            for (const std::string name : {"kernel", "recurrent_kernel", "bias"}) {
                auto it = keras.find(from + name);
                if (it == keras.end()) {
                    missing += (missing.empty() ? "" : ", ") + from + name;
                    continue;
                }
                used.insert(it->first);
                parts[name] = it->second;
            }
            if (parts.size() != 3)
                continue;
            LstmTensors t;
            try {
                t = lstmFromKeras(parts["kernel"], parts["recurrent_kernel"], parts["bias"]);
            } catch (const Error &e) {
                throw Error("weights \"" + source + "\": " + from + ": " + e.what());
            }
            const std::string to = axis + ".";
            const std::string suffix = direction == "forward" ? "_l0" : "_l0_reverse";
            out[to + "weight_ih" + suffix] = t.weightIh;
            out[to + "weight_hh" + suffix] = t.weightHh;
            out[to + "bias_ih" + suffix] = t.biasIh;
            out[to + "bias_hh" + suffix] = t.biasHh;
        }
    }
    if (!missing.empty())
        throw Error("weights \"" + source + "\" (Keras HV-BiLSTM names): missing tensors: " + missing);
    std::string unexpected;
    for (const auto &[key, value] : keras)
        if (!used.count(key))
            unexpected += (unexpected.empty() ? "" : ", ") + key;
    if (!unexpected.empty())
        throw Error("weights \"" + source + "\" (Keras HV-BiLSTM names): unexpected tensors: " + unexpected);
    return out;
}

} // namespace wsss::vision
