#pragma once
// The `wsss` command-line verbs. Each add*Verb registers its flags on the app and a callback
// that runs the verb; errors propagate as exceptions to app/wsss_main.cpp's single handler.
#include <CLI/App.hpp>

#include <memory>
#include <string>
#include <utility>

namespace wsss::vision {
struct PseudoLabelRule;
}

namespace wsss::training {

struct DatasetInferenceCallbacks;
class ProgressBar;

void addDemoDataVerb(CLI::App &app);
void addPretrainVerb(CLI::App &app);
void addTrainVerb(CLI::App &app);
void addInferVerb(CLI::App &app);
void addEvalVerb(CLI::App &app);
void addInspectVerb(CLI::App &app);
void addRefineVerb(CLI::App &app);
void addInfoVerb(CLI::App &app);
void addProjectVerb(CLI::App &app);
void addExportVerb(CLI::App &app);
void addPackVerb(CLI::App &app);

// "LO,HI" (a β_l/β_h band, e.g. 0.35,0.55) → the two scores; wsss::Error naming the text otherwise.
std::pair<float, float> parseBandOption(const std::string &text);

// The rule the shared flags ask for (--bg-threshold, --band LO,HI, --par, --par-iters, --crf,
// --crf-preset), validated.
vision::PseudoLabelRule pseudoLabelRuleFromFlags(float bgThreshold, const std::string &band, bool par,
                                                 int parIterations, bool crf, const std::string &crfPreset = "psa");

// The shared help text of --crf.
inline constexpr const char *kCrfFlagHelp =
    "Dense CRF on [bg-threshold; maps] normalised per pixel (after PAR); its argmax replaces the threshold or band";
// The shared help text of --crf-preset.
inline constexpr const char *kCrfPresetHelp =
    "The CRF's parameters, a method's row of METHODS.md §8.3: psa (ACR, USAGE), afa (ECA), vitpcm, irn, toco";

// A dataset pass as the CLI reports it (infer, export): warnings on stderr, `bar` made with the
// split's total and advanced after each image.
DatasetInferenceCallbacks datasetProgress(const std::string &label, std::unique_ptr<ProgressBar> &bar);

// Sets LibTorch's CPU thread count once (WSSS_THREADS, else the machine's cores).
void configureThreads();

} // namespace wsss::training
