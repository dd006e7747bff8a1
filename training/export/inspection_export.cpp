#include "training/export/inspection_export.h"

#include "training/checkpoint/checkpoint.h"
#include "training/data/dataset.h"
#include "training/methods/inference.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"
#include "vision/io/image_io.h"
#include "vision/io/npy.h"
#include "vision/maps/cam.h"
#include "vision/weights/vit_key_maps.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <filesystem>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

void writeTensor(const fs::path &dir, const std::string &name, const torch::Tensor &t, InspectExportResult &result)
{
    const auto cpu = t.detach().to(torch::kCPU).to(torch::kFloat).contiguous();
    vision::writeNpy((dir / name).string(), cpu.data_ptr<float>(), cpu.sizes().vec());
    result.files.push_back(name);
}

// Maps [C, h, w] at the network's input resolution (methods already return them there).
torch::Tensor atInputSize(const torch::Tensor &maps, int size)
{
    return vision::resizeMaps(maps.unsqueeze(0).to(torch::kFloat), size, size)[0];
}

vision::VisionTransformer bareBackbone(const InspectExportOptions &o)
{
    vision::VisionTransformer vit(vision::vitPreset(o.backbone));
    const std::string path = vision::weightsFileFor(o.backbone, o.weights);
    if (!path.empty()) {
        if (!fs::exists(path))
            throw Error("inspect: weights \"" + path + "\" do not exist");
        vision::loadVitWeights(*vit, path); // timm or Hugging Face names
    }
    return vit;
}

// What a checkpoint's method adds to an export: scores, its maps at the input size, its
// affinities and background, written next to the rest.
struct MethodFiles {
    nlohmann::json maps = nlohmann::json::array();
    nlohmann::json classes = nlohmann::json::array();
    nlohmann::json affinities = nlohmann::json::array(); // [N, N] over the patch grid
    std::int64_t gridHeight = 0, gridWidth = 0;
};

MethodFiles writeMethodOutput(const fs::path &dir, LoadedModel &model, const torch::Tensor &input, int size,
                              InspectExportResult &result)
{
    MethodFiles files;
    MethodOutput m = model.method->infer(input, false, {});
    files.gridHeight = m.gridHeight;
    files.gridWidth = m.gridWidth;
    writeTensor(dir, "scores.npy", m.scores, result);
    for (const auto &[kind, planes] : m.maps) {
        writeTensor(dir, kind + ".npy", atInputSize(planes, size), result);
        files.maps.push_back(kind);
    }
    for (const auto &[kind, a] : m.affinities) {
        writeTensor(dir, "affinity_" + kind + ".npy", a, result);
        files.affinities.push_back(kind);
    }
    if (m.background.defined()) {
        writeTensor(dir, "background.npy", atInputSize(m.background.unsqueeze(0), size)[0], result);
        files.maps.push_back("background");
    }
    for (const auto &c : model.header.labelMap.classes)
        files.classes.push_back(c.name);
    return files;
}

void writeDescription(const fs::path &dir, const InspectExportOptions &o, const cv::Mat &rgb, int size,
                      int prefixTokens, const std::string &backbone, const vision::Normalization &norm,
                      const nlohmann::json &blocks, const LoadedModel &model, const MethodFiles &method,
                      InspectExportResult &result)
{
    nlohmann::json description = {
        {"image", fs::absolute(o.image).string()},
        {"image_size", {rgb.rows, rgb.cols}},
        {"input_size", size},
        {"grid", {result.gridHeight, result.gridWidth}},
        {"prefix_tokens", prefixTokens},
        {"backbone", backbone},
        {"normalization", {{"mean", norm.mean}, {"std", norm.std}}},
        {"attention_blocks", blocks},
        {"method", model.method ? model.header.method : ""},
        {"maps", method.maps},
        {"affinities", method.affinities},
        {"classes", method.classes}, // background first; maps hold the foreground classes in order
        {"files", result.files}};
    vision::atomicWriteText(dir / "inspection.json", description.dump(2) + "\n");
    result.files.push_back("inspection.json");
}

