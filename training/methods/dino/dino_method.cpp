#include "training/methods/dino/dino_method.h"

#include "training/data/color_jitter.h"
#include "training/methods/config_json.h"
#include "training/methods/dino/dino_losses.h"
#include "training/methods/parameter_groups.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/maps/cam.h"

#include <torch/nn/functional/normalization.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace wsss::training {

namespace F = torch::nn::functional;

constexpr double kPi = 3.14159265358979323846;

// ---- DinoConfig ------------------------------------------------------------------------------

DinoConfig DinoConfig::paper()
{
    // dino/main_dino.py's defaults where the official recipe was scaled down (eca.md Appendix D).
    // lr stays the base 5e-4 of main_dino's 5e-4 × batch/256: give --lr for another batch.
    DinoConfig c;
    c.preset = "paper";
    c.outDim = 65536;
    c.hiddenDim = 2048;
    c.localCrops = 8;
    return c;
}

DinoConfig DinoConfig::fromJson(const nlohmann::json &json)
{
    rejectUnknownKeys(json, "dino",
                      {"preset", "out_dim", "hidden_dim", "bottleneck_dim", "norm_last_layer", "teacher_temp",
                       "warmup_teacher_temp", "warmup_teacher_temp_fraction", "student_temp", "center_momentum",
                       "momentum_teacher", "global_scale_min", "global_scale_max", "local_crops", "local_scale_min",
                       "local_scale_max", "local_size_fraction", "flip_probability", "jitter_probability",
                       "brightness", "contrast", "saturation", "hue", "grayscale_probability", "blur", "solarize",
                       "drop_path", "lr", "backbone_lr_scale", "weight_decay", "warmup_fraction",
                       "freeze_last_layer_fraction"});
    DinoConfig c = presetConfig<DinoConfig>(json, "dino");
    readKey(json, "out_dim", c.outDim);
    readKey(json, "hidden_dim", c.hiddenDim);
    readKey(json, "bottleneck_dim", c.bottleneckDim);
    readKey(json, "norm_last_layer", c.normLastLayer);
    readKey(json, "teacher_temp", c.teacherTemp);
    readKey(json, "warmup_teacher_temp", c.warmupTeacherTemp);
    readKey(json, "warmup_teacher_temp_fraction", c.warmupTeacherTempFraction);
    readKey(json, "student_temp", c.studentTemp);
    readKey(json, "center_momentum", c.centerMomentum);
    readKey(json, "momentum_teacher", c.momentumTeacher);
    readKey(json, "global_scale_min", c.globalScaleMin);
    readKey(json, "global_scale_max", c.globalScaleMax);
    readKey(json, "local_crops", c.localCrops);
    readKey(json, "local_scale_min", c.localScaleMin);
    readKey(json, "local_scale_max", c.localScaleMax);
    readKey(json, "local_size_fraction", c.localSizeFraction);
    readKey(json, "flip_probability", c.flipProbability);
    readKey(json, "jitter_probability", c.jitterProbability);
    readKey(json, "brightness", c.brightness);
    readKey(json, "contrast", c.contrast);
    readKey(json, "saturation", c.saturation);
    readKey(json, "hue", c.hue);
    readKey(json, "grayscale_probability", c.grayscaleProbability);
    readKey(json, "blur", c.blur);
    readKey(json, "solarize", c.solarize);
    readKey(json, "drop_path", c.dropPath);
    readKey(json, "lr", c.lr);
    readKey(json, "backbone_lr_scale", c.backboneLrScale);
    readKey(json, "weight_decay", c.weightDecay);
    readKey(json, "warmup_fraction", c.warmupFraction);
    readKey(json, "freeze_last_layer_fraction", c.freezeLastLayerFraction);
    c.validate();
    return c;
}

