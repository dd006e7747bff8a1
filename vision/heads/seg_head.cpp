#include "vision/heads/seg_head.h"

namespace wsss::vision {

SegHeadImpl::SegHeadImpl(int inChannels, int hidden, int outChannels)
{
    m_fuse = register_module("fuse", torch::nn::Conv2d(torch::nn::Conv2dOptions(inChannels, hidden, 1).bias(false)));
    m_norm = register_module("norm", torch::nn::BatchNorm2d(hidden));
    m_classifier = register_module("classifier", torch::nn::Conv2d(hidden, outChannels, 1));
}

torch::Tensor SegHeadImpl::forward(const torch::Tensor &features)
{
    return m_classifier(torch::relu(m_norm(m_fuse(features))));
}

} // namespace wsss::vision
