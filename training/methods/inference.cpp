#include "training/methods/inference.h"

#include "training/data/dataset.h"
#include "vision/core/error.h"
#include "vision/core/precision.h"
#include "vision/labels/pseudo_label_maps.h"
#include "vision/maps/cam.h"
#include "vision/refine/dense_crf.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <torch/cuda.h>
#include <torch/torch.h>

namespace wsss::training {

torch::Device resolveDevice(const std::string &name)
{
    if (name == "auto")
        return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    if (name == "cpu")
        return torch::kCPU;
    if (name.rfind("cuda", 0) == 0) {
        if (!torch::cuda::is_available())
            throw Error("device \"" + name + "\": CUDA is not available on this machine");
        torch::Device d(name);
        if (d.index() >= static_cast<int>(torch::cuda::device_count()))
            throw Error("device \"" + name + "\": only " + std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
        return d;
    }
    throw Error("unknown device \"" + name + "\" (auto, cpu, cuda or cuda:N)");
}

void useHalfPrecision(LoadedModel &model, const torch::Device &device)
{
    if (!device.is_cuda())
        throw Error("half precision needs a CUDA device (got \"" + device.str() + "\")");
    model.method->to(torch::kHalf);
}

MethodOutput inferImage(LoadedModel &model, const cv::Mat &rgb, bool captureAttention, const torch::Device &device,
                        const std::vector<int> &labels, const std::set<std::string> &mapKinds)
{
    torch::NoGradGuard noGrad;
    model.method->eval();
    const int size = model.header.inputSize;
    cv::Mat resized;
    cv::resize(rgb, resized, {size, size}, 0, 0, cv::INTER_LINEAR);
    const auto norm = model.method->backboneInfo().norm;
    const auto dtype = model.method->parameters().front().scalar_type();
    auto input = imageToTensor(resized, norm).unsqueeze(0).to(device, dtype);
    torch::Tensor multiHot;
    if (!labels.empty()) {
        multiHot = torch::zeros({model.header.labelMap.foregroundCount()});
        for (int c : labels)
            if (c >= 1 && c <= multiHot.size(0))
                multiHot[c - 1] = 1.0f;
        multiHot = multiHot.to(device, dtype);
    }
    MethodOutput out;
    {
        const vision::PrecisionScope precision(model.precision, device); // outputs come back float32 below
        const bool some = !mapKinds.empty() && !captureAttention;
        out = some ? model.method->inferMaps(input, multiHot, mapKinds) : model.method->infer(input, captureAttention, multiHot);
        // A kind the method does not make: the whole output, so the caller's error lists its maps.
        if (some && std::any_of(mapKinds.begin(), mapKinds.end(), [&](const auto &k) { return !out.maps.count(k); }))
            out = model.method->infer(input, false, multiHot);
    }

    auto toImage = [&](const torch::Tensor &maps) { // [C, h, w] → [C, H, W] on the CPU
        return vision::resizeMaps(maps.unsqueeze(0).to(torch::kFloat), rgb.rows, rgb.cols)[0].to(torch::kCPU).contiguous();
    };
    for (auto &[kind, maps] : out.maps)
        maps = toImage(maps);
    for (auto &[kind, background] : out.backgrounds)
        background = toImage(background.unsqueeze(0))[0];
    const auto primary = out.backgrounds.find(model.method->primaryMap());
    out.background = primary == out.backgrounds.end() ? torch::Tensor() : primary->second;
    out.scores = out.scores.to(torch::kCPU).to(torch::kFloat);
    for (auto &[kind, a] : out.affinities)
        a = a.to(torch::kCPU).to(torch::kFloat).contiguous();
    for (auto *captures : {&out.attention, &out.queries, &out.keys})
        for (auto &a : *captures)
            a = a.to(torch::kCPU).to(torch::kFloat).contiguous();
    return out;
}

std::vector<int> effectiveLabels(const MethodOutput &output, const std::vector<int> &labels)
{
    if (!labels.empty())
        return labels;
    std::vector<int> predicted;
    auto scores = output.scores.contiguous();
    for (int k = 0; k < scores.size(0); ++k)
        if (scores[k].item<float>() > 0.5f)
            predicted.push_back(k + 1);
    return predicted;
}

cv::Mat pseudoMask(const LoadedModel &model, const MethodOutput &output, const std::vector<int> &labels,
                   float bgThreshold)
{
    const auto &maps = output.maps.at(model.method->primaryMap()); // [K, H, W]
    const int H = static_cast<int>(maps.size(1)), W = static_cast<int>(maps.size(2));
    cv::Mat mask(H, W, CV_8UC1, cv::Scalar(0));
    if (const auto bg = output.backgrounds.find(model.method->primaryMap()); bg != output.backgrounds.end()) {
        auto all = torch::cat({bg->second.unsqueeze(0), maps}, 0).argmax(0).to(torch::kUInt8).contiguous();
        std::memcpy(mask.data, all.data_ptr<std::uint8_t>(), static_cast<size_t>(H) * W);
        return mask;
    }
    const std::size_t n = static_cast<std::size_t>(H) * W;
    const auto planes = maps.contiguous();
    const auto chosen = vision::labelledMaps(planes.data_ptr<float>(), static_cast<int>(planes.size(0)),
                                             effectiveLabels(output, labels), n);
    vision::applyBackgroundThreshold(chosen.maps, chosen.classIds, n, bgThreshold, mask.data);
    return mask;
}

const torch::Tensor &methodMap(const LoadedModel &model, const MethodOutput &output, const std::string &mapKind)
{
    const std::string kind = mapKind.empty() ? model.method->primaryMap() : mapKind;
    const auto it = output.maps.find(kind);
    if (it == output.maps.end()) {
        std::string known;
        for (const auto &[k, m] : output.maps)
            known += (known.empty() ? "" : ", ") + k;
        throw UnknownMapError("method \"" + model.header.method + "\" has no map \"" + kind + "\" (it has: " + known + ")");
    }
    return it->second;
}

cv::Mat pseudoMask(const LoadedModel &model, const MethodOutput &output, const std::vector<int> &labels,
                   const vision::PseudoLabelRule &rule, const cv::Mat &rgb, const std::string &mapKind,
                   vision::RefinedPlanes *planesOut)
{
    const auto &maps = methodMap(model, output, mapKind); // [K, H, W]
    // A kind that comes with its own background (supervised's and AFA's seg, AFA's aff, ECA's
    // CARMs, ViT-PCM's pcm) is the argmax over [background; maps], refined together; the rule's
    // threshold or band is for the others.
    const auto bg = output.backgrounds.find(mapKind.empty() ? model.method->primaryMap() : mapKind);
    const bool argmaxWithBackground = bg != output.backgrounds.end();
    const int H = static_cast<int>(maps.size(1)), W = static_cast<int>(maps.size(2));
    if (rgb.rows != H || rgb.cols != W)
        throw Error("pseudoMask: maps are " + std::to_string(W) + "×" + std::to_string(H) + " but the image is " +
                    std::to_string(rgb.cols) + "×" + std::to_string(rgb.rows));
    const cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
    const auto rgbHW3 = torch::from_blob(continuous.data, {H, W, 3}, torch::kByte); // the CRF's RGB order
    torch::Tensor labelsOut;
    if (argmaxWithBackground) {
        vision::RefinedPlanes planes{maps, {}};
        for (int k = 1; k <= maps.size(0); ++k)
            planes.classIds.push_back(k);
        labelsOut = vision::decideWithOwnBackground(rule, bg->second, planes, rgbHW3);
    } else {
        // Only the labelled planes are refined: PAR costs per channel.
        auto planes = vision::refineLabelledPlanes(rule, maps, rgbHW3, effectiveLabels(output, labels));
        labelsOut = vision::decideRefined(rule, planes, rgbHW3);
        if (planesOut)
            *planesOut = std::move(planes);
    }
    const auto host = labelsOut.to(torch::kCPU).contiguous();
    cv::Mat mask(H, W, CV_8UC1);
    std::memcpy(mask.data, host.data_ptr<std::uint8_t>(), static_cast<std::size_t>(H) * W);
    return mask;
}

std::shared_ptr<RefinedMaps> refineInspection(const Inspection &inspection, const std::string &requestedKind,
                                              const vision::PseudoLabelRule &rule, const torch::Device &device)
{
    rule.validate();
    const std::string &kind = requestedKind.empty() ? inspection.primaryKind : requestedKind;
    const int H = inspection.imageHeight, W = inspection.imageWidth;
    const auto n = static_cast<std::size_t>(H) * W;
    if (inspection.rgb.size() != n * 3)
        throw Error("refine \"" + inspection.imageId + "\": the inspection has no " + std::to_string(W) + "×" +
                    std::to_string(H) + " image");
    auto out = std::make_shared<RefinedMaps>();
    out->imageId = inspection.imageId;
    out->kind = kind;
    out->rule = rule;
    out->imageWidth = W;
    out->imageHeight = H;
    const auto chosen = inspection.labelledMaps(kind);
    if (chosen.empty() || !rule.refines())
        return out; // nothing to refine: the decision over no maps is all background
    vision::RefinedPlanes planes;
    planes.maps = torch::empty({static_cast<std::int64_t>(chosen.size()), H, W}, torch::kFloat);
    for (std::size_t k = 0; k < chosen.size(); ++k) {
        std::memcpy(planes.maps[static_cast<std::int64_t>(k)].data_ptr<float>(), chosen[k]->values.data(),
                    n * sizeof(float));
        planes.classIds.push_back(chosen[k]->classIndex);
    }
    planes.maps = planes.maps.to(device);
    const auto rgbHW3 = torch::from_blob(const_cast<std::uint8_t *>(inspection.rgb.data()), {H, W, 3}, torch::kByte)
                            .to(device);
    if (const ClassMap *background = inspection.ownBackground(kind)) {
        // The method's background is refined with the maps and the argmax decides, as `wsss infer`.
        out->ownBackground = true;
        const auto bg = torch::from_blob(const_cast<float *>(background->values.data()), {H, W}, torch::kFloat);
        const auto labels =
            vision::decideWithOwnBackground(rule, bg.to(device), planes, rgbHW3).to(torch::kCPU).contiguous();
        out->ownBackgroundLabels.assign(labels.data_ptr<std::uint8_t>(), labels.data_ptr<std::uint8_t>() + n);
        return out;
    }
    // As `wsss infer` refines and decides: the same two steps on the same planes.
    planes = vision::refinePlanes(rule, std::move(planes), rgbHW3);
    if (rule.parIterations > 0) {
        const auto host = planes.maps.to(torch::kCPU, torch::kFloat).contiguous();
        for (std::size_t k = 0; k < chosen.size(); ++k) {
            const float *src = host.data_ptr<float>() + k * n;
            out->maps.push_back({kind, planes.classIds[k], std::vector<float>(src, src + n)});
        }
    }
    if (rule.crf) {
        const auto labels = vision::decideRefined(rule, planes, rgbHW3).to(torch::kCPU).contiguous();
        out->crfLabels.assign(labels.data_ptr<std::uint8_t>(), labels.data_ptr<std::uint8_t>() + n);
    }
    return out;
}

std::shared_ptr<Inspection> makeInspection(const LoadedModel &model, const MethodOutput &output, const cv::Mat &rgb,
                                           const std::string &imageId, const std::vector<int> &labels)
{
    auto ins = std::make_shared<Inspection>();
    ins->imageId = imageId;
    ins->imageWidth = rgb.cols;
    ins->imageHeight = rgb.rows;
    cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
    ins->rgb.assign(continuous.data, continuous.data + static_cast<size_t>(rgb.rows) * rgb.cols * 3);
    const auto info = model.method->backboneInfo();
    ins->inputWidth = ins->inputHeight = model.header.inputSize;
    ins->gridWidth = static_cast<int>(output.gridWidth);
    ins->gridHeight = static_cast<int>(output.gridHeight);
    ins->patchSize = info.stride;
    ins->prefixTokens = info.prefixTokens;
    ins->classNames = model.header.labelMap.names();
    ins->imageLabels = effectiveLabels(output, labels);
    auto scores = output.scores.contiguous();
    ins->classScores.assign(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
    ins->primaryKind = model.method->primaryMap();
    for (const auto &[kind, maps] : output.maps) {
        for (int k = 0; k < maps.size(0); ++k) {
            auto m = maps[k].contiguous();
            ins->maps.push_back({kind, k + 1, std::vector<float>(m.data_ptr<float>(), m.data_ptr<float>() + m.numel())});
        }
    }
    // A kind that scores background itself (supervised's and AFA's seg, AFA's aff, ViT-PCM's pcm):
    // its background map as class 0, so the studio's mask is the same argmax the CLI writes.
    for (const auto &[kind, background] : output.backgrounds) {
        if (!output.maps.count(kind))
            continue;
        auto b = background.to(torch::kCPU, torch::kFloat).contiguous();
        ins->maps.push_back({kind, 0, std::vector<float>(b.data_ptr<float>(), b.data_ptr<float>() + b.numel())});
    }
    for (const auto &a : output.attention) {
        AttentionLayer layer;
        layer.heads = static_cast<int>(a.size(0));
        layer.tokens = static_cast<int>(a.size(1));
        layer.probs.assign(a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
        ins->attention.push_back(std::move(layer));
    }
    for (std::size_t i = 0; i < output.queries.size() && i < output.keys.size(); ++i) {
        const auto &q = output.queries[i], &k = output.keys[i];
        AttentionLayer layer;
        layer.heads = static_cast<int>(q.size(0));
        layer.tokens = static_cast<int>(q.size(1));
        layer.headDim = static_cast<int>(q.size(2));
        layer.scale = static_cast<float>(output.attentionScale);
        layer.queries.assign(q.data_ptr<float>(), q.data_ptr<float>() + q.numel());
        layer.keys.assign(k.data_ptr<float>(), k.data_ptr<float>() + k.numel());
        ins->attention.push_back(std::move(layer));
    }
    for (const auto &[kind, a] : output.affinities) {
        AffinityMatrix matrix;
        matrix.kind = kind;
        matrix.tokens = static_cast<int>(a.size(0));
        matrix.values.assign(a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
        ins->affinities.push_back(std::move(matrix));
    }
    ins->defaultBgThreshold = model.header.metrics.value("best_bg_threshold", vision::kDefaultBgThreshold);
    return ins;
}

} // namespace wsss::training
