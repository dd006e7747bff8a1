#include "training/methods/usage/usage_method.h"

#include "training/methods/config_json.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/maps/cam.h"
#include "vision/maps/spatial_distribution.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace wsss::training {

// ---- UsageConfig -----------------------------------------------------------------------------

UsageConfig UsageConfig::fromJson(const nlohmann::json &json)
{
    rejectUnknownKeys(json, "usage",
                      {"tau1", "kappa", "detach_alpha", "final_norm", "classifier", "regularizer", "tau2", "lambda",
                       "reg_form", "ema_momentum", "teacher_drop_path", "teacher_dropout", "student_drop_path_min",
                       "student_drop_path_max", "student_dropout_min", "student_dropout_max", "schedule",
                       "status_momentum", "status_init", "status_source", "seed_weights", "flip_inference",
                       "cam_normalization", "affinity_refine", "lr", "backbone_lr_scale", "weight_decay"});
    UsageConfig c;
    readKey(json, "tau1", c.tau1);
    readKey(json, "kappa", c.kappa);
    readKey(json, "detach_alpha", c.detachAlpha);
    readKey(json, "final_norm", c.finalNorm);
    readKey(json, "classifier", c.classifier);
    readKey(json, "regularizer", c.regularizer);
    readKey(json, "tau2", c.tau2);
    readKey(json, "lambda", c.lambda);
    readKey(json, "reg_form", c.regForm);
    readKey(json, "ema_momentum", c.emaMomentum);
    readKey(json, "teacher_drop_path", c.teacherDropPath);
    readKey(json, "teacher_dropout", c.teacherDropout);
    readKey(json, "student_drop_path_min", c.studentDropPathMin);
    readKey(json, "student_drop_path_max", c.studentDropPathMax);
    readKey(json, "student_dropout_min", c.studentDropoutMin);
    readKey(json, "student_dropout_max", c.studentDropoutMax);
    readKey(json, "schedule", c.schedule);
    readKey(json, "status_momentum", c.statusMomentum);
    readKey(json, "status_init", c.statusInit);
    readKey(json, "status_source", c.statusSource);
    readKey(json, "seed_weights", c.seedWeights);
    readKey(json, "flip_inference", c.flipInference);
    readKey(json, "cam_normalization", c.camNormalization);
    readKey(json, "affinity_refine", c.affinityRefine);
    readKey(json, "lr", c.lr);
    readKey(json, "backbone_lr_scale", c.backboneLrScale);
    readKey(json, "weight_decay", c.weightDecay);
    c.validate();
    return c;
}

nlohmann::json UsageConfig::toJson() const
{
    return {{"tau1", tau1},
            {"kappa", kappa},
            {"detach_alpha", detachAlpha},
            {"final_norm", finalNorm},
            {"classifier", classifier},
            {"regularizer", regularizer},
            {"tau2", tau2},
            {"lambda", lambda},
            {"reg_form", regForm},
            {"ema_momentum", emaMomentum},
            {"teacher_drop_path", teacherDropPath},
            {"teacher_dropout", teacherDropout},
            {"student_drop_path_min", studentDropPathMin},
            {"student_drop_path_max", studentDropPathMax},
            {"student_dropout_min", studentDropoutMin},
            {"student_dropout_max", studentDropoutMax},
            {"schedule", schedule},
            {"status_momentum", statusMomentum},
            {"status_init", statusInit},
            {"status_source", statusSource},
            {"seed_weights", seedWeights},
            {"flip_inference", flipInference},
            {"cam_normalization", camNormalization},
            {"affinity_refine", affinityRefine},
            {"lr", lr},
            {"backbone_lr_scale", backboneLrScale},
            {"weight_decay", weightDecay}};
}

