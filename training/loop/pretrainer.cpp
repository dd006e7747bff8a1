#include "training/loop/pretrainer.h"

#include "training/data/dataset.h"
#include "training/data/demo_generator.h"
#include "training/data/fashion_mnist.h"
#include "training/loop/pretrain_state.h"
#include "training/loop/run_folder.h"
#include "training/loop/schedule.h"
#include "training/methods/inference.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/core/precision.h"
#include "vision/core/thread_budget.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"
#include "vision/weights/vit_key_maps.h"

#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <cstdio>
#include <optional>

namespace wsss::training {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Backbone + average-pooled patch features + a linear classifier (discarded after pretraining);
// average pooling keeps the evidence spread over the item's patches, which CAMs later read.
// Optionally a second classifier on the class token, so that token learns to gather the items
// too: methods that classify from it (ACR) or read its attention (ECA's guider) start from an
// untrained token otherwise.
struct Classifier : torch::nn::Module {
    Classifier(const std::string &backbone, int classes, bool classTokenHead)
    {
        vit = register_module("backbone", vision::VisionTransformer(vision::vitPreset(backbone)));
        head = register_module("head", torch::nn::Linear(vit->config().embedDim, classes));
        if (classTokenHead) {
            if (vit->config().prefixTokens < 1)
                throw Error("pretrain: --cls-head needs a class token, which backbone \"" + backbone + "\" has not");
            clsHead = register_module("cls_head", torch::nn::Linear(vit->config().embedDim, classes));
        }
    }
    // The patch-average head's logits and, with a class-token head, that head's (else undefined).
    std::pair<torch::Tensor, torch::Tensor> logits(const torch::Tensor &x)
    {
        auto out = vit(x);
        auto pooled = head(out.tokens.slice(1, out.prefixTokens).mean(1));
        if (!clsHead)
            return {pooled, {}};
        return {pooled, clsHead(out.tokens.select(1, 0))};
    }
    torch::Tensor forward(const torch::Tensor &x) { return logits(x).first; }
    torch::Tensor forwardClassToken(const torch::Tensor &x) { return logits(x).second; }
    vision::VisionTransformer vit{nullptr};
    torch::nn::Linear head{nullptr};
    torch::nn::Linear clsHead{nullptr};
};

double uniform(std::mt19937_64 &rng, double lo, double hi)
{
    return std::uniform_real_distribution<double>(lo, hi)(rng);
}

struct ItemBatch {
    torch::Tensor images, targets; // targets: class indices (single) or [N, 10] 0/1 (multi)
};

ItemBatch singleBatch(const DemoCompositor &compositor, std::mt19937_64 &rng, int n, const vision::Normalization &norm,
                      const PretrainAugment *augment)
{
    std::vector<torch::Tensor> images;
    std::vector<std::int64_t> classes;
    for (int i = 0; i < n; ++i) {
        int cls = 0;
        Composite c = compositor.composeSingle(rng, &cls);
        if (augment)
            c.rgb = augmentComposite(c.rgb, c.objects.empty() ? cv::Rect() : c.objects.front().box, *augment, rng);
        images.push_back(imageToTensor(c.rgb, norm));
        classes.push_back(cls);
    }
    return {torch::stack(images), torch::tensor(classes)};
}

// The demo's own recipe (1..3 items at 35-70 % of the side); no crop, which could cut an item out.
ItemBatch multiBatch(const DemoCompositor &compositor, std::mt19937_64 &rng, int n, const vision::Normalization &norm,
                     const PretrainAugment &augment, int classes)
{
    PretrainAugment noCrop = augment;
    noCrop.cropMinArea = 1.0;
    std::vector<torch::Tensor> images;
    auto present = torch::zeros({n, classes});
    for (int i = 0; i < n; ++i) {
        Composite c = compositor.compose(rng, std::uniform_int_distribution<int>(1, 3)(rng));
        images.push_back(imageToTensor(augmentComposite(c.rgb, cv::Rect(), noCrop, rng), norm));
        for (int label : c.labels)
            present[i][label - 1] = 1.0f;
    }
    return {torch::stack(images), present};
}

void emaUpdate(torch::nn::Module &ema, const torch::nn::Module &model, double decay)
{
    torch::NoGradGuard noGrad;
    auto target = ema.named_parameters(true);
    for (const auto &p : model.named_parameters(true))
        // lerp leaves a weight exactly as it is when the model's equals it.
        target[p.key()].lerp_(p.value().detach(), 1.0 - decay);
}

} // namespace

