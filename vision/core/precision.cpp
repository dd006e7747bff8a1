#include "vision/core/precision.h"

#include "vision/core/error.h"

#include <ATen/autocast_mode.h>

namespace wsss::vision {

std::vector<std::string> precisionNames()
{
    return {"fp32", "bf16"};
}

std::string precisionProblem(const std::string &precision)
{
    std::string known;
    for (const auto &name : precisionNames()) {
        if (precision == name)
            return {};
        known += (known.empty() ? "" : ", ") + name;
    }
    return "precision \"" + precision + "\" is not known (known: " + known + ")";
}

void checkPrecision(const std::string &precision)
{
    if (const std::string problem = precisionProblem(precision); !problem.empty())
        throw Error(problem);
}

bool cpuHasBf16Products()
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
    return false;
#endif
}

PrecisionScope::PrecisionScope(const std::string &precision, const c10::Device &device)
{
    checkPrecision(precision);
    if (precision != "bf16")
        return;
    m_active = true;
    m_cuda = device.is_cuda();
    if (m_cuda) {
        m_wasEnabled = at::autocast::is_enabled();
        at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
        at::autocast::set_enabled(true);
    } else {
        m_wasEnabled = at::autocast::is_cpu_enabled();
        at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
        at::autocast::set_cpu_enabled(true);
    }
    at::autocast::increment_nesting();
}

PrecisionScope::~PrecisionScope()
{
    if (!m_active)
        return;
    // The outermost scope drops autocast's cache of bfloat16 copies of the weights: they are
    // stale once the optimiser steps.
    if (at::autocast::decrement_nesting() == 0)
        at::autocast::clear_cache();
    if (m_cuda)
        at::autocast::set_enabled(m_wasEnabled);
    else
        at::autocast::set_cpu_enabled(m_wasEnabled);
}

} // namespace wsss::vision