nlohmann::json DinoConfig::toJson() const
{
    return {{"preset", preset},
            {"out_dim", outDim},
            {"hidden_dim", hiddenDim},
            {"bottleneck_dim", bottleneckDim},
            {"norm_last_layer", normLastLayer},
            {"teacher_temp", teacherTemp},
            {"warmup_teacher_temp", warmupTeacherTemp},
            {"warmup_teacher_temp_fraction", warmupTeacherTempFraction},
            {"student_temp", studentTemp},
            {"center_momentum", centerMomentum},
            {"momentum_teacher", momentumTeacher},
            {"global_scale_min", globalScaleMin},
            {"global_scale_max", globalScaleMax},
            {"local_crops", localCrops},
            {"local_scale_min", localScaleMin},
            {"local_scale_max", localScaleMax},
            {"local_size_fraction", localSizeFraction},
            {"flip_probability", flipProbability},
            {"jitter_probability", jitterProbability},
            {"brightness", brightness},
            {"contrast", contrast},
            {"saturation", saturation},
            {"hue", hue},
            {"grayscale_probability", grayscaleProbability},
            {"blur", blur},
            {"solarize", solarize},
            {"drop_path", dropPath},
            {"lr", lr},
            {"backbone_lr_scale", backboneLrScale},
            {"weight_decay", weightDecay},
            {"warmup_fraction", warmupFraction},
            {"freeze_last_layer_fraction", freezeLastLayerFraction}};
}

void DinoConfig::validate() const
{
    auto fail = [](const std::string &key, double value, const std::string &range) {
        char text[64];
        std::snprintf(text, sizeof text, "%g", value);
        throw Error("dino: " + key + " " + text + " is outside " + range);
    };
    auto positive = [&](const char *key, double v) {
        if (!(v > 0) || !std::isfinite(v))
            fail(key, v, "(0, ∞)");
    };
    auto unit = [&](const char *key, double v) {
        if (!(v >= 0 && v <= 1))
            fail(key, v, "[0, 1]");
    };
    if (outDim < 2)
        fail("out_dim", outDim, "[2, ∞)");
    if (hiddenDim < 1)
        fail("hidden_dim", hiddenDim, "[1, ∞)");
    if (bottleneckDim < 1)
        fail("bottleneck_dim", bottleneckDim, "[1, ∞)");
    positive("teacher_temp", teacherTemp);
    positive("warmup_teacher_temp", warmupTeacherTemp);
    positive("student_temp", studentTemp);
    positive("lr", lr);
    positive("local_size_fraction", localSizeFraction);
    unit("warmup_teacher_temp_fraction", warmupTeacherTempFraction);
    if (!(centerMomentum >= 0 && centerMomentum < 1))
        fail("center_momentum", centerMomentum, "[0, 1)");
    unit("momentum_teacher", momentumTeacher);
    if (!(globalScaleMin > 0 && globalScaleMin <= globalScaleMax && globalScaleMax <= 1))
        fail("global_scale_min", globalScaleMin, "(0, global_scale_max] with global_scale_max <= 1");
    if (localCrops < 0)
        fail("local_crops", localCrops, "[0, ∞)");
    if (!(localScaleMin > 0 && localScaleMin <= localScaleMax && localScaleMax <= 1))
        fail("local_scale_min", localScaleMin, "(0, local_scale_max] with local_scale_max <= 1");
    if (localSizeFraction > 1)
        fail("local_size_fraction", localSizeFraction, "(0, 1]");
    unit("flip_probability", flipProbability);
    unit("jitter_probability", jitterProbability);
    unit("brightness", brightness);
    unit("contrast", contrast);
    unit("saturation", saturation);
    if (!(hue >= 0 && hue <= 0.5))
        fail("hue", hue, "[0, 0.5]");
    unit("grayscale_probability", grayscaleProbability);
    if (!(dropPath >= 0 && dropPath < 1))
        fail("drop_path", dropPath, "[0, 1)");
    if (!(backboneLrScale >= 0) || !std::isfinite(backboneLrScale))
        fail("backbone_lr_scale", backboneLrScale, "[0, ∞)");
    if (!(weightDecay >= 0) || !std::isfinite(weightDecay))
        fail("weight_decay", weightDecay, "[0, ∞)");
    unit("warmup_fraction", warmupFraction);
    unit("freeze_last_layer_fraction", freezeLastLayerFraction);
}