void UsageConfig::validate() const
{
    auto fail = [](const std::string &key, double value, const std::string &range) {
        throw Error("usage: " + key + " " + std::to_string(value) + " is outside " + range);
    };
    auto positive = [&](const char *key, double v) {
        if (!(v > 0) || !std::isfinite(v))
            fail(key, v, "(0, ∞)");
    };
    auto rate = [&](const char *key, double v) {
        if (!(v >= 0 && v < 1))
            fail(key, v, "[0, 1)");
    };
    auto oneOf = [](const char *key, const std::string &v, std::initializer_list<const char *> options) {
        std::string list;
        for (const char *o : options) {
            if (v == o)
                return;
            list += (list.empty() ? "" : ", ") + std::string(o);
        }
        throw Error("usage: " + std::string(key) + " \"" + v + "\" is not one of " + list);
    };
    positive("tau1", tau1);
    positive("tau2", tau2);
    positive("lr", lr);
    if (!std::isfinite(kappa))
        fail("kappa", kappa, "the finite numbers");
    if (!(lambda >= 0) || !std::isfinite(lambda))
        fail("lambda", lambda, "[0, ∞)");
    if (!(backboneLrScale >= 0) || !std::isfinite(backboneLrScale))
        fail("backbone_lr_scale", backboneLrScale, "[0, ∞)");
    if (!(weightDecay >= 0) || !std::isfinite(weightDecay))
        fail("weight_decay", weightDecay, "[0, ∞)");
    rate("ema_momentum", emaMomentum);
    rate("status_momentum", statusMomentum);
    rate("teacher_drop_path", teacherDropPath);
    rate("teacher_dropout", teacherDropout);
    rate("student_drop_path_min", studentDropPathMin);
    rate("student_drop_path_max", studentDropPathMax);
    rate("student_dropout_min", studentDropoutMin);
    rate("student_dropout_max", studentDropoutMax);
    if (studentDropPathMin > studentDropPathMax)
        fail("student_drop_path_min", studentDropPathMin, "[0, student_drop_path_max]");
    if (studentDropoutMin > studentDropoutMax)
        fail("student_dropout_min", studentDropoutMin, "[0, student_dropout_max]");
    if (!(statusInit <= 1) || !std::isfinite(statusInit))
        fail("status_init", statusInit, "(−∞, 1] (negative: 1/K)");
    oneOf("classifier", classifier, {"conv1x1", "conv3x3"});
    oneOf("reg_form", regForm, {"kd", "literal"});
    oneOf("schedule", schedule, {"adaptive", "linear", "fixed"});
    oneOf("status_source", statusSource, {"teacher", "student"});
    oneOf("seed_weights", seedWeights, {"teacher", "student"});
    oneOf("cam_normalization", camNormalization, {"relu_min_max", "min_max"});
}

double UsageConfig::progress(double status, std::int64_t step, std::int64_t totalSteps) const
{
    if (schedule == "fixed")
        return 1.0;
    if (schedule == "linear")
        return totalSteps > 0 ? std::clamp(static_cast<double>(step) / static_cast<double>(totalSteps), 0.0, 1.0) : 0.0;
    return std::clamp(status, 0.0, 1.0);
}

vision::DropRates UsageConfig::studentRates(double r) const
{
    r = std::clamp(r, 0.0, 1.0);
    return {studentDropPathMin + (studentDropPathMax - studentDropPathMin) * r,
            studentDropoutMin + (studentDropoutMax - studentDropoutMin) * r};
}

TrainRecipe UsageConfig::recipe() const
{
    // AdamW with DeiT's weight decay (usage.md §6); the studio's poly schedule with warm-up
    // stands in for timm's cosine.
    TrainRecipe r;
    r.optimizer = "adamw";
    r.lr = lr;
    r.backboneLrScale = backboneLrScale;
    r.weightDecay = weightDecay;
    return r;
}

// ---- UsageMethod -----------------------------------------------------------------------------

namespace {

torch::nn::Conv2d makeClassifier(const UsageConfig &c, int dim, int classes)
{
    if (c.classifier == "conv3x3")
        return torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, classes, 3).padding(1).bias(true));
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, classes, 1).bias(false));
}

} // namespace

UsageMethod::UsageMethod(const MethodSpec &spec) : m_config(UsageConfig::fromJson(spec.config)), m_classes(spec.numClasses)
{
    setBackbone(vision::makeBackbone(spec.backbone));
    requireVit("usage"); // drop-path per block, patch attention for the refinement
    const int dim = m_backbone->info().channels;
    m_classifier = register_module("classifier", makeClassifier(m_config, dim, spec.numClasses));
    // The teacher: same architecture, out of the optimiser (requires_grad false), in the checkpoint.
    m_teacherBackbone = register_module("teacher_backbone", vision::makeBackbone(spec.backbone));
    m_teacherClassifier = register_module("teacher_classifier", makeClassifier(m_config, dim, spec.numClasses));
    torch::NoGradGuard noGrad;
    for (auto *m : {static_cast<torch::nn::Module *>(m_teacherBackbone.get()),
                    static_cast<torch::nn::Module *>(m_teacherClassifier.get())})
        for (auto &p : m->parameters(true))
            p.set_requires_grad(false);
    m_teacherReady = register_buffer("teacher_ready", torch::zeros({1}));
    const double e0 = m_config.statusInit < 0 ? 1.0 / spec.numClasses : m_config.statusInit;
    m_status = register_buffer("status_ema", torch::full({1}, e0, torch::kFloat));
}

