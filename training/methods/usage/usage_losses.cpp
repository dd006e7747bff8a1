#include "training/methods/usage/usage_losses.h"

#include "vision/core/error.h"
#include "vision/maps/spatial_distribution.h"

#include <torch/torch.h>

namespace wsss::training {

torch::Tensor usageGenerationLoss(const torch::Tensor &scores, const torch::Tensor &labels)
{
    // PyTorch's multilabel_soft_margin_loss: mean over classes and batch of BCE on logits.
    return torch::binary_cross_entropy_with_logits(scores, labels.to(scores.scalar_type()));
}

torch::Tensor usageRegularizationLoss(const torch::Tensor &student, const torch::Tensor &teacher, double tau2,
                                      double kappa, const std::string &form)
{
    if (!(tau2 > 0))
        throw Error("usage: tau2 must be positive");
    if (student.sizes() != teacher.sizes())
        throw Error("usage: L_REG needs student and teacher activations of one shape, got " +
                    c10::str(student.sizes()) + " and " + c10::str(teacher.sizes()));
    const auto zS = vision::withConstantBackground(student, kappa);
    const auto zT = vision::withConstantBackground(teacher.detach(), kappa);
    torch::Tensor perLocation; // [B, h, w]
    if (form == "kd") {
        const auto target = torch::softmax(zT / tau2, 1);
        perLocation = -(target * torch::log_softmax(zS / tau2, 1)).sum(1);
    } else if (form == "literal") {
        const auto target = torch::exp(torch::log_softmax(zT, 1) / tau2);
        perLocation = -(target * torch::log_softmax(zS, 1) / tau2).sum(1);
    } else {
        throw Error("usage: reg_form \"" + form + "\" is not kd or literal");
    }
    return tau2 * tau2 * perLocation.mean();
}

double usageClassificationStatus(const torch::Tensor &scores, const torch::Tensor &labels)
{
    torch::NoGradGuard noGrad;
    const auto positive = labels.to(torch::kFloat) > 0.5;
    if (!positive.any().item<bool>())
        return -1.0;
    return torch::sigmoid(scores.to(torch::kFloat)).masked_select(positive).mean().item<double>();
}

} // namespace wsss::training
