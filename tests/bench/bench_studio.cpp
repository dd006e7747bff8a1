// Studio redraw times with an inspection cached (issue: Studio I speed): a threshold change →
// pseudo-mask redrawn (target < 16 ms at 512 px), and a query change → attention panel redrawn
// (target < 50 ms for ViT-S/16 at 448 px: 12 blocks × 6 heads, 785 tokens); the band mode's mask
// (255 hatched) on a band slider step, same target as the threshold's; the class maps strip rebuilt
// for a new inspection or map kind (3 classes at 512 px). Offscreen Qt; each
// step renders the widget with grab(), which paints whether or not a window is exposed.
// Each case runs idle, then while the engine trains a run on its worker (issue: Studio II, the GUI
// as fast while training), with the worker's default threads and with every core.
// Usage: bench_studio [REPEATS]; one JSON line per case and load.
#include "training/methods/inspection.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/docks/attention_dock.h"
#include "ui/docks/class_maps_dock.h"
#include "ui/engine/engine_bridge.h"
#include "ui/project/rule_fields.h"
#include "vision/core/process_setup.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>

#include <wsss/source_paths.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using wsss::training::Inspection;
using wsss::ui::AttentionDock;
using wsss::ui::CanvasWidget;

namespace {

double median(std::vector<double> v)
{
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
}

std::shared_ptr<Inspection> inspection(int side, int grid, int layers, int heads)
{
    auto ins = std::make_shared<Inspection>();
    ins->imageId = "bench";
    ins->imageWidth = ins->imageHeight = side;
    ins->inputWidth = ins->inputHeight = grid * 16;
    ins->rgb.assign(static_cast<size_t>(side) * side * 3, 128);
    ins->gridWidth = ins->gridHeight = grid;
    ins->patchSize = 16;
    ins->classNames = {"background", "a", "b", "c"};
    ins->imageLabels = {1, 2, 3};
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int c = 1; c <= 3; ++c) {
        wsss::training::ClassMap map{"cam", c, std::vector<float>(static_cast<size_t>(side) * side)};
        for (int y = 0; y < side; ++y)
            for (int x = 0; x < side; ++x)
                map.values[static_cast<size_t>(y) * side + x] =
                    0.5f + 0.5f * std::sin(x / (20.0f + 9 * c)) * std::cos(y / (25.0f + 7 * c));
        ins->maps.push_back(std::move(map));
    }
    const int tokens = 1 + grid * grid;
    for (int l = 0; l < layers; ++l) {
        wsss::training::AttentionLayer layer;
        layer.heads = heads;
        layer.tokens = tokens;
        layer.probs.resize(static_cast<size_t>(heads) * tokens * tokens);
        for (float &p : layer.probs)
            p = u(rng) / tokens;
        ins->attention.push_back(std::move(layer));
    }
    return ins;
}