torch::Tensor UsageMethod::features(const vision::BackboneOutput &out) const
{
    if (m_config.finalNorm)
        return out.patchFeatures();
    const auto &t = out.preNormTokens; // [B, prefix + h·w, D]
    return t.slice(1, out.prefixTokens).transpose(1, 2).reshape({t.size(0), t.size(2), out.gridHeight, out.gridWidth});
}

torch::Tensor UsageMethod::activations(const torch::Tensor &images, bool teacher, const vision::DropRates &rates)
{
    auto &backbone = teacher ? *m_teacherBackbone : *m_backbone;
    auto &classifier = teacher ? m_teacherClassifier : m_classifier;
    return classifier(features(backbone.forward(images, {}, rates)));
}

void UsageMethod::updateTeacher()
{
    torch::NoGradGuard noGrad;
    const bool first = !teacherReady();
    const double m = m_config.emaMomentum;
    auto update = [&](torch::nn::Module &student, torch::nn::Module &teacher) {
        auto t = teacher.named_parameters(true);
        for (const auto &p : student.named_parameters(true)) {
            auto &target = t[p.key()];
            if (first)
                target.copy_(p.value());
            else
                target.mul_(m).add_(p.value(), 1.0 - m);
        }
        auto tb = teacher.named_buffers(true);
        for (const auto &b : student.named_buffers(true))
            tb[b.key()].copy_(b.value());
    };
    update(*m_backbone, *m_teacherBackbone);
    update(*m_classifier, *m_teacherClassifier);
    m_teacherReady.fill_(1.0);
}

StepResult UsageMethod::trainStep(const Batch &batch)
{
    // The EMA of the previous optimiser step (or the initial copy), before the teacher's forward.
    updateTeacher();
    const auto labels = batch.labels.to(torch::kFloat);
    const double r = m_config.progress(status(), batch.step, batch.totalSteps);
    const auto studentRates = m_config.studentRates(r);

    const auto z = activations(batch.images, false, studentRates);
    const auto scores = vision::temperaturePooledScores(z, m_config.tau1, m_config.kappa, m_config.detachAlpha);
    StepResult result;
    result.losses["gen"] = usageGenerationLoss(scores, labels);

    torch::Tensor teacherScores;
    if (m_config.regularizer) {
        torch::Tensor zT;
        {
            torch::NoGradGuard noGrad;
            zT = activations(batch.images, true, m_config.teacherRates());
            teacherScores = vision::temperaturePooledScores(zT, m_config.tau1, m_config.kappa);
        }
        const auto reg = usageRegularizationLoss(z, zT, m_config.tau2, m_config.kappa, m_config.regForm);
        result.losses["reg"] = m_config.lambda * reg;
        result.logs["reg_raw"] = reg.item<double>();
    }
    // e_t from this batch's confidence on its labelled classes (usage.md §5.2).
    const auto &source = m_config.statusSource == "teacher" && teacherScores.defined() ? teacherScores : scores;
    const double c = usageClassificationStatus(source.detach(), labels);
    if (c >= 0) {
        torch::NoGradGuard noGrad;
        const double m = m_config.statusMomentum;
        m_status.fill_(m * status() + (1.0 - m) * c);
    }
    result.logs["status"] = status();
    result.logs["drop_path"] = studentRates.path;
    result.logs["dropout"] = studentRates.dropout;
    return result;
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> UsageMethod::seedPass(const torch::Tensor &image, bool teacher,
                                                                              bool captureAttention, MethodOutput *result,
                                                                              bool refine)
{
    auto &backbone = teacher ? *m_teacherBackbone : *m_backbone;
    auto &classifier = teacher ? m_teacherClassifier : m_classifier;
    const auto info = backbone.info();
    auto request = inspectionCapture(captureAttention, info, image.size(2), image.size(3));
    if (refine && !request.attention)
        request.queries = request.keys = true;
    auto out = backbone.forward(image, request);
    auto z = classifier(features(out)); // [1, K, h, w]
    if (result) {
        result->gridHeight = out.gridHeight;
        result->gridWidth = out.gridWidth;
        result->scores = torch::sigmoid(vision::temperaturePooledScores(z, m_config.tau1, m_config.kappa))[0];
    }
    const auto cam = torch::relu(z);
    torch::Tensor refined, R;
    if (refine) {
        // R = Σ over every block of the head-mean attention, patch rows and columns (usage.md §7.1 step 4).
        const auto p = out.prefixTokens;
        const double scale = 1.0 / std::sqrt(static_cast<double>(info.headDim));
        if (!out.attention.empty()) {
            for (const auto &a : out.attention) {
                auto part = a[0].to(torch::kFloat).mean(0).slice(0, p).slice(1, p);
                R = R.defined() ? R + part : part;
            }
        } else {
            for (std::size_t b = 0; b < out.queries.size(); ++b) {
                const auto q = out.queries[b][0].to(torch::kFloat), k = out.keys[b][0].to(torch::kFloat);
                torch::Tensor mean;
                for (std::int64_t h = 0; h < q.size(0); ++h) {
                    auto a = torch::softmax(torch::matmul(q[h], k[h].t()) * scale, -1).slice(0, p).slice(1, p);
                    mean = mean.defined() ? mean + a : a;
                }
                mean = mean / static_cast<double>(q.size(0));
                R = R.defined() ? R + mean : mean;
            }
        }
        const auto K = cam.size(1), h = cam.size(2), w = cam.size(3);
        // new[i] = Σ_j R[i, j]·cam[j]
        refined = torch::matmul(cam.reshape({K, h * w}), R.t()).reshape({1, K, h, w});
    }
    if (captureAttention && result) {
        if (!inspectionCapture(true, info, image.size(2), image.size(3)).attention) {
            // Only the queries and keys the inspection asked for.
            out.attention.clear();
        } else {
            out.queries.clear();
            out.keys.clear();
        }
        takeAttention(out, info, *result);
    }
    return {z, refined, R};
}

MethodOutput UsageMethod::infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels)
{
    return inferUsage(image, captureAttention, labels, nullptr);
}