double DinoConfig::teacherTempAt(std::int64_t step, std::int64_t totalSteps) const
{
    const double warm = warmupTeacherTempFraction * static_cast<double>(totalSteps);
    if (warm <= 0 || static_cast<double>(step) >= warm)
        return teacherTemp;
    return warmupTeacherTemp + (teacherTemp - warmupTeacherTemp) * static_cast<double>(step) / warm;
}

double DinoConfig::momentumAt(std::int64_t step, std::int64_t totalSteps) const
{
    // main_dino's cosine_scheduler(momentum_teacher, 1, ...): 1 + (m₀ − 1)·(1 + cos(π·i/N))/2.
    const double t = totalSteps > 0 ? std::clamp(static_cast<double>(step) / static_cast<double>(totalSteps), 0.0, 1.0) : 0.0;
    return 1.0 + (momentumTeacher - 1.0) * 0.5 * (1.0 + std::cos(kPi * t));
}

bool DinoConfig::lastLayerFrozenAt(std::int64_t step, std::int64_t totalSteps) const
{
    return static_cast<double>(step) < freezeLastLayerFraction * static_cast<double>(totalSteps);
}

std::int64_t DinoConfig::localSize(std::int64_t inputSide, int patch) const
{
    const auto patches = static_cast<std::int64_t>(std::lround(localSizeFraction * static_cast<double>(inputSide) / patch));
    return std::max<std::int64_t>(1, patches) * patch;
}

TrainRecipe DinoConfig::recipe() const
{
    // main_dino: AdamW, linear warm-up then cosine to 1e-6; the studio's warm-up + poly schedule
    // stands in for the cosine, and the weight decay stays at its starting 0.04.
    TrainRecipe r;
    r.optimizer = "adamw";
    r.lr = lr;
    r.backboneLrScale = backboneLrScale;
    r.weightDecay = weightDecay;
    r.warmupFraction = warmupFraction;
    return r;
}

// ---- DinoHead --------------------------------------------------------------------------------

DinoHeadImpl::DinoHeadImpl(int inDim, const DinoConfig &c)
{
    using torch::nn::Linear;
    m_mlp = register_module("mlp", torch::nn::Sequential(Linear(inDim, c.hiddenDim), torch::nn::GELU(),
                                                         Linear(c.hiddenDim, c.hiddenDim), torch::nn::GELU(),
                                                         Linear(c.hiddenDim, c.bottleneckDim)));
    m_lastLayer = register_module("last_layer", std::make_shared<torch::nn::Module>());
    m_weightV = m_lastLayer->register_parameter("weight_v", torch::empty({c.outDim, c.bottleneckDim}));
    // weight_g fixed at 1 (norm_last_layer: every prototype a unit vector) or trained.
    m_weightG = m_lastLayer->register_parameter("weight_g", torch::ones({c.outDim, 1}), !c.normLastLayer);

    torch::NoGradGuard noGrad;
    // main_dino's _init_weights: truncated normal 0.02 (clamped at ±2σ, as the ViT's), zero bias.
    for (auto &module : m_mlp->modules(false))
        if (auto *linear = module->as<torch::nn::Linear>()) {
            linear->weight.normal_(0.0, 0.02).clamp_(-0.04, 0.04);
            linear->bias.zero_();
        }
    // The last layer keeps nn.Linear's default init (it is created after _init_weights runs).
    torch::nn::init::kaiming_uniform_(m_weightV, std::sqrt(5.0));
}

torch::Tensor DinoHeadImpl::lastLayerWeight() const
{
    return m_weightG * m_weightV / m_weightV.norm(2, {1}, true);
}

