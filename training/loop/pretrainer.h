#pragma once
// Backbone pretraining for the demo: every WSSS method starts from an ImageNet-pretrained
// backbone, and none can be downloaded, so the demo backbone learns to classify Fashion-MNIST
// items (train split only) composited on procedural backgrounds (the demo data's own recipe).
// Single-item composites carry a softmax loss; a share of steps shows the demo's own multi-item
// composites at their size with a multi-label loss, so the backbone also sees their scale and
// clutter. The accuracy reported is on single-item composites of the test split.
#include "vision/backbones/backbone.h"

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace wsss::training {

struct FashionMnist;

// Augmentation of one composite (all off = the composite as drawn).
struct PretrainAugment {
    double cropMinArea = 1.0; // random resized crop: area fraction in [cropMinArea, 1]; 1 = off
    bool flip = false;        // horizontal flip, p = 0.5
    double jitter = 0.0;      // brightness, contrast and saturation factors in [1 − j, 1 + j]
};

struct PretrainOptions {
    std::string backbone = "vit_demo_patch8";
    std::string out;             // .safetensors: the backbone's tensors (fp16 when half is set)
    std::string weights;         // "" = random initialisation; else continue from this file
    int iters = 3000;
    int batch = 64;
    int size = 64;               // single-item composite side, pixels
    double lr = 1e-3;            // AdamW peak, after a linear warm-up
    int warmup = 200;
    std::string schedule = "cosine"; // after the warm-up: "cosine" to 0, or "poly" (power 0.9)
    double labelSmoothing = 0.1; // of the single-item softmax loss
    double emaDecay = 0.999;     // 0 = off; else the EMA of the weights is evaluated and saved
    double multiFraction = 0.25; // share of steps on multi-item composites (1..3 items)
    int multiSize = 128;         // their side; their batch holds batch·(size/multiSize)² images
    PretrainAugment augment{0.6, true, 0.2};
    double clsHead = 0.0;        // weight of a second classifier's loss on the class token (0 = none)
    std::string device = "auto";
    std::string precision = "fp32"; // fp32 | bf16: the forward and loss under autocast (vision/core/precision.h)
    std::uint64_t seed = 0;
    int evalImages = 1000;       // held-out composites (test split) scored at the end
    std::uint64_t evalSeed = 1;  // fixes the held-out composites, so runs compare on the same set
    bool half = true;            // store fp16 (bundled weights are small)
    std::string fashionMnistDir; // "" = the Debian package's folder
    int saveEvery = 500;         // steps between resume states (OUT.resume, pretrain_state.h); 0 = none
    int evalEvery = 0;           // steps between held-out accuracy checks, each a line of OUT.curve.jsonl
                                 // (with a last one at the end); 0 = only the final accuracy, no file.
                                 // Saved with the run; a resume keeps it unless given another (> 0)
    bool resume = false;         // go on from OUT.resume, with the options saved there
};

// How a classifier's answers on single-item composites fall: counts[true class][answer].
struct ItemConfusion {
    int classes = 0;
    std::vector<std::int64_t> counts; // classes × classes, row-major

    std::int64_t count(int truth, int answer) const { return counts[std::size_t(truth) * classes + answer]; }
    double accuracy() const;            // right answers / all
    double classAccuracy(int truth) const; // right answers among that class's images (NaN: none drawn)
    // The `n` largest off-diagonal cells (truth, answer, count), the most frequent first.
    std::vector<std::tuple<int, int, std::int64_t>> worstConfusions(int n) const;
};

struct PretrainResult {
    double accuracy = 0;    // single-item accuracy on the held-out composites (of the saved weights)
    double rawAccuracy = 0; // the same for the last raw weights (= accuracy without EMA)
    double trainAccuracy = 0; // the saved weights on composites of train-split items drawn the same
                              // way (no augmentation): far above `accuracy` = overfitting, close = underfitting
    ItemConfusion confusion;  // the saved weights' held-out answers
    double classTokenAccuracy = std::nan(""); // held-out accuracy of the class-token head (NaN: none)
    double seconds = 0;     // wall time, every sitting of a resumed run included
    double finalLoss = 0;   // smoothed training loss
    std::int64_t resumedAt = 0; // the step a --resume went on from (0: a fresh run)
};

PretrainResult pretrain(const PretrainOptions &options,
                        const std::function<void(std::int64_t step, std::int64_t total, double loss)> &onStep = {});

// Learning-rate multiplier: linear warm-up from 1/warmup, then cosine to 0 or poly (power 0.9).
double pretrainLrFactor(std::int64_t step, std::int64_t total, std::int64_t warmup, const std::string &schedule);

// Softmax cross-entropy of [N, C] logits against class indices, with label smoothing.
at::Tensor singleItemLoss(const at::Tensor &logits, const at::Tensor &classes, double labelSmoothing);
// Multi-label loss: mean binary cross-entropy of [N, C] logits against 0/1 targets.
at::Tensor multiItemLoss(const at::Tensor &logits, const at::Tensor &present);

// Augments an RGB composite; `keep` (may be empty) is a box whose centre a crop keeps inside.
cv::Mat augmentComposite(const cv::Mat &rgb, const cv::Rect &keep, const PretrainAugment &augment, std::mt19937_64 &rng);

// Single-item accuracy of `classify` ([N, 3, S, S] normalised images → [N, 10] scores) on
// `images` composites of side `size` made from `items` (the pretrainer passes the Fashion-MNIST
// test split) with generator seed `seed`. Ties in the scores go to the lowest class, so a model
// that scores every image alike is right only for that class's share (chance).
double singleItemAccuracy(const std::function<at::Tensor(const at::Tensor &)> &classify, const FashionMnist &items,
                          int size, int images, std::uint64_t seed, const vision::Normalization &norm,
                          const std::string &device = "cpu");
// The same composites, counted per true class and answer.
ItemConfusion singleItemConfusion(const std::function<at::Tensor(const at::Tensor &)> &classify,
                                  const FashionMnist &items, int size, int images, std::uint64_t seed,
                                  const vision::Normalization &norm, const std::string &device = "cpu");

} // namespace wsss::training
