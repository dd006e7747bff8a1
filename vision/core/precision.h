#pragma once
// Compute precision (`wsss train/pretrain/infer --precision`): "fp32", or "bf16": a training
// step's forward and losses, or an inference's network, run under LibTorch's autocast to
// bfloat16 (matrix products and convolutions in bfloat16, reductions and losses kept in float32
// by autocast's lists), while the weights, their gradients and the optimiser stay float32. On
// CPUs with AVX-512 BF16 (and on GPUs) a matrix product takes about half the time; elsewhere
// bfloat16 is emulated and slower.
#include <c10/core/Device.h>

#include <string>
#include <vector>

namespace wsss::vision {

std::vector<std::string> precisionNames(); // "fp32", "bf16"
// "" for a known precision, else what is wrong, naming the value and the known ones.
std::string precisionProblem(const std::string &precision);
// Throws wsss::Error with precisionProblem() when there is one.
void checkPrecision(const std::string &precision);

// Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX): where it does not,
// --precision bf16 is emulated and slower than fp32 on the CPU (`wsss info` says which).
bool cpuHasBf16Products();

// Autocast to bfloat16 on `device`'s type for its lifetime when precision is "bf16"; nothing for
// "fp32". Restores the previous state (nested scopes are fine).
class PrecisionScope {
public:
    PrecisionScope(const std::string &precision, const c10::Device &device);
    ~PrecisionScope();
    PrecisionScope(const PrecisionScope &) = delete;
    PrecisionScope &operator=(const PrecisionScope &) = delete;

private:
    bool m_active = false;
    bool m_cuda = false;
    bool m_wasEnabled = false;
};

} // namespace wsss::vision
