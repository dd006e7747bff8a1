#pragma once
// The optimiser's parameter groups under a method's recipe, shared by the methods that sort their
// parameters themselves (Method's default, DINO's student-only groups).
#include "training/methods/method.h"

#include <array>
#include <vector>

namespace wsss::training {

// The groups from parameters sorted four ways: [backbone decayed, backbone not decayed, heads
// decayed, heads not decayed]; backbone groups at lr × backboneLrScale, empty groups left out.
std::vector<torch::optim::OptimizerParamGroup> recipeGroups(const TrainRecipe &recipe,
                                                            std::array<std::vector<torch::Tensor>, 4> groups);

} // namespace wsss::training
