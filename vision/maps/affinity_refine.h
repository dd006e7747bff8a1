#pragma once
// Patch-affinity refinement of class maps (MCTformer, ACR, USAGE): each map is multiplied once by
// the patch-to-patch attention summed over blocks (methods/acr.md §7.1 step 5.6, §7.2). The
// product order matters because attention rows sum to 1 but columns do not.
#include <torch/types.h>

#include <string>
#include <vector>

namespace wsss::vision {

enum class AffinityProduct {
    AffinityTimesMap, // m_i = Σ_j A[i, j]·g_j (A·g): the official ACR and MCTformer code
    MapTimesAffinity, // m_j = Σ_i g_i·A[i, j] (gᵀ·A): ACR paper eq. 8
};

AffinityProduct affinityProductFromName(const std::string &name); // "a_g" | "g_a"
std::string affinityProductName(AffinityProduct product);

// The patch affinity R: Σ over blocks of the head-mean attention, patch rows × patch columns.
// attention: per block [heads, T, T] or [B, heads, T, T] → [n, n] or [B, n, n], n = T − prefix.
// A plain sum, no normalisation (ACR, MCTformer).
torch::Tensor patchAffinity(const std::vector<torch::Tensor> &attention, int prefixTokens = 1);

// maps: [K, h, w] or [B, K, h, w]; affinity: [n, n] or [B, n, n] with n = h·w (row-major
// patches) → refined maps of the maps' shape.
torch::Tensor refineWithAffinity(const torch::Tensor &maps, const torch::Tensor &affinity,
                                 AffinityProduct product = AffinityProduct::AffinityTimesMap);

} // namespace wsss::vision
