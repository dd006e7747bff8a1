#include "training/cli/refine_verb.h"

#include "training/cli/verbs.h"
#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/core/labels.h"
#include "vision/core/text.h"
#include "vision/io/image_io.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/npy.h"
#include "vision/io/palette_png.h"
#include "vision/labels/pseudo_label_maps.h"
#include "vision/maps/cam.h"

#include <CLI/CLI.hpp>
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <tuple>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

enum class OutputKind { Mask, Maps };

OutputKind outputKind(const std::string &out)
{
    const auto ext = fs::path(out).extension().string();
    if (ext == ".png")
        return OutputKind::Mask;
    if (ext == ".npy")
        return OutputKind::Maps;
    throw Error("--out \"" + out + "\": the extension must be .png (pseudo-mask) or .npy (refined maps)");
}

std::vector<std::string> splitComma(const std::string &text)
{
    std::vector<std::string> parts;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ','))
        parts.push_back(vision::trim(part));
    return parts;
}

bool isNumber(const std::string &s)
{
    return !s.empty() && s.size() < 6 && s.find_first_not_of("0123456789") == std::string::npos;
}

// A labelmap.txt in the image's folder or the one above it (a VOC root holds it beside
// JPEGImages/), else the VOC classes. `source` says which, for messages.
vision::LabelMap labelMapFor(const std::string &image, std::string *source)
{
    const fs::path folder = fs::absolute(image).parent_path();
    for (const fs::path &candidate : {folder / "labelmap.txt", folder.parent_path() / "labelmap.txt"})
        if (fs::is_regular_file(candidate)) {
            *source = "labelmap \"" + candidate.string() + "\"";
            return vision::readLabelMapFile(candidate.string());
        }
    *source = "the VOC classes";
    return vision::vocLabelMap();
}

// The class id of each channel: --labels as names or ids, or channel i → class i+1.
std::vector<int> channelClasses(const RefineOptions &o, const vision::LabelMap &map, const std::string &source,
                                std::int64_t channels)
{
    const int classes = map.foregroundCount();
    std::vector<int> ids;
    if (o.labels.empty()) {
        if (channels > classes)
            throw Error("maps \"" + o.maps + "\": " + std::to_string(channels) + " channels, but " + source + " has " +
                        std::to_string(classes) + " foreground classes (pass --labels)");
        for (int c = 1; c <= channels; ++c)
            ids.push_back(c);
        return ids;
    }
    for (const std::string &token : splitComma(o.labels)) {
        const int id = isNumber(token) ? std::stoi(token) : map.indexOf(token);
        if (id < 1 || id > classes)
            throw Error("--labels: \"" + token + "\" is not a foreground class of " + source + " (names or ids 1.." +
                        std::to_string(classes) + ")");
        if (std::find(ids.begin(), ids.end(), id) != ids.end())
            throw Error("--labels: class \"" + token + "\" is named twice");
        ids.push_back(id);
    }
    if (static_cast<std::int64_t>(ids.size()) != channels)
        throw Error("maps \"" + o.maps + "\": " + std::to_string(channels) + " channels, but --labels names " +
                    std::to_string(ids.size()) + " classes");
    return ids;
}

// [C, H, W] maps, finite; float32 or float64 (read as float32, as readNpy does for every file);
// every error names the file.
at::Tensor readMaps(const std::string &path)
{
    const auto array = vision::readNpy(path);
    if (array.shape.size() != 3 || array.shape[0] < 1 || array.shape[1] < 1 || array.shape[2] < 1)
        throw Error("maps \"" + path + "\": shape " + c10::str(at::IntArrayRef(array.shape)) +
                    ", expected [C, H, W] with C ≥ 1");
    auto maps = at::from_blob(const_cast<float *>(array.data.data()), array.shape, at::kFloat).clone();
    if (!at::isfinite(maps).all().item<bool>())
        throw Error("maps \"" + path + "\": contains NaN or infinite values");
    return maps;
}

} // namespace

std::pair<float, float> parseBandOption(const std::string &text)
{
    const auto parts = splitComma(text);
    try {
        if (parts.size() == 2) {
            std::size_t used0 = 0, used1 = 0;
            const float lo = std::stof(parts[0], &used0), hi = std::stof(parts[1], &used1);
            if (used0 == parts[0].size() && used1 == parts[1].size())
                return {lo, hi};
        }
    } catch (const std::exception &) {
    }
    throw Error("--band \"" + text + "\": expected two scores LO,HI such as 0.35,0.55");
}

vision::PseudoLabelRule pseudoLabelRuleFromFlags(float bgThreshold, const std::string &band, bool par,
                                                 int parIterations, bool crf, const std::string &crfPreset)
{
    vision::PseudoLabelRule rule;
    rule.bgThreshold = bgThreshold;
    if (!band.empty()) {
        rule.background = vision::BackgroundRule::Band;
        std::tie(rule.bandLow, rule.bandHigh) = parseBandOption(band);
    }
    rule.parIterations = par ? parIterations : 0;
    rule.crf = crf;
    rule.crfPreset = crfPreset;
    rule.validate();
    return rule;
}

