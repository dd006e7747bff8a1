#include "training/methods/dino/dino_losses.h"

#include "vision/core/error.h"

#include <torch/utils.h>

#include <string>

namespace wsss::training {

torch::Tensor dinoLoss(const torch::Tensor &student, const torch::Tensor &teacher, const torch::Tensor &center,
                       std::int64_t views, double studentTemp, double teacherTemp)
{
    if (!(studentTemp > 0) || !(teacherTemp > 0))
        throw Error("dino: temperatures must be positive (student " + std::to_string(studentTemp) + ", teacher " +
                    std::to_string(teacherTemp) + ")");
    if (views < 2 || teacher.size(0) % 2 != 0 || student.size(0) != views * (teacher.size(0) / 2) ||
        student.size(1) != teacher.size(1) || center.numel() != teacher.size(1))
        throw Error("dino: the loss needs student [V·B, K], teacher [2·B, K] and centre [1, K] with V >= 2, got " +
                    c10::str(student.sizes()) + ", " + c10::str(teacher.sizes()) + ", " + c10::str(center.sizes()) +
                    " for V = " + std::to_string(views));
    const auto s = torch::log_softmax(student / studentTemp, -1).chunk(views);
    const auto q = torch::softmax((teacher - center.view({1, -1})) / teacherTemp, -1).detach().chunk(2);
    torch::Tensor total;
    int terms = 0;
    for (std::int64_t iq = 0; iq < 2; ++iq)
        for (std::int64_t v = 0; v < views; ++v) {
            if (v == iq) // a view is not its own target
                continue;
            const auto term = (-q[iq] * s[v]).sum(-1).mean();
            total = total.defined() ? total + term : term;
            ++terms;
        }
    return total / terms;
}

torch::Tensor updatedCenter(const torch::Tensor &center, const torch::Tensor &teacher, double momentum)
{
    torch::NoGradGuard noGrad;
    return center * momentum + teacher.detach().mean(0, true).to(center.scalar_type()) * (1.0 - momentum);
}

} // namespace wsss::training