torch::Tensor DinoHeadImpl::forward(const torch::Tensor &x, bool freezeLastLayer)
{
    const auto z = F::normalize(m_mlp->forward(x), F::NormalizeFuncOptions().p(2).dim(-1).eps(1e-12));
    const auto w = freezeLastLayer ? lastLayerWeight().detach() : lastLayerWeight();
    return torch::matmul(z, w.t());
}

// ---- multi-crop views ------------------------------------------------------------------------

namespace {

torch::Tensor uniform(std::int64_t n, double low, double high, const torch::TensorOptions &options)
{
    return low + (high - low) * torch::rand({n}, options);
}

torch::Tensor bernoulli(std::int64_t n, double p, const torch::TensorOptions &options)
{
    return torch::rand({n}, options) < p;
}

torch::Tensor perImage(const torch::Tensor &v) { return v.view({-1, 1, 1, 1}); }

// torchvision's RandomResizedCrop + RandomHorizontalFlip per image of x [B, 3, H, W] in [0, 1]:
// area fraction s ~ U(scale), log aspect ~ U(log ¾, log 4/3), redrawn up to 10 times until the
// box fits, else the whole image; the box (mirrored when flipped) is resampled bicubically to
// outH × outW through one affine grid.
torch::Tensor randomResizedCrop(const torch::Tensor &x, std::int64_t outH, std::int64_t outW, double scaleMin,
                                double scaleMax, double flipProbability)
{
    const auto B = x.size(0);
    const double H = static_cast<double>(x.size(2)), W = static_cast<double>(x.size(3));
    const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
    auto wf = torch::ones({B}, opts), hf = torch::ones({B}, opts); // box side / image side
    auto pending = torch::ones({B}, opts.dtype(torch::kBool));
    for (int attempt = 0; attempt < 10 && pending.any().item<bool>(); ++attempt) {
        const auto s = uniform(B, scaleMin, scaleMax, opts);
        const auto aspect = torch::exp(uniform(B, std::log(3.0 / 4.0), std::log(4.0 / 3.0), opts));
        const auto w = torch::sqrt(s * aspect * (H / W)), h = torch::sqrt(s / aspect * (W / H));
        const auto fits = pending & (w <= 1) & (h <= 1);
        wf = torch::where(fits, w, wf);
        hf = torch::where(fits, h, hf);
        pending = pending & fits.logical_not();
    }
    // In normalised coordinates the box centre lies anywhere the box stays inside the image.
    const auto cx = (2 * torch::rand({B}, opts) - 1) * (1 - wf), cy = (2 * torch::rand({B}, opts) - 1) * (1 - hf);
    const auto sx = torch::where(bernoulli(B, flipProbability, opts), -wf, wf);
    const auto zero = torch::zeros({B}, opts);
    const auto theta = torch::stack({sx, zero, cx, zero, hf, cy}, 1).view({B, 2, 3});
    const auto grid = torch::affine_grid_generator(theta, {B, 3, outH, outW}, false);
    // grid_sampler modes: 2 = bicubic (main_dino's), padding 1 = border.
    return torch::grid_sampler(x.to(torch::kFloat), grid, 2, 1, false).clamp(0, 1);
}

// ColorJitter(brightness, contrast, saturation, hue) with probability p per image, then
// RandomGrayscale, as main_dino's transforms (torchvision's order drawn per call, HSV hue).
torch::Tensor colourJitter(const torch::Tensor &x, const DinoConfig &c)
{
    const auto B = x.size(0);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
    const auto apply = bernoulli(B, c.jitterProbability, opts).cpu();
    const ColorJitterRanges ranges{c.brightness, c.contrast, c.saturation, c.hue};
    std::vector<torch::Tensor> images;
    for (std::int64_t b = 0; b < B; ++b)
        images.push_back(apply[b].item<bool>() ? colorJitter(x[b], ranges) : x[b]);
    const auto jittered = torch::stack(images);
    const auto toGray = perImage(bernoulli(B, c.grayscaleProbability, opts));
    return torch::where(toGray, grayscale(jittered).expand_as(jittered), jittered);
}

// PIL's GaussianBlur(radius σ ~ U(0.1, 2)) with probability p per image; σ in pixels of a
// 224-pixel input, scaled by inputSide/224. Separable, one kernel per image (grouped conv).
torch::Tensor gaussianBlur(const torch::Tensor &x, double p, std::int64_t inputSide)
{
    const auto B = x.size(0), C = x.size(1);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
    const double scale = static_cast<double>(inputSide) / 224.0;
    const auto radius = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(3 * 2.0 * scale)));
    const auto sigma = uniform(B, 0.1 * scale, 2.0 * scale, opts).view({B, 1});
    const auto offsets = torch::arange(-radius, radius + 1, opts).view({1, -1});
    auto kernel = torch::exp(-offsets * offsets / (2 * sigma * sigma));
    kernel = kernel / kernel.sum(1, true);
    const auto delta = (offsets == 0).to(torch::kFloat).expand_as(kernel);
    kernel = torch::where(bernoulli(B, p, opts).view({B, 1}), kernel, delta).repeat_interleave(C, 0); // [B·C, k]
    auto y = torch::replication_pad2d(x.reshape({1, B * C, x.size(2), x.size(3)}), {radius, radius, radius, radius});
    const std::vector<std::int64_t> one{1, 1}, none{0, 0};
    y = torch::conv2d(y, kernel.view({B * C, 1, -1, 1}), torch::Tensor(), one, none, one, B * C);
    y = torch::conv2d(y, kernel.view({B * C, 1, 1, -1}), torch::Tensor(), one, none, one, B * C);
    return y.view_as(x);
}

