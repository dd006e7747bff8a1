#include "training/methods/acr/acr_config.h"

#include "training/methods/config_json.h"
#include "vision/maps/affinity_refine.h"
#include "vision/maps/token_permutation.h"

#include <algorithm>
#include <cmath>

namespace wsss::training {

AcrConfig AcrConfig::paper()
{
    AcrConfig c;
    c.preset = "paper";
    c.lr = 0.01;
    c.alpha = c.beta = 100;
    c.optimizer = "corrected";
    return c;
}

AcrConfig AcrConfig::fromJson(const nlohmann::json &json)
{
    rejectUnknownKeys(json, "acr", {"preset", "lr", "alpha", "beta", "optimizer", "views", "grad_layers",
                                    "grad_layers_fraction", "affinity_refine", "product"});
    AcrConfig c = presetConfig<AcrConfig>(json, "acr");
    readKey(json, "lr", c.lr);
    readKey(json, "alpha", c.alpha);
    readKey(json, "beta", c.beta);
    readKey(json, "optimizer", c.optimizer);
    if (json.contains("views") && json.at("views").is_string())
        c.views = {json.at("views").get<std::string>()}; // --set views=vflip
    else
        readKey(json, "views", c.views);
    readKey(json, "grad_layers", c.gradLayers);
    readKey(json, "grad_layers_fraction", c.gradLayersFraction);
    readKey(json, "affinity_refine", c.affinityRefine);
    readKey(json, "product", c.product);
    c.validate();
    return c;
}

nlohmann::json AcrConfig::toJson() const
{
    return {{"preset", preset}, {"lr", lr}, {"alpha", alpha}, {"beta", beta}, {"optimizer", optimizer},
            {"views", views}, {"grad_layers", gradLayers}, {"grad_layers_fraction", gradLayersFraction},
            {"affinity_refine", affinityRefine},
            {"product", product}};
}

void AcrConfig::validate() const
{
    if (!(lr > 0) || !std::isfinite(lr))
        throw Error("acr: lr " + std::to_string(lr) + " must be positive");
    if (!(alpha >= 0) || !(beta >= 0))
        throw Error("acr: alpha " + std::to_string(alpha) + " and beta " + std::to_string(beta) + " must be >= 0");
    if (optimizer != "official" && optimizer != "corrected")
        throw Error("acr: optimizer \"" + optimizer + "\" is not official or corrected");
    if (views.empty())
        throw Error("acr: views is empty (give at least one of hflip, vflip, rot90, rot180, rot270)");
    for (const auto &v : views)
        vision::gridTransformFromName(v); // names the bad one
    if (gradLayers < 0)
        throw Error("acr: grad_layers " + std::to_string(gradLayers) + " must be >= 0 (0: grad_layers_fraction of the depth)");
    if (!(gradLayersFraction > 0 && gradLayersFraction <= 1))
        throw Error("acr: grad_layers_fraction " + std::to_string(gradLayersFraction) + " is outside (0, 1]");
    vision::affinityProductFromName(product);
}

int AcrConfig::gradLayersFor(int depth) const
{
    if (gradLayers > 0)
        return gradLayers;
    return std::clamp(static_cast<int>(std::lround(gradLayersFraction * depth)), 1, std::max(depth, 1));
}

TrainRecipe AcrConfig::recipe() const
{
    TrainRecipe r;
    r.optimizer = "sgd";
    r.lr = lr;
    r.backboneLrScale = 1.0; // one parameter group in the official code: no larger lr for the head
    r.warmup = 0;
    r.polyPower = 0.9;
    if (optimizer == "official") {
        r.momentum = 5e-4;
        r.weightDecay = 0.0;
    } else {
        r.momentum = 0.9;
        r.weightDecay = 5e-4;
    }
    return r;
}

} // namespace wsss::training
