// wsss-studio: the GUI. Opens a project (or a dataset and a checkpoint) and, with --screenshot,
// renders the first inspection to a PNG and exits — the studio's headless smoke test. When the
// dataset or the checkpoint fails, the PNG shows the window with the failure, and the exit status is 1.
#include "ui/canvas/canvas_widget.h"
#include "ui/docks/affinity_dock.h"
#include "ui/docks/attention_dock.h"
#include "ui/docks/class_maps_dock.h"
#include "ui/docks/training_dock.h"
#include "ui/training/run_curves.h"
#include "ui/training/training_controller.h"
#include "ui/engine/engine_bridge.h"
#include "training/project/studio_project.h"
#include "ui/correction/correction_controller.h"
#include "ui/main_window.h"
#include "vision/core/process_setup.h"

#include <QApplication>
#include <QCheckBox>
#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QPointF>
#include <QSettings>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>
#include <memory>

namespace {

// Seconds a --screenshot run may wait for its inspection before giving up.
constexpr int kScreenshotTimeoutSeconds = 600;

struct StudioArgs {
    QString data, checkpoint, split = QStringLiteral("train"), image, className, mapKind, screenshot;
    QString device = QStringLiteral("auto");
    bool evaluate = false; // with --screenshot: evaluate the split first, then grab
    bool hud = false;      // show the canvas HUD (reading the query pixel when one is given)
    bool hasQuery = false;
    QPointF query;
    bool mask = false;     // show the pseudo-mask instead of the class map
    QString band;          // "LO,HI": the band decision
    int par = 0;           // PAR iterations
    bool crf = false;
    QString panel;         // the right-hand tab to raise
    QString follow;        // a run folder to watch (wsss train writes it)
    QString project;       // a .wsssproj to open
    QString projectImage;  // the image it last showed
};

void printError(const QString &message)
{
    std::fprintf(stderr, "wsss-studio: %s\n", qPrintable(message));
}

// The sources a project names (readStudioProject: paths resolved against the project file), so
// the flags below can check and override them; the window opens the project itself.
bool readProject(const QString &path, StudioArgs &args, QString *error)
{
    try {
        const auto project = wsss::training::readStudioProject(path.toStdString());
        args.data = QString::fromStdString(project.data.string());
        args.checkpoint = QString::fromStdString(project.checkpoint.string());
        args.split = QString::fromStdString(project.split);
        args.projectImage = QString::fromStdString(project.image);
        return true;
    } catch (const std::exception &e) {
        *error = QString::fromUtf8(e.what());
        return false;
    }
}

} // namespace