double pretrainLrFactor(std::int64_t step, std::int64_t total, std::int64_t warmup, const std::string &schedule)
{
    if (schedule == "poly")
        return warmupPolyFactor(step, total, warmup);
    if (schedule != "cosine")
        throw Error("pretrain: unknown schedule \"" + schedule + "\" (cosine or poly)");
    if (warmup > 0 && step < warmup)
        return static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double span = static_cast<double>(std::max<std::int64_t>(1, total - warmup));
    const double progress = std::clamp(static_cast<double>(step - warmup) / span, 0.0, 1.0);
    return 0.5 * (1.0 + std::cos(kPi * progress));
}

torch::Tensor singleItemLoss(const torch::Tensor &logits, const torch::Tensor &classes, double labelSmoothing)
{
    return torch::nn::functional::cross_entropy(
        logits, classes, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(labelSmoothing));
}

torch::Tensor multiItemLoss(const torch::Tensor &logits, const torch::Tensor &present)
{
    return torch::nn::functional::binary_cross_entropy_with_logits(logits, present);
}

cv::Mat augmentComposite(const cv::Mat &rgb, const cv::Rect &keep, const PretrainAugment &a, std::mt19937_64 &rng)
{
    cv::Mat out = rgb;
    const int w0 = rgb.cols, h0 = rgb.rows;
    if (a.cropMinArea < 1.0) {
        const double area = uniform(rng, std::max(0.05, a.cropMinArea), 1.0) * w0 * h0;
        const double aspect = std::exp(uniform(rng, std::log(3.0 / 4.0), std::log(4.0 / 3.0)));
        const int w = std::clamp(int(std::lround(std::sqrt(area * aspect))), 1, w0);
        const int h = std::clamp(int(std::lround(std::sqrt(area / aspect))), 1, h0);
        int xLo = 0, xHi = w0 - w, yLo = 0, yHi = h0 - h;
        if (!keep.empty()) { // keep the item's centre inside the crop, so the label stays true
            const int cx = keep.x + keep.width / 2, cy = keep.y + keep.height / 2;
            xLo = std::clamp(cx - w + 1, 0, xHi);
            xHi = std::clamp(cx, xLo, xHi);
            yLo = std::clamp(cy - h + 1, 0, yHi);
            yHi = std::clamp(cy, yLo, yHi);
        }
        const int x = std::uniform_int_distribution<int>(xLo, xHi)(rng);
        const int y = std::uniform_int_distribution<int>(yLo, yHi)(rng);
        cv::Mat cropped; // a fresh buffer: `out` still shares the input's pixels
        cv::resize(rgb(cv::Rect(x, y, w, h)), cropped, rgb.size(), 0, 0, cv::INTER_LINEAR);
        out = cropped;
    }
    if (a.flip && uniform(rng, 0, 1) < 0.5) {
        cv::Mat flipped;
        cv::flip(out, flipped, 1);
        out = flipped;
    }
    if (a.jitter > 0) {
        const float brightness = float(uniform(rng, 1 - a.jitter, 1 + a.jitter));
        const float contrast = float(uniform(rng, 1 - a.jitter, 1 + a.jitter));
        const float saturation = float(uniform(rng, 1 - a.jitter, 1 + a.jitter));
        cv::Mat f;
        out.convertTo(f, CV_32FC3, brightness);
        const cv::Scalar channelMeans = cv::mean(f);
        const float mean = float(channelMeans[0] + channelMeans[1] + channelMeans[2]) / 3.0f;
        cv::Mat jittered(f.size(), CV_8UC3);
        for (int y = 0; y < f.rows; ++y) {
            const auto *p = f.ptr<cv::Vec3f>(y);
            auto *o = jittered.ptr<cv::Vec3b>(y);
            for (int x = 0; x < f.cols; ++x) {
                const float grey = 0.299f * p[x][0] + 0.587f * p[x][1] + 0.114f * p[x][2];
                for (int c = 0; c < 3; ++c) {
                    const float v = grey + saturation * (p[x][c] - grey);
                    o[x][c] = cv::saturate_cast<std::uint8_t>(mean + contrast * (v - mean));
                }
            }
        }
        out = jittered;
    }
    return out.data == rgb.data ? rgb.clone() : out;
}

