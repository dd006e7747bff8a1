#pragma once
// Method: one WSSS method (or a baseline): a backbone plus the method's heads, its training
// step and its inspection of one image. Built by name from a MethodSpec (method_registry.h).
#include "vision/backbones/vit.h"

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace wsss::training {

struct Batch {
    torch::Tensor images; // [B, 3, H, W], normalised
    torch::Tensor labels; // [B, K] multi-hot, float
    torch::Tensor masks;  // [B, H, W] int64 class indices (255 = ignore); only where the method needs them
    // [B, H, W] bool on the CPU: true on real image, false on the padding of a scaled-down crop
    // (the official img_box; masks are 255 there). Undefined: no padding.
    torch::Tensor valid;
    std::int64_t step = 0, totalSteps = 1; // 0-based optimiser step, for methods whose losses are scheduled
};

// How a method trains: its official code's optimiser and schedule. `wsss train` flags override
// single fields; the resolved recipe is stored with the run.
struct TrainRecipe {
    std::string optimizer = "adamw"; // adamw | sgd
    double lr = 1e-3;                // peak learning rate of the heads
    double backboneLrScale = 0.1;    // backbone lr = lr × this
    double weightDecay = 0.01;
    double momentum = 0.0;           // sgd only
    int warmup = 100;                // linear warm-up steps (or, when warmupFraction > 0, that
    double warmupFraction = 0;       // fraction of the run: schedules that scale with --iters) ...
    double warmupRatio = 1e-6;       // ... from this fraction of the lr (mmseg's PolyWarmup)
    double polyPower = 0.9;          // then lr × (1 − step/total)^power

    nlohmann::json toJson() const;
    void validate() const;
};

// Options of the recipe's optimiser type for one parameter group.
std::unique_ptr<torch::optim::OptimizerOptions> optimizerOptions(const TrainRecipe &recipe, double lr,
                                                                 double weightDecay);

// Named losses (summed for backward) and logs (never backpropagated).
struct StepResult {
    std::map<std::string, torch::Tensor> losses;
    std::map<std::string, double> logs;
    torch::Tensor total() const;
};

// A method's view of one image. Maps are per foreground class at the input resolution,
// in [0, 1]; `backgrounds` only for the kinds whose method scores background with them.
struct MethodOutput {
    torch::Tensor scores;                      // [K], sigmoid of the class logits
    std::map<std::string, torch::Tensor> maps; // kind → [K, H, W]
    // kind → [H, W]: the background score that goes with that kind's maps (a seg head's, AFA's
    // propagated one); that kind's pseudo-mask is the argmax over [background; maps], no threshold.
    std::map<std::string, torch::Tensor> backgrounds;
    torch::Tensor background;                  // the primary map's entry of backgrounds (inferImage sets it)
    std::vector<torch::Tensor> attention;      // per block [heads, T, T], when asked for ...
    std::vector<torch::Tensor> queries, keys;  // ... or per block [heads, T, head dim] (long sequences)
    double attentionScale = 0;                 // softmax(scale · q·k) for those
    // Token-to-token affinities over the patch grid, kind → [N, N] (N = gridHeight·gridWidth):
    // AFA's learned affinity and its random-walk transition, ACR's patch-to-patch attention.
    std::map<std::string, torch::Tensor> affinities;
    std::int64_t gridHeight = 0, gridWidth = 0;
};

// What a method's infer() captures when attention is asked for: every block's probabilities up
// to kDenseAttentionTokens tokens, beyond that every block's queries and keys, so a 4097-token
// ViT-S/8 input does not hold twelve 400 MB matrices at once.
constexpr std::int64_t kDenseAttentionTokens = 1025;
vision::CaptureRequest inspectionCapture(bool wanted, const vision::BackboneInfo &info, std::int64_t height,
                                         std::int64_t width);
// Moves a forward's captures (batch item 0) into the method's output.
void takeAttention(vision::BackboneOutput &out, const vision::BackboneInfo &info, MethodOutput &result);

// What the loop, the inference and the studio need of a method's backbone, whatever its kind.
using BackboneInfo = vision::BackboneInfo;

struct MethodSpec {
    std::string method;
    std::string backbone = "vit_demo_patch8";
    int numClasses = 0; // foreground classes K
    nlohmann::json config = nlohmann::json::object();
};

class Method : public torch::nn::Module {
public:
    virtual std::string name() const = 0;
    // One training step's losses on a batch (the model is in train mode).
    virtual StepResult trainStep(const Batch &batch) = 0;
    // image: [1, 3, H, W]; the caller holds the grad mode it wants and calls eval(). labels:
    // the image's classes as a [K] multi-hot float tensor on the image's device, or undefined
    // when unknown (methods that need them, e.g. for a softmax over the present classes or a
    // gradient per class, then take the classes they score above 0.5).
    virtual MethodOutput infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels) = 0;
    // infer() for a caller that reads only the maps `kinds` (with their backgrounds) and the
    // scores, as `wsss infer`, the export and the evaluation do: a method may leave out the work
    // only its other maps need (AFA's multi-scale segmentation when `aff` is read). The maps asked
    // for are infer()'s; nothing is captured.
    virtual MethodOutput inferMaps(const torch::Tensor &image, const torch::Tensor &labels,
                                   const std::set<std::string> & /*kinds*/)
    {
        return infer(image, false, labels);
    }
    // Whether an inference limited to `only` (inferMaps' kinds; null: every map, as infer())
    // makes the map `kind`.
    static bool makesMap(const std::set<std::string> *only, const char *kind)
    {
        return !only || only->count(kind) > 0;
    }
    // The map kind the default pseudo-label rule reads.
    virtual std::string primaryMap() const = 0;
    // True when the method predicts background itself for its primary map (its infer() gives
    // backgrounds[primaryMap()]: argmax over background + classes, no threshold), as the
    // supervised upper bound does.
    virtual bool predictsBackground() const { return false; }
    // Whether batches must carry ground-truth masks.
    virtual bool needsMasks() const { return false; }
    virtual nlohmann::json config() const = 0;
    // The optimiser and schedule the method's official code uses (defaults for `wsss train`).
    virtual TrainRecipe recipe() const { return {}; }
    // The optimiser's parameter groups under a resolved recipe, with options of the recipe's
    // optimiser type: backbone at lr × backboneLrScale, heads at lr; no weight decay on norms,
    // biases and tokens.
    virtual std::vector<torch::optim::OptimizerParamGroup> parameterGroups(const TrainRecipe &recipe);

    // The backbone as the rest of the program sees it.
    BackboneInfo backboneInfo() const { return m_backbone->info(); }
    // Initialises the backbone from a weights file (names detected); returns notes on what was
    // skipped or resized.
    std::vector<std::string> loadBackboneWeights(const std::string &path) { return m_backbone->loadWeights(path); }
    // Weights the method's config names besides the backbone's (ECA's guider): read once when a
    // run starts, carried by its checkpoints afterwards. Returns notes like loadBackboneWeights.
    virtual std::vector<std::string> loadAuxiliaryWeights() { return {}; }
    // The config keys that name those weights (ECA: "guider"). Changed on a trained checkpoint
    // (`wsss infer --set guider=FILE`), they are read again over the checkpoint's copy.
    virtual std::vector<std::string> auxiliaryWeightKeys() const { return {}; }
    // What keeps a run of this config from starting that shows without reading any weights (ECA
    // with no guider file), for the forms that check a run before it starts.
    virtual std::vector<std::string> startProblems() const { return {}; }
    // The input normalisation the backbone expects (a checkpoint restores its run's, which the
    // weights' family may have changed from the preset's).
    void setInputNormalization(const vision::Normalization &norm) { m_backbone->setNormalization(norm); }

    vision::Backbone &backbone() { return *m_backbone; }
    // The backbone as a ViT, or null (MiT): for what only a ViT has (its blocks run one by one,
    // its configuration).
    vision::VisionTransformerImpl *vit() const { return dynamic_cast<vision::VisionTransformerImpl *>(m_backbone.get()); }

protected:
    // Registers the backbone as "backbone" (checkpoint keys backbone.*).
    void setBackbone(std::shared_ptr<vision::Backbone> backbone);
    // vit(), or wsss::Error naming the method and the backbone when it is not a ViT.
    vision::VisionTransformerImpl &requireVit(const std::string &method) const;

    std::shared_ptr<vision::Backbone> m_backbone;
};

} // namespace wsss::training
