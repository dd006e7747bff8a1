#pragma once
// Backbone pretraining for the demo: every WSSS method starts from an ImageNet-pretrained
// backbone, and none can be downloaded, so the demo backbone learns to classify single
// Fashion-MNIST items composited on procedural backgrounds (the demo data's own recipe).
#include <cstdint>
#include <functional>
#include <string>

namespace wsss::training {

struct PretrainOptions {
    std::string backbone = "vit_demo_patch8";
    std::string out;             // .safetensors: the backbone's tensors (fp16 when half is set)
    std::string weights;         // "" = random initialisation; else continue from this file
    int iters = 3000;
    int batch = 64;
    int size = 64;               // composite side, pixels
    double lr = 1e-3;            // AdamW peak, warm-up then poly
    int warmup = 200;
    std::string device = "auto";
    std::uint64_t seed = 0;
    int evalImages = 1000;       // held-out composites (test split) scored at the end
    bool half = true;            // store fp16 (bundled weights are small)
    std::string fashionMnistDir; // "" = the Debian package's folder
};

struct PretrainResult {
    double accuracy = 0; // single-item accuracy on the held-out composites
    double seconds = 0;
    double finalLoss = 0;
};

PretrainResult pretrain(const PretrainOptions &options,
                        const std::function<void(std::int64_t step, std::int64_t total, double loss)> &onStep = {});

} // namespace wsss::training
