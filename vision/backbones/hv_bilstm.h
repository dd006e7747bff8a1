#pragma once
// ViT-PCM's HV-BiLSTM patch conditioning (methods/vitpcm.md §3.2): a bidirectional LSTM along
// every row of the patch grid and another one, with its own weights, along every column; the
// output per patch is [row fwd ‖ row bwd ‖ column fwd ‖ column bwd]. The grid is channels-last,
// [B, h, w, E], as in the official TF code and as the LSTMs read it. Modules are registered as
// `horizontal` and `vertical` (torch::nn::LSTM, so keys are horizontal.weight_ih_l0,
// horizontal.weight_ih_l0_reverse, ...). Rule of use: load Keras weights through
// hvBiLstmFromKeras, never straight into bias_hh, which stays zero (Keras has one bias).
#include <torch/nn/module.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <map>
#include <string>

namespace wsss::vision {

struct HvBiLstmConfig {
    int inDim = 384;          // patch feature width E (ViT-S/16: 384, ViT-B/16: 768)
    int hidden = 192;         // LSTM units per direction (official MODEL.HIDDEN_SIZE = 192, vitpcm.md §3.2)
    double dropout = 0.2;     // element-wise dropout on the grid, one mask shared by both BiLSTMs
                              // (official SOLVER.DROPOUT, HVBiLSTM.call), in [0, 1)
    double lstmDropout = 0.2; // Keras LSTM `dropout`: on the LSTM inputs, one [E] mask per sequence
                              // reused at every step, separate for each direction, in [0, 1)

    int outDim() const { return 4 * hidden; } // 2 LSTMs × 2 directions
    void validate() const;
};

class HvBiLstmImpl : public torch::nn::Module {
public:
    explicit HvBiLstmImpl(HvBiLstmConfig config);

    // grid: [B, h, w, E] → [B, h, w, 4·hidden]. Both dropouts act in train mode only.
    torch::Tensor forward(const torch::Tensor &grid);

    // Keras' initialisation: Glorot-uniform input kernels, orthogonal recurrent kernels, bias 0
    // except the forget gate's 1 (unit_forget_bias), bias_hh 0. Called by the constructor.
    void resetParameters();

    const HvBiLstmConfig &config() const { return m_config; }

private:
    // seq: [N, L, E] → [N, L, 2·hidden], with the Keras input dropout in train mode.
    torch::Tensor runBidirectional(torch::nn::LSTM &lstm, const torch::Tensor &seq);

    HvBiLstmConfig m_config;
    torch::nn::LSTM m_horizontal{nullptr}, m_vertical{nullptr};
};
TORCH_MODULE(HvBiLstm);

// One Keras LSTM's tensors in LibTorch's layout. Keras and LibTorch both order the gates
// i, f, c(g), o along the 4·hidden axis, so the mapping is a transpose:
//   weight_ih = kernelᵀ ([4H, E] ← [E, 4H]), weight_hh = recurrent_kernelᵀ ([4H, H] ← [H, 4H]),
//   bias_ih = bias ([4H]), bias_hh = 0.
struct LstmTensors {
    torch::Tensor weightIh, weightHh, biasIh, biasHh;
};
LstmTensors lstmFromKeras(const torch::Tensor &kernel, const torch::Tensor &recurrentKernel, const torch::Tensor &bias);

// The whole module's state dict from Keras tensors named
// "{horizontal|vertical}/{forward|backward}/{kernel|recurrent_kernel|bias}" (the official model's
// TimeDistributed(Bidirectional(LSTM)) layers, horizontal first; Bidirectional's forward_lstm /
// backward_lstm copies). Throws wsss::Error naming `source` and any missing or unexpected key.
std::map<std::string, torch::Tensor> hvBiLstmFromKeras(const std::map<std::string, torch::Tensor> &keras,
                                                       const std::string &source);

} // namespace wsss::vision
