#pragma once
// A real, untrained checkpoint of a method on the tiny test backbone (the demo's ten classes,
// 64 px input): what the studio, `infer` and `inspect` open, in milliseconds.
#include "training/checkpoint/checkpoint.h"
#include "training/data/demo_generator.h"
#include "training/methods/method_registry.h"

#include <torch/torch.h>

#include <string>

namespace wsss::test {

inline void writeTinyCheckpoint(const std::string &path, std::uint64_t seed, const std::string &method = "cam")
{
    torch::manual_seed(seed);
    training::CheckpointHeader header;
    header.method = method;
    header.backbone = "vit_test_patch8";
    header.labelMap = training::demoLabelMap();
    header.inputSize = 64;
    auto model = training::createMethod(header.spec());
    header.config = model->config();
    training::saveCheckpoint(path, header, *model);
}

} // namespace wsss::test
