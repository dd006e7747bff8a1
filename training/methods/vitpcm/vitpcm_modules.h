#pragma once
// ViT-PCM's head on the ViT patch grid (methods/vitpcm.md §3.2–3.3): dropout, HV-BiLSTM, dropout,
// a bias-free linear patch classifier over C = K + 1 classes (background at channel 0). It gives
// the logits A; the softmax Z and the max pooling live in vision/maps/pcm_maps.h and the method.
// Registered as `hv_bilstm` (absent when disabled) and `classifier` (the official PC layer).
#include "vision/backbones/hv_bilstm.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace wsss::training {

struct VitPcmHeadOptions {
    int inDim = 768;       // ViT width E
    int classes = 21;      // C, background included
    bool hvBiLstm = true;  // false: the classifier reads the ViT tokens directly
    int hidden = 192;      // LSTM units per direction
    double dropout = 0.2;  // grid dropout (before the HV-BiLSTM and before the classifier)
    double lstmDropout = 0.2;
    double initStd = 0.05; // classifier init N(0, initStd²)
};

class VitPcmHeadImpl : public torch::nn::Module {
public:
    explicit VitPcmHeadImpl(const VitPcmHeadOptions &options);

    // features: [B, E, h, w] → logits A [B, C, h, w]. Dropouts act in train mode only.
    torch::Tensor forward(const torch::Tensor &features);

    const torch::Tensor &classifierWeight() const { return m_classifier->weight; } // [C, in]

private:
    VitPcmHeadOptions m_options;
    vision::HvBiLstm m_hv{nullptr};
    torch::nn::Linear m_classifier{nullptr};
};
TORCH_MODULE(VitPcmHead);

} // namespace wsss::training