namespace {

// The image as a [H, W, 3] uint8 RGB tensor on the CPU that owns its bytes (the CRF's input, and
// PAR's after conversion).
at::Tensor rgbBytes(const cv::Mat &rgb)
{
    const cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
    return at::from_blob(continuous.data, {rgb.rows, rgb.cols, 3}, at::kByte).clone();
}

at::Tensor imageTensor(const cv::Mat &rgb, const at::Device &device)
{
    const auto hwc = rgbBytes(rgb);
    // PAR's image: uint8 RGB divided by 255 (methods/afa.md §4).
    return hwc.permute({2, 0, 1}).to(device).to(at::kFloat).div(255.0f).contiguous();
}

} // namespace

void runRefine(const RefineOptions &o)
{
    configureThreads();
    const OutputKind kind = outputKind(o.out);
    const auto rule = pseudoLabelRuleFromFlags(o.bgThreshold, o.band, o.par, o.parIterations, o.crf, o.crfPreset);

    const cv::Mat rgb = vision::readImageRgb(o.image);
    auto maps = readMaps(o.maps);
    std::string source;
    const auto labelMap = labelMapFor(o.image, &source);
    const auto classIds = channelClasses(o, labelMap, source, maps.size(0));

    const auto device = resolveDevice(o.device);
    const auto image = imageTensor(rgb, device);
    maps = vision::resizeMaps(maps.to(device).unsqueeze(0), rgb.rows, rgb.cols)[0];
    auto refined = vision::refineMaps(rule, image, maps);
    at::Tensor crfLabels;
    if (rule.crf) {
        // The lattice reads the image's channels in RGB order (BGR changes labels).
        const auto q = vision::crfMarginals(rule, refined, rgbBytes(rgb));
        refined = q.slice(0, 1);
        crfLabels = vision::labelsFromMarginals(q, classIds);
    }

    if (kind == OutputKind::Maps) {
        const auto host = refined.to(at::kCPU).to(at::kFloat).contiguous();
        vision::writeNpy(o.out, host.data_ptr<float>(), host.sizes().vec());
    } else {
        const auto labels = (rule.crf ? crfLabels : vision::pseudoLabel(rule, refined, classIds, classIds))
                                .to(at::kCPU)
                                .contiguous();
        cv::Mat mask(rgb.rows, rgb.cols, CV_8UC1);
        std::memcpy(mask.data, labels.data_ptr<std::uint8_t>(), static_cast<std::size_t>(labels.numel()));
        vision::writeLabelPng(o.out, mask, vision::paletteFor(labelMap));
    }
    std::printf("refine: %d×%d, %lld maps (%s)%s → %s\n", rgb.cols, rgb.rows, static_cast<long long>(maps.size(0)),
                source.c_str(), (std::string(rule.parIterations > 0 ? ", PAR" : "") + (rule.crf ? ", CRF" : "")).c_str(), o.out.c_str());
}

void addRefineVerb(CLI::App &app)
{
    auto o = std::make_shared<RefineOptions>();
    auto *verb = app.add_subcommand("refine", "Refine class maps from any model and write a pseudo-mask or the maps");
    verb->add_option("--image", o->image, "The image the maps belong to")->required();
    verb->add_option("--maps", o->maps, "[C,H,W] float32 (or float64) .npy: one map per labelled class, any resolution")->required();
    verb->add_option("--out", o->out, "OUT.png: palette pseudo-mask; OUT.npy: refined maps, float32 [C,H,W] at image size")
        ->required();
    verb->add_flag("--par", o->par, "Pixel-adaptive refinement (AFA) at the image's resolution");
    verb->add_option("--par-iters", o->parIterations, "PAR iterations")->capture_default_str()->check(CLI::Range(1, 1000));
    verb->add_flag("--crf", o->crf, kCrfFlagHelp);
    verb->add_option("--crf-preset", o->crfPreset, kCrfPresetHelp)->capture_default_str();
    verb->add_option("--bg-threshold", o->bgThreshold, "Background where every class score is ≤ this")
        ->capture_default_str()
        ->check(CLI::Range(0.0f, 1.0f));
    verb->add_option("--band", o->band, "LO,HI: class above HI, background at or below LO, 255 (ignore) between");
    verb->add_option("--labels", o->labels,
                     "Class of each channel, names or ids (default: channel i → class i+1); names from a labelmap.txt "
                     "beside the image or one folder up, else VOC");
    verb->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
    verb->callback([o] { runRefine(*o); });
}

} // namespace wsss::training
