// wsss: the headless command-line tool. Registers the verbs; one exit path for errors.
#include "training/cli/verbs.h"
#include "vision/core/process_setup.h"

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv)
{
    wsss::vision::prepareProcess(argv); // as every program of the project: may start it again
    CLI::App app{"wsss — weakly supervised semantic segmentation toolkit (headless)"};
    app.require_subcommand(1);
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
