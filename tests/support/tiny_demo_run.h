#pragma once
// A tiny demo dataset (4 train and `valImages` val images at 64 px) and a 2-step run of a method on it
// from scratch: a real dataset and checkpoint for the studio's tests, in seconds.
#include "training/data/demo_generator.h"
#include "training/loop/trainer.h"

#include <filesystem>
#include <string>

namespace wsss::test {

struct TinyDemoRun {
    std::string data;                 // VOC-layout folder
    training::TrainResult trained;    // trained.checkpointPath, trained.metrics
};

// A tiny demo dataset of `train` and `val` images at 64 px in `folder`; returns the folder.
inline std::string makeTinyDemoData(const std::string &folder, int train, int val)
{
    training::DemoDataOptions demo;
    demo.out = folder;
    demo.train = train;
    demo.val = val;
    demo.size = 64;
    training::generateDemoData(demo);
    return folder;
}

// A few CPU steps of `method` from scratch on the tiny test ViT at 64 px: the methods' tests' run.
inline training::TrainOptions tinyRunOptions(const std::string &method, const std::string &data, const std::string &out,
                                             int iters = 4, int batch = 4)
{
    training::TrainOptions o;
    o.method = method;
    o.data = data;
    o.out = out;
    o.backbone = "vit_test_patch8";
    o.weights = "none";
    o.device = "cpu";
    o.iters = iters;
    o.batch = batch;
    o.size = 64;
    return o;
}

inline TinyDemoRun makeTinyDemoRun(const std::string &dir, int valImages, const std::string &method = "cam")
{
    TinyDemoRun run;
    run.data = (std::filesystem::path(dir) / "data").string();
    training::DemoDataOptions demo;
    demo.out = run.data;
    demo.train = 4;
    demo.val = valImages;
    demo.size = 64;
    training::generateDemoData(demo);

    training::TrainOptions options;
    options.method = method;
    options.data = run.data;
    options.out = (std::filesystem::path(dir) / "run").string();
    options.iters = 2;
    options.batch = 2;
    options.size = 64;
    options.backbone = "vit_demo_patch8";
    options.weights = "none";
    options.device = "cpu";
    options.warmup = 1;
    run.trained = training::train(options);
    return run;
}

} // namespace wsss::test
