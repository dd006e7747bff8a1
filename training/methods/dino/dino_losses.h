#pragma once
// DINO's loss and centre (dino/main_dino.py DINOLoss), on head outputs laid out view-major: the
// rows of view v are [v·B, (v + 1)·B).
#include <torch/types.h>

namespace wsss::training {

// student: [V·B, K] (the 2 global views first, then the local ones); teacher: [2·B, K] (the 2
// global views); center: [1, K]. Mean over the (teacher view q, student view v ≠ q) pairs of
// mean_b Σ_k −softmax((t_q − c)/τ_t)_k · log_softmax(s_v/τ_s)_k. The teacher term is detached.
torch::Tensor dinoLoss(const torch::Tensor &student, const torch::Tensor &teacher, const torch::Tensor &center,
                       std::int64_t views, double studentTemp, double teacherTemp);

// The centre after one batch: m·c + (1 − m)·mean over the rows of teacher, [1, K].
torch::Tensor updatedCenter(const torch::Tensor &center, const torch::Tensor &teacher, double momentum);

} // namespace wsss::training