double ItemConfusion::accuracy() const
{
    std::int64_t right = 0, all = 0;
    for (int t = 0; t < classes; ++t)
        for (int a = 0; a < classes; ++a) {
            all += count(t, a);
            right += t == a ? count(t, a) : 0;
        }
    return all ? double(right) / double(all) : std::nan("");
}

double ItemConfusion::classAccuracy(int truth) const
{
    std::int64_t all = 0;
    for (int a = 0; a < classes; ++a)
        all += count(truth, a);
    return all ? double(count(truth, truth)) / double(all) : std::nan("");
}

std::vector<std::tuple<int, int, std::int64_t>> ItemConfusion::worstConfusions(int n) const
{
    std::vector<std::tuple<int, int, std::int64_t>> cells;
    for (int t = 0; t < classes; ++t)
        for (int a = 0; a < classes; ++a)
            if (t != a && count(t, a) > 0)
                cells.emplace_back(t, a, count(t, a));
    std::stable_sort(cells.begin(), cells.end(),
                     [](const auto &x, const auto &y) { return std::get<2>(x) > std::get<2>(y); });
    if (cells.size() > std::size_t(std::max(n, 0)))
        cells.resize(std::size_t(std::max(n, 0)));
    return cells;
}

ItemConfusion singleItemConfusion(const std::function<torch::Tensor(const torch::Tensor &)> &classify,
                                  const FashionMnist &items, int size, int images, std::uint64_t seed,
                                  const vision::Normalization &norm, const std::string &device)
{
    if (images <= 0)
        throw Error("pretrain: the accuracy needs at least one image (got " + std::to_string(images) + ")");
    const DemoCompositor compositor(items, size);
    const auto dev = resolveDevice(device);
    torch::NoGradGuard noGrad;
    std::mt19937_64 rng(seed);
    ItemConfusion confusion;
    confusion.classes = static_cast<int>(fashionMnistClassNames().size());
    confusion.counts.assign(std::size_t(confusion.classes) * confusion.classes, 0);
    std::int64_t seen = 0;
    while (seen < images) {
        const int n = std::min<int>(64, images - static_cast<int>(seen));
        auto batch = singleBatch(compositor, rng, n, norm, nullptr);
        const auto scores = classify(batch.images.to(dev)).to(torch::kCPU);
        if (scores.dim() != 2 || scores.size(0) != n || scores.size(1) != confusion.classes)
            throw Error("pretrain: the classifier returned scores of shape " + c10::str(scores.sizes()) +
                        ", not [" + std::to_string(n) + ", " + std::to_string(confusion.classes) + "]");
        const auto answers = scores.argmax(1).to(torch::kLong).contiguous();
        const auto truths = batch.targets.to(torch::kLong).contiguous();
        const auto answer = answers.accessor<std::int64_t, 1>();
        const auto truth = truths.accessor<std::int64_t, 1>();
        for (int i = 0; i < n; ++i)
            ++confusion.counts[std::size_t(truth[i] * confusion.classes + answer[i])];
        seen += n;
    }
    return confusion;
}