int main(int argc, char *argv[])
{
    wsss::vision::prepareProcess(argv); // as every program of the project: may start it again
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("WSSS Studio"));
    QApplication::setApplicationName(QStringLiteral("wsss-studio"));
    QApplication::setApplicationVersion(QStringLiteral(WSSS_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("WSSS Studio: look inside weakly supervised segmentation models."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("project"), QStringLiteral("A .wsssproj file (optional)."),
                                 QStringLiteral("[PROJECT.wsssproj]"));
    const QCommandLineOption dataOpt(QStringLiteral("data"), QStringLiteral("VOC-layout dataset folder."), QStringLiteral("DIR"));
    const QCommandLineOption ckptOpt(QStringLiteral("checkpoint"), QStringLiteral("Checkpoint (.wsss) to load."), QStringLiteral("FILE"));
    const QCommandLineOption splitOpt(QStringLiteral("split"), QStringLiteral("Dataset split (default: train)."), QStringLiteral("S"));
    const QCommandLineOption imageOpt(QStringLiteral("image"), QStringLiteral("Image id to show first."), QStringLiteral("ID"));
    const QCommandLineOption queryOpt(QStringLiteral("query"), QStringLiteral("Query patch under image pixel X,Y."), QStringLiteral("X,Y"));
    const QCommandLineOption classOpt(QStringLiteral("class"), QStringLiteral("Class whose map is shown."), QStringLiteral("NAME"));
    const QCommandLineOption shotOpt(QStringLiteral("screenshot"),
                                     QStringLiteral("Save the window to FILE.png once the inspection is shown, then exit "
                                                    "(on a failure: the window showing it, and exit status 1)."),
                                     QStringLiteral("FILE.png"));
    const QCommandLineOption deviceOpt(QStringLiteral("device"), QStringLiteral("auto, cpu or cuda[:N] (default: auto)."), QStringLiteral("D"));
    const QCommandLineOption evaluateOpt(QStringLiteral("evaluate"),
                                         QStringLiteral("Evaluate the split once the first image is shown (with --screenshot: grab after it)."));
    const QCommandLineOption hudOpt(QStringLiteral("hud"),
                                    QStringLiteral("Show the canvas HUD, reading out the --query pixel."));
    const QCommandLineOption mapOpt(QStringLiteral("map"),
                                    QStringLiteral("Map kind shown, as in the Map box (cam, aff, seg, grad, acr, carm, ...)."),
                                    QStringLiteral("KIND"));
    const QCommandLineOption maskOpt(QStringLiteral("mask"), QStringLiteral("Show the pseudo-mask instead of the class map."));
    const QCommandLineOption bandOpt(QStringLiteral("band"),
                                     QStringLiteral("Band decision: class above HI, background at or below LO, ignored between."),
                                     QStringLiteral("LO,HI"));
    const QCommandLineOption parOpt(QStringLiteral("par"), QStringLiteral("PAR iterations of the rule (0 = off)."), QStringLiteral("N"));
    const QCommandLineOption crfOpt(QStringLiteral("crf"), QStringLiteral("Dense CRF in the rule."));
    const QCommandLineOption panelOpt(QStringLiteral("panel"),
                                      QStringLiteral("Right-hand panel to show: attention, affinity or class-maps."),
                                      QStringLiteral("NAME"));
    const QCommandLineOption followOpt(QStringLiteral("follow"),
                                       QStringLiteral("Watch a run folder that wsss train writes: its losses, validation "
                                                      "and checkpoints, live (with --screenshot: grab once its curves "
                                                      "are drawn)."),
                                       QStringLiteral("RUN_DIR"));
    parser.addOptions({dataOpt, ckptOpt, splitOpt, imageOpt, queryOpt, classOpt, shotOpt, deviceOpt, evaluateOpt, hudOpt,
                       mapOpt, maskOpt, bandOpt, parOpt, crfOpt, panelOpt, followOpt});
    parser.process(app);

    StudioArgs args;
    QString error;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() > 1) {
        printError(QStringLiteral("expected at most one project file, got %1").arg(positional.size()));
        return 1;
    }
    if (!positional.isEmpty()) {
        args.project = positional.front();
        if (!readProject(args.project, args, &error)) {
            printError(error);
            return 1;
        }
    }
    if (parser.isSet(dataOpt)) args.data = parser.value(dataOpt);
    if (parser.isSet(ckptOpt)) args.checkpoint = parser.value(ckptOpt);
    if (parser.isSet(splitOpt)) args.split = parser.value(splitOpt);
    if (parser.isSet(deviceOpt)) args.device = parser.value(deviceOpt);
    args.image = parser.value(imageOpt);
    args.className = parser.value(classOpt);
    args.screenshot = parser.value(shotOpt);
    args.evaluate = parser.isSet(evaluateOpt);
    args.hud = parser.isSet(hudOpt);
    args.mask = parser.isSet(maskOpt);
    args.band = parser.value(bandOpt);
    args.crf = parser.isSet(crfOpt);
    args.panel = parser.value(panelOpt);
    args.mapKind = parser.value(mapOpt);
    args.follow = parser.value(followOpt);
    if (!args.follow.isEmpty() && !QFileInfo(args.follow).isDir()) {
        printError(QStringLiteral("--follow \"%1\" is not a folder (give a run folder of wsss train)").arg(args.follow));
        return 1;
    }
    if (parser.isSet(parOpt)) {
        bool ok = false;
        args.par = parser.value(parOpt).toInt(&ok);
        if (!ok || args.par < 0) {
            printError(QStringLiteral("--par expects a count ≥ 0, got \"%1\"").arg(parser.value(parOpt)));
            return 1;
        }
    }
    wsss::vision::PseudoLabelRule bandRule;
    if (!args.band.isEmpty()) {
        const QStringList lh = args.band.split(QLatin1Char(','));
        bool okL = false, okH = false;
        if (lh.size() == 2) {
            bandRule.bandLow = lh[0].trimmed().toFloat(&okL);
            bandRule.bandHigh = lh[1].trimmed().toFloat(&okH);
        }
        if (!okL || !okH || !(bandRule.bandLow <= bandRule.bandHigh)) {
            printError(QStringLiteral("--band expects LO,HI with LO ≤ HI, got \"%1\"").arg(args.band));
            return 1;
        }
    }
    if (!args.panel.isEmpty() && !QStringList{QStringLiteral("attention"), QStringLiteral("affinity"),
                                              QStringLiteral("class-maps")}.contains(args.panel)) {
        printError(QStringLiteral("--panel expects attention, affinity or class-maps, got \"%1\"").arg(args.panel));
        return 1;
    }
    if (parser.isSet(queryOpt)) {
        const QStringList xy = parser.value(queryOpt).split(QLatin1Char(','));
        bool okX = false, okY = false;
        if (xy.size() == 2)
            args.query = QPointF(xy[0].trimmed().toDouble(&okX), xy[1].trimmed().toDouble(&okY));
        if (!okX || !okY) {
            printError(QStringLiteral("--query expects X,Y in image pixels, got \"%1\"").arg(parser.value(queryOpt)));
            return 1;
        }
        args.hasQuery = true;
    }
    const bool screenshotMode = !args.screenshot.isEmpty();
    // With --follow, the screenshot shows the run's curves; otherwise an inspection.
    const bool followShot = screenshotMode && !args.follow.isEmpty() && args.checkpoint.isEmpty();
    if (screenshotMode && !followShot && (args.data.isEmpty() || args.checkpoint.isEmpty())) {
        printError(QStringLiteral("--screenshot needs a dataset and a checkpoint (a project, or --data and --checkpoint), "
                                  "or a run to --follow"));
        return 1;
    }

    // A screenshot run neither reads nor writes the user's studio state: same picture every time.
    QTemporaryDir screenshotSettings;
    if (screenshotMode)
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, screenshotSettings.path());

    wsss::ui::MainWindow window;
    window.show();

    // Failures end a screenshot run with exit status 1, after saving the window as the user would
    // see it (the cause in the banner); in the GUI they stay in the banner and the status bar.
    bool failed = false;
    auto fail = [&](const QString &message, bool saveWindow = true) {
        if (failed) // a failed load also fails the inspection queued behind it: report the cause only
            return;
        failed = true;
        printError(message);
        if (!saveWindow) {
            QTimer::singleShot(0, &app, [] { QCoreApplication::exit(1); });
            return;
        }
        QTimer::singleShot(200, &app, [&] { // the banner laid out and painted first
            if (window.saveScreenshot(args.screenshot))
                std::fprintf(stdout, "%s\n", qPrintable(QFileInfo(args.screenshot).absoluteFilePath()));
            else
                printError(QStringLiteral("cannot write screenshot \"%1\"").arg(args.screenshot));
            QCoreApplication::exit(1);
        });
    };
    if (screenshotMode) {
        QObject::connect(window.bridge(), &wsss::ui::EngineBridge::jobFailed, &app,
                         [&](quint64, const QString &message) { fail(message); });
        QTimer::singleShot(kScreenshotTimeoutSeconds * 1000, &app, [&] {
            fail(QStringLiteral("no inspection after %1 s").arg(kScreenshotTimeoutSeconds));
        });
    }

    auto grab = [&] {
        // Let pending layout and paint events settle before the grab.
        QTimer::singleShot(200, &app, [&] {
            if (window.saveScreenshot(args.screenshot)) {
                std::fprintf(stdout, "%s\n", qPrintable(QFileInfo(args.screenshot).absoluteFilePath()));
                QCoreApplication::exit(0);
            } else {
                fail(QStringLiteral("cannot write screenshot \"%1\"").arg(args.screenshot), false);
            }
        });
    };

    // The first inspection of the chosen image takes the command line's class and query.
    bool applied = false;
    QObject::connect(&window, &wsss::ui::MainWindow::inspectionShown, &app, [&](const QString &id) {
        if (applied || (!args.image.isEmpty() && id != args.image))
            return;
        applied = true;
        if (!args.mapKind.isEmpty() && !window.setMapKind(args.mapKind))
            printError(QStringLiteral("the checkpoint has no map \"%1\"; showing its primary one").arg(args.mapKind));
        if (!args.className.isEmpty() && !window.setMapClass(args.className))
            printError(QStringLiteral("unknown class \"%1\"; showing the image's first class").arg(args.className));
        if (args.hasQuery)
            window.setQueryPixel(args.query);
        if (args.hud) {
            window.canvas()->setHudVisible(true);
            if (args.hasQuery)
                window.canvas()->setHoverPixel(args.query);
        }
        if (args.mask)
            window.findChild<QCheckBox *>(QStringLiteral("showMaskCheck"))->setChecked(true);
        if (!args.band.isEmpty() || args.par > 0 || args.crf) {
            wsss::vision::PseudoLabelRule rule = window.rule();
            if (!args.band.isEmpty()) {
                rule.background = wsss::vision::BackgroundRule::Band;
                rule.bandLow = bandRule.bandLow;
                rule.bandHigh = bandRule.bandHigh;
            }
            rule.parIterations = args.par;
            rule.crf = args.crf;
            window.setRule(rule);
        }
        if (args.panel == QLatin1String("attention"))
            window.attentionDock()->raise();
        else if (args.panel == QLatin1String("affinity"))
            window.affinityDock()->raise();
        else if (args.panel == QLatin1String("class-maps"))
            window.classMapsDock()->raise();
        if (args.evaluate && window.evaluateSplit() == 0)
            fail(window.lastError());
        if (!screenshotMode || args.evaluate)
            return;
        if (window.canvas()->refinementPending()) { // PAR or the CRF: grab once the worker's result is drawn
            auto once = std::make_shared<QMetaObject::Connection>();
            *once = QObject::connect(window.bridge(), &wsss::ui::EngineBridge::refinementReady, &app, [&, once] {
                QObject::disconnect(*once);
                grab();
            });
            return;
        }
        grab();
    });
    QObject::connect(&window, &wsss::ui::MainWindow::evaluationEnded, &app, [&](quint64, bool succeeded) {
        if (!screenshotMode || !args.evaluate)
            return;
        if (!succeeded) {
            fail(QStringLiteral("evaluation failed: %1").arg(window.lastError()));
            return;
        }
        grab();
    });

    if (!args.project.isEmpty() && !parser.isSet(dataOpt) && !parser.isSet(ckptOpt)) {
        if (screenshotMode) // no dialog asks where a moved file went: the run fails with the reason
            window.correction()->setLocator([](const QString &, const QString &) { return QString(); });
        if (!window.openProject(args.project)) {
            printError(window.lastError());
            if (screenshotMode)
                return 1;
        } else if (!args.image.isEmpty() && !window.selectImage(args.image)) {
            printError(QStringLiteral("image \"%1\" is not in the project's split").arg(args.image));
            if (screenshotMode)
                return 1;
        }
        return app.exec();
    }
    const bool dataOpened = args.data.isEmpty() || window.openDataset(args.data, args.split);
    if (!dataOpened && screenshotMode) {
        fail(window.lastError()); // nothing to inspect: the window with the cause, then exit 1
        return app.exec();
    }
    if (dataOpened && !args.image.isEmpty() && !window.selectImage(args.image)) {
        printError(QStringLiteral("image \"%1\" is not in split \"%2\" of %3").arg(args.image, args.split, args.data));
        if (screenshotMode)
            return 1;
    }
    if (!args.checkpoint.isEmpty())
        window.openCheckpoint(args.checkpoint, args.device);
    if (!args.follow.isEmpty()) {
        window.training()->follow(args.follow);
        if (followShot) { // grab once the run's curves are read and drawn
            auto *poll = new QTimer(&app);
            QObject::connect(poll, &QTimer::timeout, &app, [&, poll] {
                if (window.trainingDock()->curves().lastStep() <= 0)
                    return;
                poll->stop();
                grab();
            });
            poll->start(200);
        }
    }
    // Started with nothing to open: carry on where the last session stopped.
    if (positional.isEmpty() && args.data.isEmpty() && args.checkpoint.isEmpty() && args.follow.isEmpty())
        window.restoreLastSession(args.device);
    return app.exec();
}