// PIL's solarize(threshold 128) with probability p per image.
torch::Tensor solarize(const torch::Tensor &x, double p)
{
    const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
    const auto apply = perImage(bernoulli(x.size(0), p, opts));
    return torch::where(apply & (x >= 0.5), 1 - x, x);
}

} // namespace

std::vector<torch::Tensor> dinoViews(const torch::Tensor &images, const vision::Normalization &norm,
                                     const DinoConfig &c, int patch)
{
    torch::NoGradGuard noGrad;
    const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(images.device());
    const auto mean = torch::tensor({norm.mean[0], norm.mean[1], norm.mean[2]}, opts).view({1, 3, 1, 1});
    const auto std = torch::tensor({norm.std[0], norm.std[1], norm.std[2]}, opts).view({1, 3, 1, 1});
    const auto pixels = (images.to(torch::kFloat) * std + mean).clamp(0, 1);
    const auto H = images.size(2), W = images.size(3);
    const auto side = std::max(H, W);
    std::vector<torch::Tensor> views;
    // main_dino: blur p 1.0 / 0.1 on the global views, solarisation p 0.2 on the second.
    for (int g = 0; g < 2; ++g) {
        auto v = colourJitter(randomResizedCrop(pixels, H, W, c.globalScaleMin, c.globalScaleMax, c.flipProbability), c);
        if (c.blur)
            v = gaussianBlur(v, g == 0 ? 1.0 : 0.1, side);
        if (c.solarize && g == 1)
            v = solarize(v, 0.2);
        views.push_back(v);
    }
    const auto h = c.localSize(H, patch), w = c.localSize(W, patch);
    for (int l = 0; l < c.localCrops; ++l) {
        auto v = colourJitter(randomResizedCrop(pixels, h, w, c.localScaleMin, c.localScaleMax, c.flipProbability), c);
        if (c.blur)
            v = gaussianBlur(v, 0.5, side);
        views.push_back(v);
    }
    for (auto &v : views)
        v = ((v - mean) / std).to(images.scalar_type());
    return views;
}

// ---- DinoMethod ------------------------------------------------------------------------------

