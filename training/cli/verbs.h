#pragma once
// The `wsss` command-line verbs. Each add*Verb registers its flags on the app and a callback
// that runs the verb; errors propagate as exceptions to app/wsss_main.cpp's single handler.
#include <CLI/App.hpp>

namespace wsss::training {

void addDemoDataVerb(CLI::App &app);
void addPretrainVerb(CLI::App &app);
void addTrainVerb(CLI::App &app);
void addInferVerb(CLI::App &app);
void addEvalVerb(CLI::App &app);
void addInspectVerb(CLI::App &app);

// Sets LibTorch's CPU thread count once (WSSS_THREADS, else the machine's cores).
void configureThreads();

} // namespace wsss::training
