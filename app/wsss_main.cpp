// wsss: the headless command-line tool. Registers the verbs; one exit path for errors.
#include "training/cli/verbs.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/process_setup.h"

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

// `wsss --version` and `wsss version`: the first lines of a bug report. The LibTorch version is the
// one the build compiled against; the resource folder shows whether an installed copy finds the
// bundled weights beside it (share/wsss-studio) or falls back to the source tree.
std::string versionText()
{
    std::string text = "wsss " WSSS_VERSION "\nlibtorch: " TORCH_VERSION "\ncuda: ";
    if (torch::cuda::is_available())
        text += "available, " + std::to_string(torch::cuda::device_count()) + " device(s)";
    else
        text += "not available";
    return text + "\nresources: " + wsss::vision::resourceDir();
}

} // namespace

int main(int argc, char **argv)
{
    wsss::vision::prepareProcess(argv); // as every program of the project: may start it again
    CLI::App app{"wsss — weakly supervised semantic segmentation toolkit (headless)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", versionText); // computed only when asked: it probes CUDA
    wsss::training::addDemoDataVerb(app);
    wsss::training::addPretrainVerb(app);
    wsss::training::addTrainVerb(app);
    wsss::training::addInferVerb(app);
    wsss::training::addEvalVerb(app);
    wsss::training::addInspectVerb(app);
    wsss::training::addRefineVerb(app);
    wsss::training::addInfoVerb(app);
    wsss::training::addProjectVerb(app);
    wsss::training::addExportVerb(app);
    wsss::training::addPackVerb(app);
    app.add_subcommand("version", "Show the version, the LibTorch version, CUDA availability and the resource folder")
        ->callback([] { std::printf("%s\n", versionText().c_str()); });
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return app.exit(e);
    } catch (const c10::Error &e) {
        std::fprintf(stderr, "error: %s\n", e.what_without_backtrace());
        return EXIT_FAILURE;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