DinoMethod::DinoMethod(const MethodSpec &spec) : m_config(DinoConfig::fromJson(spec.config)), m_classes(spec.numClasses)
{
    setBackbone(vision::makeBackbone(spec.backbone)); // the teacher: keys backbone.*
    requireVit("dino");                              // the class token is what DINO trains
    const int dim = m_backbone->info().channels;
    m_teacherHead = register_module("teacher_head", DinoHead(dim, m_config));
    m_student = register_module("student", vision::makeBackbone(spec.backbone));
    m_studentHead = register_module("student_head", DinoHead(dim, m_config));
    // The teacher is out of the optimiser and never differentiated.
    for (auto *m : {static_cast<torch::nn::Module *>(m_backbone.get()), static_cast<torch::nn::Module *>(m_teacherHead.get())})
        for (auto &p : m->parameters(true))
            p.set_requires_grad(false);
    m_center = register_buffer("center", torch::zeros({1, m_config.outDim}));
    m_teacherReady = register_buffer("teacher_ready", torch::zeros({1}));
}

std::vector<torch::optim::OptimizerParamGroup> DinoMethod::parameterGroups(const TrainRecipe &recipe)
{
    // {student ViT, student head} × {decayed, not decayed}; main_dino leaves biases and 1-D
    // (norm) parameters undecayed.
    std::array<std::vector<torch::Tensor>, 4> groups;
    for (const auto &p : named_parameters(true)) {
        const std::string &key = p.key();
        const bool isVit = key.rfind("student.", 0) == 0;
        if (!p.value().requires_grad() || !(isVit || key.rfind("student_head.", 0) == 0))
            continue;
        groups[(isVit ? 0 : 2) + (p.value().dim() <= 1 ? 1 : 0)].push_back(p.value());
    }
    return recipeGroups(recipe, std::move(groups));
}

torch::Tensor DinoMethod::project(const torch::Tensor &views, bool teacher, bool freezeLastLayer)
{
    auto &backbone = teacher ? *m_backbone : *m_student;
    auto &head = teacher ? m_teacherHead : m_studentHead;
    vision::DropRates rates;
    if (!teacher)
        rates.path = m_config.dropPath;
    const auto out = backbone.forward(views, {}, rates);
    return head->forward(out.tokens.select(1, 0), freezeLastLayer); // main_dino: the CLS token after the norm
}

void DinoMethod::emaUpdate(double momentum)
{
    torch::NoGradGuard noGrad;
    auto update = [&](torch::nn::Module &student, torch::nn::Module &teacher) {
        auto t = teacher.named_parameters(true);
        for (const auto &p : student.named_parameters(true))
            t[p.key()].mul_(momentum).add_(p.value(), 1.0 - momentum);
        auto tb = teacher.named_buffers(true);
        for (const auto &b : student.named_buffers(true))
            tb[b.key()].copy_(b.value());
    };
    update(*m_student, *m_backbone);
    update(*m_studentHead, *m_teacherHead);
}

void DinoMethod::updateTeacher(std::int64_t step, std::int64_t totalSteps)
{
    if (teacherReady()) {
        emaUpdate(m_config.momentumAt(std::max<std::int64_t>(0, step - 1), totalSteps));
        return;
    }
    // main_dino starts the teacher as a copy of the student; here the student becomes a copy of
    // the teacher, which holds the weights the run loaded into the backbone.
    torch::NoGradGuard noGrad;
    auto copy = [](torch::nn::Module &from, torch::nn::Module &to) {
        auto t = to.named_parameters(true);
        for (const auto &p : from.named_parameters(true))
            t[p.key()].copy_(p.value());
        auto tb = to.named_buffers(true);
        for (const auto &b : from.named_buffers(true))
            tb[b.key()].copy_(b.value());
    };
    copy(*m_backbone, *m_student);
    copy(*m_teacherHead, *m_studentHead);
    m_teacherReady.fill_(1.0);
}