double singleItemAccuracy(const std::function<torch::Tensor(const torch::Tensor &)> &classify, const FashionMnist &items,
                          int size, int images, std::uint64_t seed, const vision::Normalization &norm,
                          const std::string &device)
{
    return singleItemConfusion(classify, items, size, images, seed, norm, device).accuracy();
}

PretrainResult pretrain(const PretrainOptions &sitting,
                        const std::function<void(std::int64_t, std::int64_t, double)> &onStep)
{
    if (sitting.out.empty())
        throw Error("pretrain: --out is required");
    if (sitting.saveEvery < 0)
        throw Error("pretrain: --save-every " + std::to_string(sitting.saveEvery) + " must be 0 (none) or positive");
    if (sitting.evalEvery < 0)
        throw Error("pretrain: --eval-every " + std::to_string(sitting.evalEvery) + " must be 0 (none) or positive");
    // A resumed run is the saved one: its options come from its state, the sitting keeps only
    // where it writes and on what device. A state left by an interrupted run is never overwritten
    // by a fresh one: that would throw away hours of steps.
    const auto statePath = pretrainStatePath(sitting.out);
    std::optional<PretrainState> interrupted;
    if (sitting.resume)
        interrupted = peekPretrainState(sitting.out);
    else if (std::filesystem::exists(statePath))
        throw Error("pretrain: \"" + statePath.string() + "\" holds an interrupted pretraining of \"" + sitting.out +
                    "\": --resume goes on with it; remove the file to start afresh");
    const PretrainOptions o = interrupted ? withRunOptions(sitting, interrupted->options) : sitting;
    if (o.iters <= 0 || o.batch <= 0)
        throw Error("pretrain: --iters and --batch must be positive");
    if (o.emaDecay < 0 || o.emaDecay >= 1)
        throw Error("pretrain: --ema " + std::to_string(o.emaDecay) + " must be in [0, 1)");
    if (o.labelSmoothing < 0 || o.labelSmoothing >= 1)
        throw Error("pretrain: --label-smoothing " + std::to_string(o.labelSmoothing) + " must be in [0, 1)");
    if (o.multiFraction < 0 || o.multiFraction > 1)
        throw Error("pretrain: --multi-fraction " + std::to_string(o.multiFraction) + " must be in [0, 1]");
    if (!(o.clsHead >= 0 && std::isfinite(o.clsHead)))
        throw Error("pretrain: --cls-head " + std::to_string(o.clsHead) + " must be a finite weight ≥ 0");
    if (o.augment.cropMinArea <= 0 || o.augment.cropMinArea > 1 || o.augment.jitter < 0 || o.augment.jitter >= 1)
        throw Error("pretrain: --crop-min-area must be in (0, 1] and --jitter in [0, 1)");
    if (const std::string problem = vision::precisionProblem(o.precision); !problem.empty())
        throw Error("pretrain: --precision: " + problem);
    pretrainLrFactor(0, o.iters, o.warmup, o.schedule); // names an unknown schedule before any work
    const auto start = std::chrono::steady_clock::now();
    torch::manual_seed(o.seed);
    const auto device = resolveDevice(o.device);
    const std::string dir = o.fashionMnistDir.empty() ? defaultFashionMnistDir() : o.fashionMnistDir;
    // Training draws only from the train split; the test split (whose items the demo's val
    // composites use) is read for the held-out accuracy alone.
    const FashionMnist trainItems = loadFashionMnist(dir, true);
    const FashionMnist testItems = loadFashionMnist(dir, false);
    const int classes = static_cast<int>(fashionMnistClassNames().size());
    DemoCompositor trainCompositor(trainItems, o.size);
    std::unique_ptr<DemoCompositor> multiCompositor;
    const int multiImages = std::max(
        1, int(std::lround(o.batch * double(o.size) * o.size / (double(o.multiSize) * o.multiSize))));
    if (o.multiFraction > 0)
        multiCompositor = std::make_unique<DemoCompositor>(trainItems, o.multiSize);

    Classifier model(o.backbone, classes, o.clsHead > 0);
    // A longer schedule can continue from an earlier run's backbone (the head starts afresh).
    if (!o.weights.empty() && !interrupted)
        vision::loadVitWeights(*model.vit, o.weights);
    model.to(device);
    std::shared_ptr<Classifier> ema;
    if (o.emaDecay > 0) {
        ema = std::make_shared<Classifier>(o.backbone, classes, o.clsHead > 0);
        ema->to(device);
        torch::NoGradGuard noGrad;
        auto target = ema->named_parameters(true);
        for (const auto &p : model.named_parameters(true))
            target[p.key()].copy_(p.value());
        ema->eval();
    }
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
    // What is evaluated and saved: the EMA where there is one, else the raw weights.
    Classifier &saved = ema ? *ema : model;
    std::int64_t first = 0;
    if (interrupted) {
        loadPretrainState(o.out, rng, model, saved, optimizer);
        first = result.resumedAt = interrupted->step;
        smoothed = interrupted->smoothedLoss;
    }
    const double earlierSeconds = interrupted ? interrupted->seconds : 0.0;
    const auto elapsed = [&] {
        return earlierSeconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    // The accuracy curve: the held-out accuracy of the saved weights (the EMA's) and of the raw
    // ones every evalEvery steps. Evaluation draws from its own generator and runs without
    // dropout, so the training's course is the same with or without it.
    const auto scorer = [](Classifier &m) { return [&m](const torch::Tensor &x) { return m.forward(x); }; };
    // The held-out answers of the raw weights and of the saved ones (the same, scored once,
    // without an EMA); the model is left in eval mode.
    const auto heldOut = [&]() -> std::pair<ItemConfusion, ItemConfusion> {
        model.eval();
        ItemConfusion raw = singleItemConfusion(scorer(model), testItems, o.size, o.evalImages, o.evalSeed, norm, o.device);
        if (!ema)
            return {raw, raw};
        return {raw, singleItemConfusion(scorer(*ema), testItems, o.size, o.evalImages, o.evalSeed, norm, o.device)};
    };
    const std::string curvePath = o.out + ".curve.jsonl";
    std::ofstream curve;
    if (o.evalEvery > 0) {
        if (interrupted)
            keepLinesUpToStep(curvePath, first);
        curve.open(curvePath, interrupted ? std::ios::app : std::ios::trunc);
        if (!curve)
            throw Error("pretrain: cannot write \"" + curvePath + "\"");
    }
    const auto writeCurve = [&](std::int64_t step, double accuracy, double rawAccuracy) {
        curve << nlohmann::json{{"step", step},         {"seconds", elapsed()},         {"accuracy", accuracy},
                                {"raw_accuracy", rawAccuracy}, {"loss", smoothed}}.dump()
              << std::endl;
        if (!curve)
            throw Error("pretrain: cannot write \"" + curvePath + "\"");
    };
    model.train();
    vision::ThreadBudget threads(at::get_num_threads()); // fewer while other programs keep the cores busy
    for (std::int64_t step = first; step < o.iters; ++step) {
        threads.adapt();
        const double factor = pretrainLrFactor(step, o.iters, o.warmup, o.schedule);
        for (auto &g : optimizer.param_groups())
            static_cast<torch::optim::AdamWOptions &>(g.options()).lr(o.lr * factor);
        // Multi-item steps are spread evenly: step s is one when ⌊(s+1)f⌋ passes ⌊sf⌋.
        const bool multi = multiCompositor &&
                           std::floor((step + 1) * o.multiFraction) > std::floor(step * o.multiFraction);
        torch::Tensor loss;
        {
            const vision::PrecisionScope precision(o.precision, device); // the forward and the loss only
            auto batch = multi ? multiBatch(*multiCompositor, rng, multiImages, norm, o.augment, classes)
                               : singleBatch(trainCompositor, rng, o.batch, norm, &o.augment);
            const auto targets = batch.targets.to(device);
            const auto lossOf = [&](const torch::Tensor &logits) {
                return multi ? multiItemLoss(logits, targets) : singleItemLoss(logits, targets, o.labelSmoothing);
            };
            const auto [pooled, classToken] = model.logits(batch.images.to(device));
            loss = lossOf(pooled);
            if (classToken.defined())
                loss = loss + o.clsHead * lossOf(classToken);
        }
        const double value = loss.item<double>();
        if (!std::isfinite(value))
            throw Error("pretrain: loss is " + std::to_string(value) + " at step " + std::to_string(step));
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        // The EMA's decay ramps up (as TensorFlow's num_updates does), so a short run or a fresh
        // head is not dominated by the starting weights.
        if (ema)
            emaUpdate(*ema, model, std::min(o.emaDecay, (1.0 + step) / (10.0 + step)));
        smoothed = step == 0 ? value : 0.98 * smoothed + 0.02 * value;
        if (o.saveEvery > 0 && (step + 1) % o.saveEvery == 0 && step + 1 < o.iters)
            savePretrainState(o.out, {pretrainRunOptions(o), step + 1, smoothed, elapsed()}, rng, model, saved,
                              optimizer);
        if (o.evalEvery > 0 && (step + 1) % o.evalEvery == 0 && step + 1 < o.iters) {
            const auto [raw, kept] = heldOut();
            writeCurve(step + 1, kept.accuracy(), raw.accuracy());
            model.train();
        }
        if (onStep)
            onStep(step + 1, o.iters, smoothed);
    }
    result.finalLoss = smoothed;

    // Held-out accuracy on single-item composites of the test split.
    const auto [raw, kept] = heldOut();
    result.rawAccuracy = raw.accuracy();
    result.confusion = kept;
    result.accuracy = result.confusion.accuracy();
    result.trainAccuracy = singleItemAccuracy(scorer(saved), trainItems, o.size, o.evalImages, o.evalSeed, norm, o.device);
    if (saved.clsHead)
        result.classTokenAccuracy = singleItemAccuracy(
            [&saved](const torch::Tensor &x) { return saved.forwardClassToken(x); }, testItems, o.size, o.evalImages,
            o.evalSeed, norm, o.device);
    result.seconds = elapsed();
    if (o.evalEvery > 0)
        writeCurve(o.iters, result.accuracy, result.rawAccuracy);

    std::map<std::string, torch::Tensor> tensors;
    for (auto &[name, t] : vision::stateDict(*saved.vit))
        tensors[name] = o.half && t.is_floating_point() ? t.to(torch::kHalf) : t;
    char accuracy[32], recipe[256];
    std::snprintf(accuracy, sizeof accuracy, "%.4f", result.accuracy);
    std::snprintf(recipe, sizeof recipe,
                  "fashion-mnist train-split composites, single item at %d px, %.0f %% of steps 1-3 items at %d px; "
                  "crop %.2f, flip %d, jitter %.2f, smoothing %.2f, ema %.4f, %s, class-token head %.2f",
                  o.size, 100 * (multiCompositor ? o.multiFraction : 0.0), o.multiSize, o.augment.cropMinArea,
                  o.augment.flip ? 1 : 0, o.augment.jitter, o.labelSmoothing, o.emaDecay, o.schedule.c_str(), o.clsHead);
    vision::writeSafetensors(o.out, tensors,
                             {{"backbone", o.backbone},
                              {"pretrain", std::string(recipe) + (o.weights.empty() ? "" : ", continued from an earlier run")},
                              {"iters", std::to_string(o.iters)},
                              {"batch", std::to_string(o.batch)},
                              {"lr", std::to_string(o.lr)},
                              {"accuracy", accuracy}});
    // The run is done and written: its state would only make the next run with this --out refuse.
    std::error_code ignored;
    std::filesystem::remove(statePath, ignored);
    return result;
}

} // namespace wsss::training
