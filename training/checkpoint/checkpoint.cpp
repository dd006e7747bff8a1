#include "training/checkpoint/checkpoint.h"

#include "training/methods/method_registry.h"
#include "vision/core/error.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"

#include <torch/torch.h>

#include <algorithm>
#include <fstream>

namespace wsss::training {

namespace {
constexpr const char *kFormat = "wsss-checkpoint-1";
}

nlohmann::json CheckpointHeader::toJson() const
{
    nlohmann::json classes = nlohmann::json::array();
    for (const auto &c : labelMap.classes)
        classes.push_back({{"name", c.name}, {"color", {c.color[0], c.color[1], c.color[2]}}});
    nlohmann::json json{{"format", kFormat}, {"method", method},       {"backbone", backbone}, {"classes", classes},
                        {"config", config},  {"input_size", inputSize}, {"step", step},        {"metrics", metrics},
                        {"train", train}};
    if (normalization)
        json["normalization"] = {{"mean", normalization->mean}, {"std", normalization->std}};
    return json;
}

CheckpointHeader CheckpointHeader::fromJson(const nlohmann::json &json, const std::string &source)
{
    try {
        if (json.value("format", "") != kFormat)
            throw Error("checkpoint \"" + source + "\": unknown format \"" + json.value("format", "") + "\"");
        CheckpointHeader h;
        h.method = json.at("method").get<std::string>();
        h.backbone = json.at("backbone").get<std::string>();
        for (const auto &c : json.at("classes")) {
            const auto rgb = c.at("color").get<std::vector<int>>();
            h.labelMap.classes.push_back({c.at("name").get<std::string>(),
                                          {static_cast<std::uint8_t>(rgb.at(0)), static_cast<std::uint8_t>(rgb.at(1)),
                                           static_cast<std::uint8_t>(rgb.at(2))}});
        }
        h.config = json.value("config", nlohmann::json::object());
        h.inputSize = json.value("input_size", 128);
        h.step = json.value("step", std::int64_t{0});
        h.metrics = json.value("metrics", nlohmann::json::object());
        h.train = json.value("train", nlohmann::json::object());
        if (json.contains("normalization")) {
            const auto &n = json.at("normalization");
            h.normalization = vision::Normalization{n.at("mean").get<std::array<float, 3>>(),
                                                    n.at("std").get<std::array<float, 3>>()};
        }
        return h;
    } catch (const nlohmann::json::exception &e) {
        throw Error("checkpoint \"" + source + "\": bad header (" + e.what() + ")");
    }
}

MethodSpec CheckpointHeader::spec() const
{
    return {method, backbone, labelMap.foregroundCount(), config};
}

void saveCheckpoint(const std::string &path, const CheckpointHeader &header, Method &method)
{
    CheckpointHeader stored = header;
    stored.normalization = method.backboneInfo().norm;
    vision::writeSafetensors(path, vision::stateDict(method), {{"wsss", stored.toJson().dump()}});
}

CheckpointHeader readCheckpointHeader(const std::string &path)
{
    vision::requireSafetensorsFile(path, "checkpoint");
    // The header sits at the front of the file: read only that much.
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("checkpoint \"" + path + "\": cannot open the file");
    unsigned char len[8] = {};
    in.read(reinterpret_cast<char *>(len), 8);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | len[i];
    if (!in || n == 0 || n > (100u << 20))
        throw Error("checkpoint \"" + path + "\": not a checkpoint (no safetensors header)");
    std::string text(n, '\0');
    in.read(text.data(), static_cast<std::streamsize>(n));
    if (!in)
        throw Error("checkpoint \"" + path + "\": truncated header");
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(text);
        return CheckpointHeader::fromJson(nlohmann::json::parse(json.at("__metadata__").at("wsss").get<std::string>()), path);
    } catch (const nlohmann::json::exception &e) {
        throw Error("checkpoint \"" + path + "\": not a WSSS Studio checkpoint (" + e.what() + ")");
    }
}

nlohmann::json checkpointHeaderJson(const std::map<std::string, std::string> &metadata, const std::string &path)
{
    const auto it = metadata.find("wsss");
    if (it == metadata.end())
        throw Error("checkpoint \"" + path + "\": not a WSSS Studio checkpoint (no \"wsss\" header)");
    try {
        return nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception &e) {
        throw Error("checkpoint \"" + path + "\": header is not valid JSON (" + e.what() + ")");
    }
}

LoadedModel loadCheckpoint(const std::string &path, const torch::Device &device, const nlohmann::json &configOverrides)
{
    return loadCheckpoint(vision::readSafetensors(path), path, device, configOverrides);
}

LoadedModel loadCheckpoint(const vision::SafetensorsFile &file, const std::string &path, const torch::Device &device,
                           const nlohmann::json &configOverrides)
{
    LoadedModel m;
    m.header = CheckpointHeader::fromJson(checkpointHeaderJson(file.metadata, path), path);
    const bool overridden = configOverrides.is_object() && !configOverrides.empty();
    if (overridden) {
        m.header.config.merge_patch(configOverrides);
        m.configOverrides = configOverrides;
    }
    m.method = createMethod(m.header.spec());
    try {
        vision::loadStateDict(*m.method, file.tensors, path);
    } catch (const std::exception &e) {
        if (!overridden)
            throw;
        throw Error(std::string(e.what()) + " (the config was changed at load by " + configOverrides.dump() +
                    ": a key that changes the model's layers cannot be set on a trained checkpoint)");
    }
    if (overridden) {
        m.header.config = m.method->config(); // resolved, as a training stores it
        // Weights a key names (ECA's guider) replace the checkpoint's copy of them.
        const auto keys = m.method->auxiliaryWeightKeys();
        if (std::any_of(keys.begin(), keys.end(), [&](const std::string &k) { return configOverrides.contains(k); }))
            m.method->loadAuxiliaryWeights();
    }
    if (m.header.normalization)
        m.method->setInputNormalization(*m.header.normalization);
    m.method->to(device);
    m.method->eval();
    return m;
}

} // namespace wsss::training
