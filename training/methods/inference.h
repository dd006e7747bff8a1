#pragma once
// Running a loaded method on one image at its checkpoint's input size, and turning the result
// into the studio's Inspection. Shared by the engine, `wsss infer` and `wsss eval`.
#include "training/checkpoint/checkpoint.h"
#include "training/methods/inspection.h"
#include "vision/core/error.h"
#include "vision/labels/pseudo_label_maps.h"
#include "vision/labels/pseudo_label_rule.h"

#include <opencv2/core/mat.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace wsss::training {

// "auto" → CUDA when available, else CPU; "cpu"; "cuda" or "cuda:N" (an error names the
// device when CUDA is absent).
torch::Device resolveDevice(const std::string &name);

// Half precision for inference: the method's weights cast to float16 (CUDA only: CPU kernels
// for half are missing or slow). Inputs follow the weights' dtype; outputs come back float32.
void useHalfPrecision(LoadedModel &model, const torch::Device &device);

// Runs the method on an RGB image; maps, background and attention come back on the CPU, the
// maps resized to the image's own size. labels: the image's classes (1..K), empty = unknown.
// mapKinds: the maps the caller reads (Method::inferMaps: the method may skip the others' work);
// empty = every map. Ignored when attention is captured (the studio reads everything).
MethodOutput inferImage(LoadedModel &model, const cv::Mat &rgb, bool captureAttention,
                        const torch::Device &device, const std::vector<int> &labels = {},
                        const std::set<std::string> &mapKinds = {});

// The pseudo-mask of the method's default rule: argmax over background + classes where the
// primary map comes with a background (MethodOutput::backgrounds), else the background
// threshold over the labelled classes' maps.
// labels: the image's classes (1..K); empty = those the classifier scores above 0.5.
cv::Mat pseudoMask(const LoadedModel &model, const MethodOutput &output, const std::vector<int> &labels,
                   float bgThreshold);

// The same under a whole PseudoLabelRule: its refinements run on the maps with the image
// (rgb: the image the output was made from), then its background rule (threshold or band) over
// the labelled classes, or with crf the dense CRF's argmax over [bgThreshold; maps]. A map kind
// that comes with its own background (backgrounds[kind]: supervised's and AFA's seg, AFA's aff)
// refines [background; maps] (and CRFs them, normalised per pixel) and argmaxes.
// mapKind: which of the method's maps ("" = its primary one). planesOut, for a kind the rule
// decides: the refined planes the mask was decided over (a refined sweep reuses them instead of
// running PAR again); left empty for a kind with its own background.
cv::Mat pseudoMask(const LoadedModel &model, const MethodOutput &output, const std::vector<int> &labels,
                   const vision::PseudoLabelRule &rule, const cv::Mat &rgb, const std::string &mapKind = {},
                   vision::RefinedPlanes *planesOut = nullptr);

// A map kind the method does not have: a mistake in the request, not in one image.
class UnknownMapError : public Error {
public:
    using Error::Error;
};

// The map of a kind ("" = the primary one), or UnknownMapError listing the method's maps.
const torch::Tensor &methodMap(const LoadedModel &model, const MethodOutput &output, const std::string &mapKind);

std::shared_ptr<Inspection> makeInspection(const LoadedModel &model, const MethodOutput &output,
                                           const cv::Mat &rgb, const std::string &imageId,
                                           const std::vector<int> &labels);

// The rule's refinements on an inspection's maps of one kind ("" = its primary kind, as for an
// InspectJob), for its labelled classes: PAR on the maps (with the inspection's image), then with
// the CRF its labels over [bgThreshold; maps]; for a kind with its own background, that background
// refined with them and the argmax. Runs on `device` (the engine's); the result comes back on the CPU.
std::shared_ptr<RefinedMaps> refineInspection(const Inspection &inspection, const std::string &kind,
                                              const vision::PseudoLabelRule &rule, const torch::Device &device);

// The classes an image is treated as containing: its labels, or the confident predictions.
std::vector<int> effectiveLabels(const MethodOutput &output, const std::vector<int> &labels);

} // namespace wsss::training