// Every case once; `load` names what else runs ("idle", or a training job on the worker).
void runCases(const char *load, int repeats)
{
    // Threshold change → pseudo-mask rebuilt and the canvas repainted, 512 × 512, 3 classes.
    {
        CanvasWidget canvas;
        canvas.resize(640, 640);
        canvas.show();
        canvas.setInspection(inspection(512, 32, 1, 1));
        canvas.setMapClass(1);
        canvas.setShowMask(true);
        (void)canvas.grab();
        std::vector<double> ms;
        for (int i = 0; i < repeats; ++i) {
            wsss::vision::PseudoLabelRule rule;
            rule.bgThreshold = 0.2f + 0.6f * i / repeats;
            QElapsedTimer timer;
            timer.start();
            canvas.setRule(rule);
            (void)canvas.grab(); // renders now, exposed or not
            ms.push_back(timer.nsecsElapsed() / 1e6);
        }
        std::printf("{\"load\":\"%s\",\"case\":\"mask_redraw\",\"size\":512,\"median_ms\":%.3f,\"target_ms\":16}\n", load, median(ms));
    }
    // Band slider step → the band's mask (ignored pixels hatched) rebuilt and repainted, 512 × 512.
    {
        CanvasWidget canvas;
        canvas.resize(640, 640);
        canvas.show();
        canvas.setInspection(inspection(512, 32, 1, 1));
        canvas.setMapClass(1);
        canvas.setShowMask(true);
        (void)canvas.grab();
        std::vector<double> ms;
        for (int i = 0; i < repeats; ++i) {
            wsss::vision::PseudoLabelRule rule;
            rule.background = wsss::vision::BackgroundRule::Band;
            rule.bandLow = 0.2f + 0.4f * i / repeats;
            rule.bandHigh = rule.bandLow + 0.2f;
            QElapsedTimer timer;
            timer.start();
            canvas.setRule(rule);
            (void)canvas.grab();
            ms.push_back(timer.nsecsElapsed() / 1e6);
        }
        std::printf("{\"load\":\"%s\",\"case\":\"band_mask_redraw\",\"size\":512,\"median_ms\":%.3f,\"target_ms\":16}\n", load, median(ms));
    }
    // New inspection or map kind → the class maps strip (one tile per labelled class) rebuilt and painted.
    {
        wsss::ui::ClassMapsDock dock;
        dock.resize(360, 600);
        dock.show();
        const auto a = inspection(512, 32, 1, 1), b = inspection(512, 32, 1, 1);
        dock.setInspection(a);
        (void)dock.grab();
        std::vector<double> ms;
        for (int i = 0; i < repeats; ++i) {
            QElapsedTimer timer;
            timer.start();
            dock.setInspection(i % 2 ? a : b);
            (void)dock.grab();
            ms.push_back(timer.nsecsElapsed() / 1e6);
        }
        std::printf("{\"load\":\"%s\",\"case\":\"class_strip_rebuild\",\"size\":512,\"classes\":3,\"median_ms\":%.3f,"
                    "\"target_ms\":16}\n", load, median(ms));
    }
    // Query change → the attention grid (12 × (6 + mean)) and the big view repainted, ViT-S/16 at 448.
    {
        AttentionDock dock;
        dock.resize(420, 900);
        dock.show();
        dock.setInspection(inspection(448, 28, 12, 6));
        dock.setQueryToken(1);
        (void)dock.grab();
        std::vector<double> ms;
        for (int i = 0; i < repeats; ++i) {
            QElapsedTimer timer;
            timer.start();
            dock.setQueryToken(1 + (i * 37) % (28 * 28));
            (void)dock.grab();
            ms.push_back(timer.nsecsElapsed() / 1e6);
        }
        std::printf("{\"load\":\"%s\",\"case\":\"attention_redraw\",\"model\":\"vit_small_patch16\",\"size\":448,\"median_ms\":%.3f,"
                    "\"target_ms\":50}\n", load, median(ms));
    }
}

// Runs the cases while the engine trains a run of `cam` on the demo backbone (batch 16 at 128 px)
// on its worker thread, as the studio's Training does; cancelled after.
void runCasesWhileTraining(const char *load, int repeats)
{
    QTemporaryDir dir;
    wsss::ui::EngineBridge bridge;
    wsss::training::TrainOptions o;
    o.method = "cam";
    o.data = std::string(WSSS_SOURCE_DIR) + "/tests/fixtures/tiny_voc";
    o.out = dir.filePath(QStringLiteral("run")).toStdString();
    o.iters = 1000000;
    o.batch = 16;
    o.size = 128;
    o.saveEvery = 1000000;
    o.valSplit = "none";
    const quint64 job = bridge.train(o);
    bool stepped = false, ended = false;
    QObject::connect(&bridge, &wsss::ui::EngineBridge::trainingStep, [&] { stepped = true; });
    QObject::connect(&bridge, &wsss::ui::EngineBridge::jobFailed, [&](quint64, const QString &message) {
        std::fprintf(stderr, "bench_studio: the training job failed: %s\n", qPrintable(message));
        ended = true;
    });
    for (auto end : {&wsss::ui::EngineBridge::jobFinished, &wsss::ui::EngineBridge::jobCancelled})
        QObject::connect(&bridge, end, [&] { ended = true; });
    QElapsedTimer wait;
    wait.start();
    while (!stepped && !ended && wait.elapsed() < 120000)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    if (stepped)
        runCases(load, repeats);
    bridge.cancel(job);
    while (!ended)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
}

} // namespace

int main(int argc, char **argv)
{
    wsss::vision::prepareProcess(argv); // as every program of the project: may start it again
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    const int repeats = argc > 1 ? std::max(3, std::atoi(argv[1])) : 21;

    runCases("idle", repeats);
    // Under load: the worker training with its default threads (one core left to the GUI), then
    // with every core, the way it ran before.
    runCasesWhileTraining("training", repeats);
    const QByteArray cores = QByteArray::number(static_cast<int>(std::thread::hardware_concurrency()));
    qputenv("WSSS_THREADS", cores);
    runCasesWhileTraining("training_all_cores", repeats);
    return 0;
}