// A checkpoint whose backbone is not a ViT (AFA on MiT): input, maps and affinities only.
InspectExportResult exportMethodOnly(const InspectExportOptions &o, LoadedModel &model, const torch::Device &device)
{
    const auto info = model.method->backboneInfo();
    const int size = o.size > 0 ? o.size : model.header.inputSize;
    if (size % info.sizeMultiple != 0)
        throw Error("inspect: --size " + std::to_string(size) + " must be a multiple of " +
                    std::to_string(info.sizeMultiple) + " for " + info.name);
    const cv::Mat rgb = vision::readImageRgb(o.image);
    cv::Mat resized;
    cv::resize(rgb, resized, {size, size}, 0, 0, cv::INTER_LINEAR);
    const auto input = imageToTensor(resized, info.norm).unsqueeze(0).to(device);
    const fs::path dir(o.out);
    fs::create_directories(dir);
    InspectExportResult result;
    result.size = size;
    writeTensor(dir, "input.npy", input[0], result);
    const auto method = writeMethodOutput(dir, model, input, size, result);
    result.gridHeight = method.gridHeight;
    result.gridWidth = method.gridWidth;
    writeDescription(dir, o, rgb, size, info.prefixTokens, info.name, info.norm, nlohmann::json::array(), model,
                     method, result);
    return result;
}

} // namespace

InspectExportResult exportInspection(const InspectExportOptions &o)
{
    if (o.checkpoint.empty() == o.backbone.empty())
        throw Error("inspect: give either --checkpoint or --backbone");
    if (o.out.empty())
        throw Error("inspect: --out is required");
    const torch::Device device = resolveDevice(o.device);
    torch::NoGradGuard noGrad;

    LoadedModel model;
    vision::VisionTransformer vit{nullptr};
    if (!o.checkpoint.empty()) {
        model = loadCheckpoint(o.checkpoint, device, o.configOverrides);
        if (auto *v = model.method->vit()) // shares the method's module: no copy
            vit = vision::VisionTransformer(std::shared_ptr<vision::VisionTransformerImpl>(model.method->backbone().shared_from_this(), v));
        model.method->eval();
    } else {
        vit = bareBackbone(o);
        vit->to(device);
    }
    // A method on another backbone (MiT) has no class token and no per-block attention to
    // write: its input, maps and affinities are exported alone.
    if (!vit)
        return exportMethodOnly(o, model, device);
    vit->eval();
    const auto &config = vit->config();
    const int size = o.size > 0 ? o.size : (model.method ? model.header.inputSize : config.imgSize);
    if (size % config.patchSize != 0)
        throw Error("inspect: --size " + std::to_string(size) + " must be a multiple of the patch size " +
                    std::to_string(config.patchSize));

    const cv::Mat rgb = vision::readImageRgb(o.image);
    cv::Mat resized;
    cv::resize(rgb, resized, {size, size}, 0, 0, cv::INTER_LINEAR);
    const auto input = imageToTensor(resized, config.norm).unsqueeze(0).to(device);

    const fs::path dir(o.out);
    fs::create_directories(dir);
    InspectExportResult result;
    result.size = size;
    writeTensor(dir, "input.npy", input[0], result);

    auto out = vit(input, vision::CaptureRequest::allAttention());
    result.gridHeight = out.gridHeight;
    result.gridWidth = out.gridWidth;
    writeTensor(dir, "tokens.npy", out.tokens[0], result);
    nlohmann::json blocks = nlohmann::json::array();
    for (std::size_t i = 0; i < out.attention.size(); ++i) {
        writeTensor(dir, "attn_" + std::to_string(out.capturedLayers[i]) + ".npy", out.attention[i][0], result);
        blocks.push_back(out.capturedLayers[i]);
    }

    const MethodFiles method = model.method ? writeMethodOutput(dir, model, input, size, result) : MethodFiles{};
    writeDescription(dir, o, rgb, size, out.prefixTokens, config.name, config.norm, blocks, model, method, result);
    return result;
}

} // namespace wsss::training
