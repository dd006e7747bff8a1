#include "training/methods/vitpcm/vitpcm_modules.h"

#include <torch/torch.h>

namespace wsss::training {

namespace F = torch::nn::functional;

VitPcmHeadImpl::VitPcmHeadImpl(const VitPcmHeadOptions &options) : m_options(options)
{
    int width = options.inDim;
    if (options.hvBiLstm) {
        vision::HvBiLstmConfig hc;
        hc.inDim = options.inDim;
        hc.hidden = options.hidden;
        // The grid dropout is applied here, once for the whole head (HVBiLSTM.call draws one
        // mask for both BiLSTMs), so the module's own is off.
        hc.dropout = 0.0;
        hc.lstmDropout = options.lstmDropout;
        m_hv = register_module("hv_bilstm", vision::HvBiLstm(hc));
        width = hc.outDim();
    }
    m_classifier = register_module("classifier",
                                   torch::nn::Linear(torch::nn::LinearOptions(width, options.classes).bias(false)));
    // Keras RandomNormal(stddev 0.05) in the official PC layer (vitpcm.md §3.3).
    torch::NoGradGuard noGrad;
    m_classifier->weight.normal_(0.0, options.initStd);
}

torch::Tensor VitPcmHeadImpl::forward(const torch::Tensor &features)
{
    auto grid = features.permute({0, 2, 3, 1}); // [B, h, w, E], channels-last as the LSTMs read it
    grid = F::dropout(grid, F::DropoutFuncOptions().p(m_options.dropout).training(is_training()));
    if (m_hv)
        grid = F::dropout(m_hv->forward(grid), F::DropoutFuncOptions().p(m_options.dropout).training(is_training()));
    return m_classifier(grid).permute({0, 3, 1, 2}).contiguous(); // [B, C, h, w]
}

} // namespace wsss::training