MethodOutput UsageMethod::inferMaps(const torch::Tensor &image, const torch::Tensor &labels,
                                    const std::set<std::string> &kinds)
{
    return inferUsage(image, false, labels, &kinds);
}

MethodOutput UsageMethod::inferUsage(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels,
                                     const std::set<std::string> *only)
{
    const auto H = image.size(2), W = image.size(3);
    const bool teacher = m_config.seedWeights == "teacher" && teacherReady();
    const bool refine = m_config.affinityRefine && makesMap(only, "usage_affinity");
    MethodOutput result;
    auto [z, refined, R] = seedPass(image, teacher, captureAttention, &result, refine);
    const bool relu = m_config.camNormalization == "relu_min_max";
    auto cams = vision::resizeMaps(relu ? torch::relu(z) : z, H, W);
    // α, the spatial activation distribution over [background κ; classes] (Eq. 7) of the first
    // pass: its own background, so its pseudo-mask is α's argmax.
    const auto alpha = vision::resizeMaps(vision::classDistribution(z, 1.0, m_config.kappa), H, W)[0];
    torch::Tensor refinedMaps;
    if (refined.defined())
        refinedMaps = vision::resizeMaps(refined, H, W);
    if (m_config.flipInference) {
        auto [fc, fr, fR] = seedPass(image.flip({3}), teacher, false, nullptr, refine);
        cams = cams + vision::resizeMaps(relu ? torch::relu(fc) : fc, H, W).flip({3});
        if (refinedMaps.defined())
            refinedMaps = refinedMaps + vision::resizeMaps(fr, H, W).flip({3});
    }
    // Absent classes → 0 (MCTformer multiplies by the GT labels), then min-max per class.
    auto finish = [&](torch::Tensor maps) {
        if (labels.defined())
            maps = maps * labels.to(maps.scalar_type()).view({1, -1, 1, 1});
        return vision::normalizeMapsMinMax(maps, 1e-8)[0];
    };
    result.maps["usage"] = finish(cams);
    result.maps["usage_alpha"] = alpha.slice(0, 1);
    result.backgrounds["usage_alpha"] = alpha[0];
    if (refinedMaps.defined()) {
        result.maps["usage_affinity"] = finish(refinedMaps);
        result.affinities["patch_attention"] = R;
    }
    return result;
}

} // namespace wsss::training