StepResult DinoMethod::trainStep(const Batch &batch)
{
    // The EMA of the previous optimiser step (or the initial copy), before the teacher's forward.
    updateTeacher(batch.step, batch.totalSteps);
    const auto info = m_backbone->info();
    const auto views = dinoViews(batch.images, info.norm, m_config, info.inputMultiple);
    const auto globals = torch::cat({views[0], views[1]});
    const bool freeze = m_config.lastLayerFrozenAt(batch.step, batch.totalSteps);

    torch::Tensor teacherOut;
    {
        torch::NoGradGuard noGrad;
        teacherOut = project(globals, true);
    }
    std::vector<torch::Tensor> student{project(globals, false, freeze)};
    if (views.size() > 2) // the local crops share one size: one forward
        student.push_back(project(torch::cat(std::vector<torch::Tensor>(views.begin() + 2, views.end())), false, freeze));
    const double teacherTemp = m_config.teacherTempAt(batch.step, batch.totalSteps);

    StepResult result;
    result.losses["dino"] = dinoLoss(torch::cat(student), teacherOut, m_center, static_cast<std::int64_t>(views.size()),
                                     m_config.studentTemp, teacherTemp);
    {
        torch::NoGradGuard noGrad;
        // Collapse shows here: one prototype wins (batch entropy → 0) or the targets go uniform
        // (teacher entropy → log K).
        const auto p = torch::softmax((teacherOut - m_center) / teacherTemp, -1);
        result.logs["teacher_entropy"] = (-(p * torch::log(p + 1e-12)).sum(-1)).mean().item<double>();
        const auto mean = p.mean(0);
        result.logs["batch_entropy"] = (-(mean * torch::log(mean + 1e-12)).sum()).item<double>();
        m_center.copy_(updatedCenter(m_center, teacherOut, m_config.centerMomentum));
    }
    result.logs["teacher_temp"] = teacherTemp;
    result.logs["teacher_momentum"] = m_config.momentumAt(batch.step, batch.totalSteps);
    return result;
}

MethodOutput DinoMethod::infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels)
{
    const auto H = image.size(2), W = image.size(3);
    const auto info = m_backbone->info();
    auto request = inspectionCapture(captureAttention, info, H, W);
    if (!request.any()) { // only the last block's queries and keys: its CLS row is all we need
        request.queries = request.keys = true;
        request.layers = {-1};
    }
    auto out = m_backbone->forward(image, request);
    const auto p = out.prefixTokens;
    torch::Tensor cls; // [heads, h·w]: the CLS query's attention over the patches, last block
    if (!out.attention.empty()) {
        cls = out.attention.back()[0].select(1, 0).slice(1, p);
    } else {
        const auto q = out.queries.back()[0].to(torch::kFloat), k = out.keys.back()[0].to(torch::kFloat);
        const double scale = 1.0 / std::sqrt(static_cast<double>(info.headDim));
        cls = torch::softmax(torch::matmul(q.slice(1, 0, 1), k.transpose(1, 2)) * scale, -1).squeeze(1).slice(1, p);
    }
    const auto map = cls.to(torch::kFloat).mean(0).view({1, 1, out.gridHeight, out.gridWidth});
    const auto attention = vision::normalizeMapsMinMax(vision::resizeMaps(map, H, W), 1e-8)[0]; // [1, H, W]
    const auto present = labels.defined() ? (labels.to(torch::kFloat) > 0.5).to(torch::kFloat)
                                          : torch::ones({m_classes}, attention.options());
    MethodOutput result;
    result.gridHeight = out.gridHeight;
    result.gridWidth = out.gridWidth;
    result.maps["dino"] = (attention * present.to(attention.device()).view({-1, 1, 1})).to(image.scalar_type());
    result.scores = torch::zeros({m_classes}, image.options()); // no classifier
    if (captureAttention)
        takeAttention(out, info, result);
    return result;
}

} // namespace wsss::training
