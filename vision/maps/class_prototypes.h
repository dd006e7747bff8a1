#pragma once
// ClassPrototypes: ECA's momentum bank of one feature vector per foreground class (METHODS.md §5,
// methods/eca.md §7 "Calibration + prototypes"), which calibrates the CARM of each image by the
// cosine of its features with the class prototype and is then pulled towards the features at
// the class's strongest CARM positions. Images are taken in batch order, each seeing the
// updates of the ones before it, as in the official code. The bank lives outside the model and
// is not saved; one rule of use: call calibrate() under the same device for bank and inputs.
#include <torch/types.h>

#include <cstdint>

namespace wsss::vision {

struct PrototypeConfig {
    double momentum = 0.99;       // P_c ← m·P_c + (1 − m)·p̄ (code τ = 0.99; the paper gives no value)
    int updatePositions = 8;      // p̄ = mean un-normalised feature at the top-8 calibrated CARM positions
    double power = 1.5;           // code: S_c = min-max(max(0, cos)^power)
    int minForegroundClasses = 2; // code: calibrate only images with at least this many foreground labels
    bool paperCalibration = false; // paper Eq. 9–10: S_c = max(0, cos), CARM_c ← min-max(CARM_c ⊙ S_c²), always

    void validate() const; // wsss::Error naming the field
};

class ClassPrototypes {
public:
    // numClasses prototypes of dim values, drawn from N(0, 1) as the official bank (20×512 on VOC).
    ClassPrototypes(std::int64_t numClasses, std::int64_t dim, const torch::TensorOptions &options = {});
    explicit ClassPrototypes(torch::Tensor bank); // [K, D]

    const torch::Tensor &bank() const { return m_bank; }

    // cos(P_c, r_j) for every class and position: features [D, h, w] → [K, h, w] (each vector
    // divided by max(‖·‖, 1e-8)).
    torch::Tensor similarity(const torch::Tensor &features) const;

    // Calibrates carm [B, K+1, h, w] (background at channel 0, left as is) with features
    // [B, D, h', w'] (resized to h × w, bilinear, align_corners=false) and labels [B, K] (0/1),
    // then updates the prototype of every labelled class. Code: with ≥ minForegroundClasses
    // labels, CARM_c ← CARM_c · min-max(max(0, cos)^power) (no final min-max); paper:
    // CARM_c ← min-max(CARM_c ⊙ max(0, cos)²) for every image. Min-max is (x − min)/(max(x −
    // min) + 1e-5) per class. Unlabelled channels pass through. → [B, K+1, h, w] float.
    torch::Tensor calibrate(const torch::Tensor &carm, const torch::Tensor &features, const torch::Tensor &labels,
                            const PrototypeConfig &config = {});

private:
    torch::Tensor m_bank; // [K, D] float
};

} // namespace wsss::vision
