#pragma once
// AcrConfig: ACR's settings (methods/acr.md). Defaults are the shipped VOC script's
// (train_acr.sh); `preset: "paper"` switches to the paper's values (App. A). Keys the JSON sets
// explicitly win over the preset's, whatever their order.
#include "training/methods/method.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace wsss::training {

struct AcrConfig {
    // official: lr 0.05, α = β = 125, the "official" optimiser (train_acr.sh, 10 epochs at VOC
    // = 26,450 steps of batch 4). paper: lr 0.01, α = β = 100, the "corrected" optimiser
    // (App. A; the paper trains 15 epochs: pass --iters accordingly, the preset cannot).
    std::string preset = "official";
    // Peak learning rate of every parameter (one group, poly 0.9 decay, no warm-up; acr.md §6).
    // 0.05 is tuned for the R50 hybrid at 384 px: smaller backbones may need --lr.
    double lr = 0.05;
    double alpha = 125; // weight of the activation consistency L_act (acr.md §5.1)
    double beta = 125;  // weight of the affinity consistency L_aff
    // official: PolyOptimizer's quirk (SGD, momentum 5e-4, weight decay 0: the weight decay lands
    // in SGD's momentum slot, acr.md §6). corrected: SGD, momentum 0.9, weight decay 5e-4.
    std::string optimizer = "official";
    // The second view's transform, drawn uniformly per step when several are listed: hflip (the
    // code and the paper's best, Tab. 7), vflip, rot90, rot180, rot270 (paper only, §5.3).
    std::vector<std::string> views{"hflip"};
    // The last blocks whose attention gradients make the map: gradLayers when > 0 (the official
    // 2: start_layer 10 of 12); 0 = gradLayersFraction of the backbone's depth, rounded, at
    // least 1 (2 of 12; 1 of the demo's 4).
    int gradLayers = 0;
    double gradLayersFraction = 2.0 / 12.0;
    bool affinityRefine = true; // the primary map is the affinity-refined one (ACR; false: ACR*)
    // a_g: m_i = Σ_j R[i, j]·g_j (the official code, MCTformer); g_a: m_j = Σ_i g_i·R[i, j] (paper eq. 8).
    std::string product = "a_g";

    static AcrConfig official() { return {}; }
    static AcrConfig paper();
    static AcrConfig fromJson(const nlohmann::json &json);
    nlohmann::json toJson() const;
    void validate() const;
    // The number of gradient blocks on a backbone of `depth` blocks.
    int gradLayersFor(int depth) const;
    // The optimiser and schedule of the chosen optimiser mode (Method::recipe()).
    TrainRecipe recipe() const;
};

} // namespace wsss::training
