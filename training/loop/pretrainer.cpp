#include "training/loop/pretrainer.h"

#include "training/data/dataset.h"
#include "training/data/demo_generator.h"
#include "training/data/fashion_mnist.h"
#include "training/loop/schedule.h"
#include "training/methods/inference.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"
#include "vision/weights/vit_key_maps.h"

#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <random>

namespace wsss::training {

namespace {

// Backbone + average-pooled patch features + a linear classifier (discarded after pretraining);
// average pooling keeps the evidence spread over the item's patches, which CAMs later read.
struct Classifier : torch::nn::Module {
    Classifier(const std::string &backbone, int classes)
    {
        vit = register_module("backbone", vision::VisionTransformer(vision::vitPreset(backbone)));
        head = register_module("head", torch::nn::Linear(vit->config().embedDim, classes));
    }
    torch::Tensor forward(const torch::Tensor &x)
    {
        auto out = vit(x);
        return head(out.tokens.slice(1, out.prefixTokens).mean(1));
    }
    vision::VisionTransformer vit{nullptr};
    torch::nn::Linear head{nullptr};
};

struct ItemBatch {
    torch::Tensor images, classes;
};

ItemBatch makeBatch(const DemoCompositor &compositor, std::mt19937_64 &rng, int n, const vision::Normalization &norm)
{
    std::vector<torch::Tensor> images;
    std::vector<std::int64_t> classes;
    for (int i = 0; i < n; ++i) {
        int cls = 0;
        Composite c = compositor.composeSingle(rng, &cls);
        images.push_back(imageToTensor(c.rgb, norm));
        classes.push_back(cls);
    }
    return {torch::stack(images), torch::tensor(classes)};
}

} // namespace

PretrainResult pretrain(const PretrainOptions &o,
                        const std::function<void(std::int64_t, std::int64_t, double)> &onStep)
{
    if (o.out.empty())
        throw Error("pretrain: --out is required");
    if (o.iters <= 0 || o.batch <= 0)
        throw Error("pretrain: --iters and --batch must be positive");
    const auto start = std::chrono::steady_clock::now();
    torch::manual_seed(o.seed);
    const auto device = resolveDevice(o.device);
    const std::string dir = o.fashionMnistDir.empty() ? defaultFashionMnistDir() : o.fashionMnistDir;
    const FashionMnist trainItems = loadFashionMnist(dir, true);
    const FashionMnist testItems = loadFashionMnist(dir, false);
    DemoCompositor trainCompositor(trainItems, o.size), testCompositor(testItems, o.size);

    Classifier model(o.backbone, static_cast<int>(fashionMnistClassNames().size()));
    // A longer schedule can continue from an earlier run's backbone (the head starts afresh).
    if (!o.weights.empty())
        vision::loadVitWeights(*model.vit, o.weights);
    model.to(device);
    const auto norm = model.vit->config().norm;
    std::vector<torch::Tensor> decay, noDecay;
    for (const auto &p : model.named_parameters(true))
        (p.value().dim() <= 1 || p.key().find("pos_embed") != std::string::npos ||
                 p.key().find("cls_token") != std::string::npos
             ? noDecay
             : decay)
            .push_back(p.value());
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(o.lr).weight_decay(0.05)));
    groups.emplace_back(noDecay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(o.lr).weight_decay(0.0)));
    torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(o.lr));

    std::mt19937_64 rng(o.seed);
    PretrainResult result;
    double smoothed = 0;
    model.train();
    for (std::int64_t step = 0; step < o.iters; ++step) {
        const double factor = warmupPolyFactor(step, o.iters, o.warmup);
        for (auto &g : optimizer.param_groups())
            static_cast<torch::optim::AdamWOptions &>(g.options()).lr(o.lr * factor);
        auto batch = makeBatch(trainCompositor, rng, o.batch, norm);
        auto loss = torch::nn::functional::cross_entropy(model.forward(batch.images.to(device)), batch.classes.to(device));
        const double value = loss.item<double>();
        if (!std::isfinite(value))
            throw Error("pretrain: loss is " + std::to_string(value) + " at step " + std::to_string(step));
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        smoothed = step == 0 ? value : 0.98 * smoothed + 0.02 * value;
        if (onStep)
            onStep(step + 1, o.iters, smoothed);
    }
    result.finalLoss = smoothed;

    // Held-out accuracy on composites of the test split.
    model.eval();
    torch::NoGradGuard noGrad;
    std::mt19937_64 evalRng(o.seed + 1);
    std::int64_t correct = 0, seen = 0;
    while (seen < o.evalImages) {
        const int n = std::min(64, o.evalImages - static_cast<int>(seen));
        auto batch = makeBatch(testCompositor, evalRng, n, norm);
        auto predicted = model.forward(batch.images.to(device)).argmax(1).to(torch::kCPU);
        correct += predicted.eq(batch.classes).sum().item<std::int64_t>();
        seen += n;
    }
    result.accuracy = static_cast<double>(correct) / std::max<std::int64_t>(1, seen);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::map<std::string, torch::Tensor> tensors;
    for (auto &[name, t] : vision::stateDict(*model.vit))
        tensors[name] = o.half && t.is_floating_point() ? t.to(torch::kHalf) : t;
    char accuracy[32];
    std::snprintf(accuracy, sizeof accuracy, "%.4f", result.accuracy);
    vision::writeSafetensors(o.out, tensors,
                             {{"backbone", o.backbone},
                              {"pretrain", "fashion-mnist composites, single item, " + std::to_string(o.size) + " px" +
                                               (o.weights.empty() ? "" : ", continued from an earlier run")},
                              {"iters", std::to_string(o.iters)},
                              {"batch", std::to_string(o.batch)},
                              {"accuracy", accuracy}});
    return result;
}

} // namespace wsss::training
