#include "ui/main_window.h"

#include "ui/canvas/canvas_widget.h"
#include "ui/correction/correction_controller.h"
#include "ui/docks/affinity_dock.h"
#include "ui/docks/attention_dock.h"
#include "ui/docks/class_maps_dock.h"
#include "ui/docks/dataset_dock.h"
#include "ui/docks/evaluation_dock.h"
#include "ui/docks/jobs_dock.h"
#include "ui/docks/runs_dock.h"
#include "ui/docks/thresholds_dock.h"
#include "ui/docks/training_dock.h"
#include "ui/training/training_controller.h"
#include "ui/engine/engine_bridge.h"
#include "ui/project/project_document.h"
#include "ui/project/studio_session.h"
#include "ui/widgets/message_banner.h"
#include "vision/io/voc_reader.h"

#include <QAction>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QSignalBlocker>
#include <QSlider>
#include <QStatusBar>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <exception>

namespace wsss::ui {

namespace tr = wsss::training;

namespace {

// The application's organisation and name (main() sets them; tests point QSettings elsewhere).
QSettings studioSettings() { return QSettings(); }

constexpr int kSliderSteps = 100; // sliders run 0..100 for values in [0, 1]

} // namespace

MainWindow::MainWindow(QWidget *parent) : QMainWindow(parent)
{
    setWindowTitle(tr("WSSS Studio"));
    setObjectName(QStringLiteral("MainWindow"));

    m_bridge = new EngineBridge(this);
    // The banner sits above the canvas: a failure stays in view without covering the image.
    auto *central = new QWidget(this);
    auto *centralLayout = new QVBoxLayout(central);
    centralLayout->setContentsMargins(0, 0, 0, 0);
    centralLayout->setSpacing(0);
    m_banner = new MessageBanner(central);
    centralLayout->addWidget(m_banner);
    m_canvas = new CanvasWidget(central);
    centralLayout->addWidget(m_canvas, 1);
    setCentralWidget(central);

    m_datasetDock = new DatasetDock(this);
    addDockWidget(Qt::LeftDockWidgetArea, m_datasetDock);
    m_attentionDock = new AttentionDock(this);
    addDockWidget(Qt::RightDockWidgetArea, m_attentionDock);
    m_affinityDock = new AffinityDock(this);
    addDockWidget(Qt::RightDockWidgetArea, m_affinityDock);
    tabifyDockWidget(m_attentionDock, m_affinityDock);
    m_classMapsDock = new ClassMapsDock(this);
    addDockWidget(Qt::RightDockWidgetArea, m_classMapsDock);
    tabifyDockWidget(m_affinityDock, m_classMapsDock);
    m_attentionDock->raise();
    m_thresholdsDock = new ThresholdsDock(this);
    addDockWidget(Qt::LeftDockWidgetArea, m_thresholdsDock);
    splitDockWidget(m_datasetDock, m_thresholdsDock, Qt::Vertical);
    m_evaluationDock = new EvaluationDock(this);
    addDockWidget(Qt::BottomDockWidgetArea, m_evaluationDock);
    // Training: the watched run, the runs beside it and the job queue, tabbed under the canvas.
    m_trainingDock = new TrainingDock(this);
    addDockWidget(Qt::BottomDockWidgetArea, m_trainingDock);
    tabifyDockWidget(m_evaluationDock, m_trainingDock);
    m_runsDock = new RunsDock(this);
    addDockWidget(Qt::BottomDockWidgetArea, m_runsDock);
    tabifyDockWidget(m_trainingDock, m_runsDock);
    m_jobsDock = new JobsDock(m_bridge, this);
    addDockWidget(Qt::BottomDockWidgetArea, m_jobsDock);
    tabifyDockWidget(m_runsDock, m_jobsDock);
    m_evaluationDock->raise();
    // Shown when a run starts or is followed (or from View): until then the canvas keeps its room.
    for (QDockWidget *dock : {static_cast<QDockWidget *>(m_trainingDock), static_cast<QDockWidget *>(m_runsDock),
                              static_cast<QDockWidget *>(m_jobsDock)})
        dock->hide();
    m_training = new TrainingController(m_bridge, m_trainingDock, m_runsDock, this);
    connect(m_training, &TrainingController::openCheckpointRequested, this,
            [this](const QString &path) { openCheckpoint(path); });

    m_correction = new CorrectionController(this, m_canvas, m_datasetDock, m_bridge);
    m_correction->setSourcesProvider([this] {
        return CorrectionController::Sources{m_datasetRoot, m_datasetSplit, m_checkpointPath, m_rule};
    });

    createMenus();
    createControls();
    addToolBarBreak();
    addToolBar(m_correction->toolBar());
    createStatusBar();

    connect(m_correction, &CorrectionController::projectOpened, this,
            [this](const QString &data, const QString &split, const QString &checkpoint,
                   const wsss::vision::PseudoLabelRule &rule, const QString &mapKind, const QString &image) {
                m_banner->clearMessage(QStringLiteral("project"));
                m_projectMapKind = mapKind;
                if (!checkpoint.isEmpty())
                    openCheckpoint(checkpoint);
                m_thresholdFromModel = false; // the project's rule, not the checkpoint's threshold
                setRule(rule);
                if (openDataset(data, split) && !image.isEmpty())
                    selectImage(image);
            });
    connect(m_correction, &CorrectionController::message, this,
            [this](const QString &text) { statusBar()->showMessage(text, 8000); });
    connect(m_correction, &CorrectionController::failed, this, &MainWindow::showError);
    connect(m_canvas, &CanvasWidget::showMaskChanged, this, [this](bool shown) {
        const QSignalBlocker block(m_showMask);
        m_showMask->setChecked(shown);
    });

    connect(m_datasetDock, &DatasetDock::imageSelected, this, &MainWindow::requestInspection);
    connect(m_canvas, &CanvasWidget::queryChanged, m_attentionDock, &AttentionDock::setQueryToken);
    connect(m_canvas, &CanvasWidget::queryChanged, m_affinityDock, &AffinityDock::setQueryToken);
    connect(m_attentionDock, &AttentionDock::queryRequested, m_canvas, &CanvasWidget::setQueryToken);
    connect(m_canvas, &CanvasWidget::hoverChanged, m_hoverLabel, &QLabel::setText);
    connect(m_thresholdsDock, &ThresholdsDock::ruleChanged, this, &MainWindow::setRule);
    connect(m_canvas, &CanvasWidget::ruleEdited, this, &MainWindow::setRule); // the HUD's sliders
    // PAR and the CRF run on the worker; the canvas shows the latest result when it lands.
    connect(m_canvas, &CanvasWidget::refinementRequested, this, [this](const QString &kind, const wsss::vision::PseudoLabelRule &rule) {
        if (m_canvas->inspection())
            m_refineJob = m_bridge->refine(m_canvas->inspection(), kind, rule);
    });
    connect(m_bridge, &EngineBridge::refinementReady, m_canvas, &CanvasWidget::setRefinement);
    connect(m_classMapsDock, &ClassMapsDock::classActivated, this, [this](int classIndex) {
        const int row = m_classCombo->findData(classIndex);
        if (row >= 0)
            m_classCombo->setCurrentIndex(row);
    });
    connect(m_bridge, &EngineBridge::datasetInferred, this,
            [this](quint64 jobId, const QString &, qint64 written, qint64 total, bool) {
                if (jobId != m_applyJob)
                    return;
                m_applyWritten = written;
                m_applyTotal = total;
            });
    connect(m_evaluationDock, &EvaluationDock::evaluateRequested, this, &MainWindow::evaluateSplit);
    connect(m_evaluationDock, &EvaluationDock::cancelRequested, this, &MainWindow::cancelEvaluation);
    connect(m_evaluationDock, &EvaluationDock::imageActivated, this, &MainWindow::selectImage);
    connect(m_evaluationDock, &EvaluationDock::thresholdPicked, this, &MainWindow::setBgThreshold);
    connect(m_bridge, &EngineBridge::evaluationReady, this,
            [this](quint64 jobId, std::shared_ptr<const tr::EvaluationResult> result) {
                if (jobId != m_evaluateJob)
                    return;
                m_datasetDock->setEvaluation(result); // per-image IoU and scores for the Browse panel
                m_evaluationDock->setResult(std::move(result));
            });
    connect(m_bridge, &EngineBridge::jobFinished, this, [this](quint64 jobId) {
        endEvaluation(jobId, true);
        endApply(jobId, true, tr("Wrote %1 of %2 pseudo-masks to %3"));
    });
    connect(m_bridge, &EngineBridge::jobCancelled, this, [this](quint64 jobId) {
        if (jobId == m_evaluateJob)
            statusBar()->showMessage(tr("Evaluation cancelled"), 8000);
        endEvaluation(jobId, false);
        endApply(jobId, false, tr("Cancelled: the %1 of %2 pseudo-masks already written to %3 are kept"));
    });

    connect(m_bridge, &EngineBridge::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(m_bridge, &EngineBridge::inspectionReady, this, &MainWindow::showInspection);
    connect(m_bridge, &EngineBridge::jobFailed, this, &MainWindow::onJobFailed);
    connect(m_bridge, &EngineBridge::jobStarted, this, [this](quint64, const QString &what) {
        m_jobMessage = what;
        statusBar()->showMessage(what);
    });
    connect(m_bridge, &EngineBridge::logMessage, this,
            [this](const QString &message) { statusBar()->showMessage(message, 8000); });
    connect(m_bridge, &EngineBridge::jobProgress, this,
            [this](quint64 jobId, qint64 done, qint64 total, const QString &message) {
                if (jobId == m_evaluateJob)
                    m_evaluationDock->setProgress(done, total);
                if (jobId == m_applyJob) {
                    m_applyWritten = done; // until the job's own count (skipped images excluded) comes
                    m_applyTotal = total;
                }
                if (total > 0) {
                    m_progress->setRange(0, 1000);
                    m_progress->setValue(static_cast<int>(1000 * std::clamp<double>(double(done) / total, 0, 1)));
                }
                if (!message.isEmpty())
                    statusBar()->showMessage(message);
            });
    connect(m_bridge, &EngineBridge::busyChanged, this, [this](bool busy) {
        m_progress->setRange(0, 0); // indeterminate until a job reports its total
        m_progress->setVisible(busy);
        // "Inspecting …" is stale once idle; errors and warnings stay.
        if (!busy && statusBar()->currentMessage() == m_jobMessage)
            statusBar()->clearMessage();
    });

    restoreSettings();
}

MainWindow::~MainWindow() = default;

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *openCkpt = file->addAction(tr("Open &checkpoint…"), this, &MainWindow::openCheckpointDialog);
    openCkpt->setObjectName(QStringLiteral("openCheckpointAction"));
    openCkpt->setShortcut(QKeySequence::Open);
    QAction *openData = file->addAction(tr("Open &dataset folder…"), this, &MainWindow::openDatasetDialog);
    openData->setObjectName(QStringLiteral("openDatasetAction"));
    openData->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    file->addSeparator();
    m_correction->addFileActions(file);
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    m_correction->addEditActions(menuBar()->addMenu(tr("&Edit")));
    QMenu *view = menuBar()->addMenu(tr("&View"));
    QAction *fit = view->addAction(tr("&Fit image"), m_canvas, &CanvasWidget::fitToWindow);
    fit->setShortcut(Qt::Key_F);
    fit->setShortcutContext(Qt::WidgetWithChildrenShortcut); // 'F' while typing a filter is text
    m_canvas->addAction(fit);
    view->addAction(m_canvas->hudAction()); // H, F1
    view->addSeparator();
    view->addAction(m_datasetDock->nextAction());
    view->addAction(m_datasetDock->previousAction());
    addAction(m_datasetDock->nextAction()); // window-wide shortcuts, also with the menu bar hidden
    addAction(m_datasetDock->previousAction());
    view->addSeparator();
    view->addAction(m_datasetDock->toggleViewAction());
    view->addAction(m_attentionDock->toggleViewAction());
    view->addAction(m_affinityDock->toggleViewAction());
    view->addAction(m_classMapsDock->toggleViewAction());
    view->addAction(m_thresholdsDock->toggleViewAction());
    view->addAction(m_evaluationDock->toggleViewAction());
    view->addAction(m_trainingDock->toggleViewAction());
    view->addAction(m_runsDock->toggleViewAction());
    view->addAction(m_jobsDock->toggleViewAction());

    m_correction->addReviewActions(menuBar()->addMenu(tr("Re&view")));
    QMenu *training = menuBar()->addMenu(tr("T&raining"));
    QAction *newRun = training->addAction(tr("&New training run…"), this, [this] {
        if (!m_training->newRunDialog(m_datasetRoot, m_datasetSplit) && !m_training->lastProblems().isEmpty())
            showError(m_training->lastProblems().join(QLatin1Char('\n')));
    });
    newRun->setObjectName(QStringLiteral("newTrainingRunAction"));
    newRun->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
    newRun->setToolTip(tr("Train a method on a dataset on the worker, watching its losses and validation"));
    QAction *followRun = training->addAction(tr("&Follow a run folder…"), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Run folder written by wsss train"));
        if (!dir.isEmpty())
            m_training->follow(dir);
    });
    followRun->setObjectName(QStringLiteral("followRunAction"));
    training->addSeparator();
    training->addAction(tr("&Pause"), m_training, &TrainingController::pause);
    training->addAction(tr("&Resume"), m_training, &TrainingController::resume);
    training->addAction(tr("&Cancel the run"), m_training, &TrainingController::cancel);

    QMenu *tools = menuBar()->addMenu(tr("&Tools"));
    QAction *evaluate = tools->addAction(tr("&Evaluate split"), this, &MainWindow::evaluateSplit);
    evaluate->setObjectName(QStringLiteral("evaluateAction"));
    evaluate->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    evaluate->setToolTip(tr("Score the pseudo-masks of the open split against its ground truth"));
    QAction *cancel = tools->addAction(tr("&Cancel evaluation"), this, &MainWindow::cancelEvaluation);
    cancel->setObjectName(QStringLiteral("cancelEvaluationAction"));
    tools->addSeparator();
    QAction *apply = tools->addAction(tr("&Apply rule to the whole dataset…"), this, &MainWindow::applyRuleDialog);
    apply->setObjectName(QStringLiteral("applyRuleAction"));
    apply->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A));
    apply->setToolTip(tr("Write the open split's pseudo-masks under the current rule as palette PNGs, "
                         "with the rule in manifest.json"));
}

void MainWindow::createControls()
{
    QToolBar *bar = addToolBar(tr("Display"));
    bar->setObjectName(QStringLiteral("DisplayToolBar"));
    bar->setMovable(false);

    auto label = [bar](const QString &text) {
        auto *l = new QLabel(text, bar);
        l->setContentsMargins(8, 0, 4, 0);
        bar->addWidget(l);
    };

    label(tr("Class"));
    m_classCombo = new QComboBox(bar);
    m_classCombo->setObjectName(QStringLiteral("classCombo"));
    m_classCombo->setMinimumContentsLength(12);
    m_classCombo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_classCombo->setToolTip(tr("The class whose map is shown"));
    bar->addWidget(m_classCombo);
    connect(m_classCombo, &QComboBox::currentIndexChanged, this, [this](int i) {
        const int cls = i < 0 ? -1 : m_classCombo->itemData(i).toInt();
        m_canvas->setMapClass(cls);
        m_classMapsDock->setCurrentClass(cls);
    });

    label(tr("Map"));
    m_kindCombo = new QComboBox(bar);
    m_kindCombo->setObjectName(QStringLiteral("kindCombo"));
    m_kindCombo->setToolTip(tr("Which of the method's maps to show and threshold"));
    bar->addWidget(m_kindCombo);
    connect(m_kindCombo, &QComboBox::currentTextChanged, m_canvas, &CanvasWidget::setMapKind);
    connect(m_kindCombo, &QComboBox::currentTextChanged, m_classMapsDock, &ClassMapsDock::setMapKind);
    connect(m_kindCombo, &QComboBox::currentTextChanged, m_correction, &CorrectionController::setMapKind);
    connect(m_kindCombo, &QComboBox::currentTextChanged, this, &MainWindow::showRuleScope);

    label(tr("Opacity"));
    m_opacitySlider = new QSlider(Qt::Horizontal, bar);
    m_opacitySlider->setObjectName(QStringLiteral("opacitySlider"));
    m_opacitySlider->setRange(0, kSliderSteps);
    m_opacitySlider->setValue(kSliderSteps / 2);
    m_opacitySlider->setFixedWidth(110);
    m_opacitySlider->setToolTip(tr("Opacity of the map or mask over the image"));
    bar->addWidget(m_opacitySlider);
    connect(m_opacitySlider, &QSlider::valueChanged, this,
            [this](int v) { m_canvas->setOverlayOpacity(double(v) / kSliderSteps); });
    m_canvas->setOverlayOpacity(0.5);

    label(tr("Background threshold"));
    m_thresholdSlider = new QSlider(Qt::Horizontal, bar);
    m_thresholdSlider->setObjectName(QStringLiteral("bgThresholdSlider"));
    m_thresholdSlider->setRange(0, kSliderSteps);
    m_thresholdSlider->setFixedWidth(140);
    m_thresholdSlider->setToolTip(thresholdToolTip());
    bar->addWidget(m_thresholdSlider);
    m_thresholdSpin = new QDoubleSpinBox(bar);
    m_thresholdSpin->setObjectName(QStringLiteral("bgThresholdSpin"));
    m_thresholdSpin->setRange(0.0, 1.0);
    m_thresholdSpin->setSingleStep(0.01);
    m_thresholdSpin->setDecimals(2);
    bar->addWidget(m_thresholdSpin);
    connect(m_thresholdSlider, &QSlider::valueChanged, this,
            [this](int v) { setBgThreshold(double(v) / kSliderSteps); });
    connect(m_thresholdSpin, &QDoubleSpinBox::valueChanged, this, &MainWindow::setBgThreshold);
    setBgThreshold(tr::Inspection{}.defaultBgThreshold);

    label(tr("Colours"));
    m_colorMapCombo = new QComboBox(bar);
    m_colorMapCombo->setObjectName(QStringLiteral("colorMapCombo"));
    m_colorMapCombo->setToolTip(tr("Colour map of class maps and attention"));
    for (ColorMap map : colorMaps())
        m_colorMapCombo->addItem(colorMapName(map), colorMapName(map));
    bar->addWidget(m_colorMapCombo);
    connect(m_colorMapCombo, &QComboBox::currentIndexChanged, this, [this](int i) {
        setColorMap(colorMapFromName(m_colorMapCombo->itemData(i).toString()));
    });

    bar->addSeparator();
    m_showMask = new QCheckBox(tr("Pseudo-mask"), bar);
    m_showMask->setObjectName(QStringLiteral("showMaskCheck"));
    m_showMask->setToolTip(tr("Show the pseudo-mask under the threshold instead of the class map"));
    bar->addWidget(m_showMask);
    connect(m_showMask, &QCheckBox::toggled, m_canvas, &CanvasWidget::setShowMask);
    QAction *apply = findChild<QAction *>(QStringLiteral("applyRuleAction"));
    apply->setIconText(tr("Apply to dataset…"));
    bar->addAction(apply);
    m_showGrid = new QCheckBox(tr("Patch grid"), bar);
    m_showGrid->setObjectName(QStringLiteral("showGridCheck"));
    m_showGrid->setChecked(true);
    bar->addWidget(m_showGrid);
    connect(m_showGrid, &QCheckBox::toggled, m_canvas, &CanvasWidget::setShowGrid);
    m_canvas->setShowGrid(true);
}

void MainWindow::createStatusBar()
{
    m_hoverLabel = new QLabel(this);
    m_hoverLabel->setMinimumWidth(260);
    m_modelLabel = new QLabel(tr("No model"), this);
    m_modelLabel->setObjectName(QStringLiteral("modelLabel"));
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("jobProgress"));
    m_progress->setMaximumWidth(160);
    m_progress->setTextVisible(false);
    m_progress->setVisible(false);
    statusBar()->addPermanentWidget(m_hoverLabel);
    statusBar()->addPermanentWidget(m_progress);
    m_cancelButton = new QToolButton(this);
    m_cancelButton->setObjectName(QStringLiteral("cancelJobButton"));
    m_cancelButton->setText(tr("Cancel"));
    m_cancelButton->setToolTip(tr("Cancel the evaluation or the pseudo-masks being written"));
    m_cancelButton->setVisible(false);
    connect(m_cancelButton, &QToolButton::clicked, this, [this] {
        cancelEvaluation();
        cancelApply();
    });
    statusBar()->addPermanentWidget(m_cancelButton);
    statusBar()->addPermanentWidget(m_modelLabel);
}

void MainWindow::restoreSettings()
{
    QSettings settings = studioSettings();
    if (!restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(1440, 900);
    if (!restoreState(settings.value(QStringLiteral("window/state")).toByteArray())) {
        m_evaluationDock->hide(); // until the first evaluation
        resizeDocks({m_datasetDock, m_attentionDock}, {230, 360}, Qt::Horizontal);
        resizeDocks({m_datasetDock, m_thresholdsDock}, {600, 120}, Qt::Vertical);
    }
    const QString map = settings.value(QStringLiteral("display/colorMap")).toString();
    setColorMap(colorMapFromName(map, m_colorMap));
    bool ok = false;
    const double opacity = settings.value(QStringLiteral("display/opacity")).toDouble(&ok);
    if (ok)
        m_opacitySlider->setValue(qRound(std::clamp(opacity, 0.0, 1.0) * kSliderSteps));
    // The rule as it was left; a checkpoint's first inspection still sets its best threshold.
    const wsss::vision::PseudoLabelRule rule = StudioSession::loadRule(m_rule);
    setRule(rule);
}

void MainWindow::saveSettings() const
{
    QSettings settings = studioSettings();
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("display/colorMap"), colorMapName(m_colorMap));
    settings.setValue(QStringLiteral("display/opacity"), double(m_opacitySlider->value()) / kSliderSteps);
    StudioSession::saveRule(m_rule);
    StudioSession session;
    session.project = m_correction->project()->filePath();
    session.data = m_datasetRoot;
    session.split = m_datasetSplit;
    session.image = m_requestedId;
    session.checkpoint = m_checkpointPath;
    session.save();
}

MainWindow::Session MainWindow::lastSession()
{
    return StudioSession::load();
}

bool MainWindow::restoreLastSession(const QString &device)
{
    // Files that are gone are tried too: the failure says so in the banner and forgets them,
    // rather than skipping them silently at every start.
    const Session s = lastSession();
    if (!s.project.isEmpty()) {
        if (openProject(s.project))
            return true;
        StudioSession::forget(QStringLiteral("session/project"), s.project); // and fall back to its files
    }
    bool opened = false;
    if (!s.data.isEmpty()) {
        if (openDataset(s.data, s.split.isEmpty() ? QStringLiteral("train") : s.split) && !s.image.isEmpty())
            selectImage(s.image);
        opened = true;
    }
    if (!s.checkpoint.isEmpty()) {
        openCheckpoint(s.checkpoint, device);
        opened = true;
    }
    return opened;
}

void MainWindow::setRule(const wsss::vision::PseudoLabelRule &rule)
{
    m_rule = clampedRule(rule);
    showRule();
    m_canvas->setRule(m_rule);
    m_correction->setRule(m_rule);
}

void MainWindow::showRule()
{
    const QSignalBlocker blockSlider(m_thresholdSlider);
    const QSignalBlocker blockSpin(m_thresholdSpin);
    m_thresholdSlider->setValue(qRound(m_rule.bgThreshold * kSliderSteps));
    m_thresholdSpin->setValue(m_rule.bgThreshold);
    // In band mode (without the CRF) the threshold does not decide anything: the dock's band rows do.
    const bool thresholdApplies = ruleField(QStringLiteral("bgThreshold"))->appliesTo(m_rule);
    m_thresholdSlider->setEnabled(thresholdApplies);
    m_thresholdSpin->setEnabled(thresholdApplies);
    m_thresholdsDock->setRule(m_rule);
    m_evaluationDock->setCurrentThreshold(m_rule.bgThreshold);
}

void MainWindow::setColorMap(ColorMap map)
{
    m_colorMap = map;
    {
        const QSignalBlocker block(m_colorMapCombo);
        m_colorMapCombo->setCurrentIndex(std::max(0, m_colorMapCombo->findData(colorMapName(map))));
    }
    m_canvas->setColorMap(map);
    m_attentionDock->setColorMap(map);
    m_affinityDock->setColorMap(map);
    m_classMapsDock->setColorMap(map);
}

quint64 MainWindow::evaluateSplit()
{
    if (m_evaluateJob != 0)
        return m_evaluateJob;
    if (m_datasetRoot.isEmpty() || !m_modelRequested) {
        showError(tr("Evaluate: open a dataset split with ground-truth masks and a checkpoint first"));
        return 0;
    }
    m_evaluateJob = m_bridge->evaluate(m_datasetRoot, m_datasetSplit, m_rule);
    m_evaluationDock->setRunning(true);
    m_evaluationDock->show();
    m_evaluationDock->raise();
    m_cancelButton->setVisible(true);
    return m_evaluateJob;
}

void MainWindow::cancelEvaluation()
{
    if (m_evaluateJob != 0)
        m_bridge->cancel(m_evaluateJob);
}

void MainWindow::endEvaluation(quint64 jobId, bool succeeded)
{
    if (jobId == 0 || jobId != m_evaluateJob)
        return;
    m_evaluateJob = 0;
    m_evaluationDock->setRunning(false);
    m_cancelButton->setVisible(m_applyJob != 0);
    Q_EMIT evaluationEnded(jobId, succeeded);
}

quint64 MainWindow::applyRuleToDataset(const QString &outDir)
{
    if (m_applyJob != 0) {
        showError(tr("Apply to dataset: pseudo-masks are already being written to %1").arg(m_applyOut));
        return 0;
    }
    if (m_datasetRoot.isEmpty() || !m_modelRequested) {
        showError(tr("Apply to dataset: open a dataset split and a checkpoint first"));
        return 0;
    }
    if (outDir.isEmpty()) {
        showError(tr("Apply to dataset: no output folder"));
        return 0;
    }
    m_applyOut = QDir::toNativeSeparators(outDir);
    m_applyWritten = m_applyTotal = 0;
    m_applyJob = m_bridge->inferDataset(m_datasetRoot, m_datasetSplit, outDir, m_rule, m_canvas->mapKind());
    m_cancelButton->setVisible(true);
    return m_applyJob;
}

void MainWindow::cancelApply()
{
    if (m_applyJob != 0)
        m_bridge->cancel(m_applyJob);
}

void MainWindow::applyRuleDialog()
{
    QSettings settings = studioSettings();
    const QString out = QFileDialog::getExistingDirectory(
        this, tr("Write the split's pseudo-masks to"), settings.value(QStringLiteral("paths/pseudoMasks")).toString());
    if (out.isEmpty())
        return;
    settings.setValue(QStringLiteral("paths/pseudoMasks"), out);
    if (applyRuleToDataset(out) == 0)
        QMessageBox::warning(this, tr("Apply to dataset"), m_lastError);
    else
        m_dialogJobs.insert(m_applyJob);
}

void MainWindow::endApply(quint64 jobId, bool finished, const QString &outcome)
{
    if (jobId == 0 || jobId != m_applyJob)
        return;
    if (!outcome.isEmpty())
        statusBar()->showMessage(outcome.arg(m_applyWritten).arg(m_applyTotal).arg(m_applyOut));
    m_applyJob = 0;
    m_cancelButton->setVisible(m_evaluateJob != 0);
    Q_EMIT applyEnded(jobId, finished, m_applyWritten);
}

bool MainWindow::openProject(const QString &path)
{
    QString error;
    if (m_correction->openProject(path, &error))
        return true;
    m_lastError = error;
    m_banner->setMessage(QStringLiteral("project"), tr("Cannot open the project: %1").arg(error));
    statusBar()->showMessage(tr("Error: %1").arg(error));
    return false;
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveSettings();
    QMainWindow::closeEvent(event);
}

bool MainWindow::openDataset(const QString &root, const QString &split)
{
    wsss::vision::VocDataset dataset;
    try {
        dataset = wsss::vision::loadVocDataset(root.toStdString(), split.toStdString());
    } catch (const std::exception &e) {
        datasetFailed(root, QString::fromUtf8(e.what()));
        return false;
    }
    m_banner->clearMessage(QStringLiteral("dataset"));
    m_datasetDock->setDataset(dataset);
    m_datasetRoot = root;
    m_datasetSplit = split;
    m_correction->datasetOpened();
    if (m_classNames.empty())
        populateClasses(dataset.labelMap.names());

    QString message = tr("%1 (%2): %n image(s)", nullptr, static_cast<int>(dataset.items.size()))
                          .arg(QDir::toNativeSeparators(root), split);
    if (!dataset.warnings.empty())
        message += tr(", %n warning(s), first: %1", nullptr, static_cast<int>(dataset.warnings.size()))
                       .arg(QString::fromStdString(dataset.warnings.front()));
    statusBar()->showMessage(message);
    setWindowTitle(tr("WSSS Studio — %1").arg(QFileInfo(root).fileName()));
    if (!dataset.items.empty())
        m_datasetDock->selectImage(QString::fromStdString(dataset.items.front().id));
    return true;
}

void MainWindow::openCheckpoint(const QString &path, const QString &device)
{
    m_modelRequested = true;
    m_thresholdFromModel = true;
    m_checkpointPath = QFileInfo(path).absoluteFilePath();
    m_banner->clearMessage(QStringLiteral("checkpoint")); // about an earlier file
    m_loadJob = m_bridge->loadModel(path, device);
    m_modelLabel->setText(tr("Loading %1…").arg(QFileInfo(path).fileName()));
    // Jobs run in order, so the current image can be queued behind the load.
    if (!m_requestedId.isEmpty())
        requestInspection(m_requestedId, m_requestedPath, m_requestedLabels);
}

bool MainWindow::selectImage(const QString &id)
{
    return m_datasetDock->selectImage(id);
}

void MainWindow::setQueryPixel(QPointF imagePixel)
{
    const auto &inspection = m_canvas->inspection();
    if (!inspection)
        return;
    const int token = inspection->patchTokenAt(imagePixel.x(), imagePixel.y());
    if (token >= 0)
        m_canvas->setQueryToken(token);
}

bool MainWindow::setMapClass(const QString &name)
{
    const int i = m_classCombo->findText(name, Qt::MatchFixedString); // case-insensitive
    if (i < 0)
        return false;
    m_classCombo->setCurrentIndex(i);
    return true;
}

bool MainWindow::setMapKind(const QString &kind)
{
    const int i = m_kindCombo->findText(kind);
    if (i < 0)
        return false;
    m_kindCombo->setCurrentIndex(i); // the combo's signal moves the canvas, class maps and correction
    return true;
}

bool MainWindow::saveScreenshot(const QString &png)
{
    return grab().save(png, "PNG");
}

void MainWindow::openCheckpointDialog()
{
    QSettings settings = studioSettings();
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open checkpoint"), settings.value(QStringLiteral("paths/checkpoint")).toString(),
        tr("WSSS checkpoints (*.wsss);;All files (*)"));
    if (path.isEmpty())
        return;
    settings.setValue(QStringLiteral("paths/checkpoint"), QFileInfo(path).absolutePath());
    openCheckpoint(path);
    // A failure of something the user just asked for deserves a dialog, not only a status line.
    m_dialogJobs.insert(m_loadJob);
}

void MainWindow::openDatasetDialog()
{
    QSettings settings = studioSettings();
    const QString root = QFileDialog::getExistingDirectory(
        this, tr("Open dataset folder"), settings.value(QStringLiteral("paths/dataset")).toString());
    if (root.isEmpty())
        return;
    settings.setValue(QStringLiteral("paths/dataset"), root);

    QStringList splits;
    try {
        for (const auto &s : wsss::vision::vocSplits(root.toStdString()))
            splits << QString::fromStdString(s);
    } catch (const std::exception &e) {
        datasetFailed(root, QString::fromUtf8(e.what()));
        QMessageBox::warning(this, tr("Open dataset"), m_lastError);
        return;
    }
    QString split = splits.contains(QStringLiteral("train")) ? QStringLiteral("train")
                                                             : splits.value(0, QStringLiteral("train"));
    if (splits.size() > 1) {
        bool ok = false;
        split = QInputDialog::getItem(this, tr("Open dataset"), tr("Split:"), splits,
                                      std::max<int>(0, splits.indexOf(split)), false, &ok);
        if (!ok)
            return;
    }
    if (!openDataset(root, split))
        QMessageBox::warning(this, tr("Open dataset"), m_lastError);
}

void MainWindow::requestInspection(const QString &id, const QString &imagePath, const QVector<int> &labels)
{
    m_requestedId = id;
    m_requestedPath = imagePath;
    m_requestedLabels = labels;
    if (m_modelRequested)
        m_inspectJob = m_bridge->inspect(id, imagePath, labels);
}

void MainWindow::showInspection(std::shared_ptr<const tr::Inspection> inspection)
{
    if (!inspection)
        return;
    const auto &ins = *inspection;
    if (ins.classNames != m_classNames && !ins.classNames.empty())
        populateClasses(ins.classNames);
    populateKinds(ins);
    if (m_thresholdFromModel) {
        m_thresholdFromModel = false;
        setBgThreshold(ins.defaultBgThreshold);
    }

    // Attention first: the canvas announces its query as soon as it has the new grid.
    m_attentionDock->setInspection(inspection);
    m_affinityDock->setInspection(inspection);
    m_classMapsDock->setInspection(inspection);
    m_canvas->setInspection(inspection);
    m_correction->inspectionShown(inspection);
    m_attentionDock->setQueryToken(m_canvas->queryToken());
    m_affinityDock->setQueryToken(m_canvas->queryToken());
    m_datasetDock->setImageScores(ins.imageId, ins.classScores);

    // Default class: the image's first labelled class, else the model's most confident one.
    int cls = ins.imageLabels.empty() ? -1 : ins.imageLabels.front();
    if (cls < 0 && !ins.classScores.empty())
        cls = 1 + static_cast<int>(std::max_element(ins.classScores.begin(), ins.classScores.end())
                                   - ins.classScores.begin());
    const int row = m_classCombo->findData(cls);
    if (row >= 0)
        m_classCombo->setCurrentIndex(row);
    m_canvas->setMapClass(m_classCombo->currentIndex() < 0 ? -1 : m_classCombo->currentData().toInt());
    m_classMapsDock->setCurrentClass(m_canvas->mapClass());
    showRuleScope();

    if (isVisible()) {
        m_canvas->repaint();
        m_attentionDock->repaint();
    }
    Q_EMIT inspectionShown(QString::fromStdString(ins.imageId));
}

void MainWindow::onModelLoaded(const tr::ModelInfo &info)
{
    populateClasses(info.classNames);
    m_thresholdsDock->setCheckpointBest(info.bestBgThreshold);
    m_modelLabel->setText(tr("%1 · %2 · %3 · step %4")
                              .arg(QString::fromStdString(info.method), QString::fromStdString(info.backbone),
                                   QString::fromStdString(info.device))
                              .arg(info.step));
    m_modelLabel->setToolTip(QString::fromStdString(info.checkpointPath));
    statusBar()->showMessage(tr("Loaded %1").arg(QFileInfo(QString::fromStdString(info.checkpointPath)).fileName()), 8000);
}

void MainWindow::onJobFailed(quint64 jobId, const QString &message)
{
    QString cause = message;
    if (jobId == m_loadJob) {
        m_failedLoad = jobId;
        m_loadError = message;
        checkpointFailed(message);
    } else if (m_failedLoad != 0 && jobId > m_failedLoad && (m_loadJob == m_failedLoad || jobId < m_loadJob)
               && (jobId == m_inspectJob || jobId == m_evaluateJob || jobId == m_applyJob)) {
        // Queued behind the load that failed, so it failed for want of the model: say why there
        // is none rather than "no model is loaded".
        cause = m_loadError;
    }
    showError(cause);
    endEvaluation(jobId, false);
    endApply(jobId, false, QString()); // the message says what was kept
    if (jobId == m_refineJob)
        m_canvas->refinementFailed();
    if (m_dialogJobs.remove(jobId))
        QMessageBox::warning(this, tr("WSSS Studio"), cause);
}

void MainWindow::checkpointFailed(const QString &message)
{
    // The engine dropped the previous model before trying this one: nothing is loaded now.
    m_modelRequested = false;
    const QString name = QFileInfo(m_checkpointPath).fileName();
    forgetSessionPath(QStringLiteral("session/checkpoint"), m_checkpointPath);
    m_checkpointPath.clear();
    m_modelLabel->setText(tr("No model"));
    m_modelLabel->setToolTip(message);
    m_banner->setMessage(QStringLiteral("checkpoint"), tr("Cannot load the checkpoint %1: %2").arg(name, message));
    // What is on screen came from the model that is gone.
    m_canvas->setInspection(nullptr);
    m_attentionDock->setInspection(nullptr);
    m_affinityDock->setInspection(nullptr);
    m_classMapsDock->setInspection(nullptr);
}

void MainWindow::datasetFailed(const QString &root, const QString &message)
{
    showError(tr("Cannot open dataset %1: %2").arg(QDir::toNativeSeparators(root), message));
    m_banner->setMessage(QStringLiteral("dataset"), m_lastError);
    forgetSessionPath(QStringLiteral("session/data"), root);
}

void MainWindow::forgetSessionPath(const QString &key, const QString &path)
{
    StudioSession::forget(key, path);
}

void MainWindow::populateClasses(const std::vector<std::string> &names)
{
    if (names == m_classNames)
        return;
    m_classNames = names;
    m_correction->setClassNames(names);
    const int previous = m_classCombo->currentIndex() < 0 ? -1 : m_classCombo->currentData().toInt();
    const QSignalBlocker block(m_classCombo);
    m_classCombo->clear();
    // Background (index 0) has no class map of its own in most methods: list it only when there
    // is nothing else.
    for (size_t i = names.size() > 1 ? 1 : 0; i < names.size(); ++i)
        m_classCombo->addItem(QString::fromStdString(names[i]), static_cast<int>(i));
    const int row = m_classCombo->findData(previous);
    m_classCombo->setCurrentIndex(row >= 0 ? row : 0);
}

void MainWindow::populateKinds(const tr::Inspection &inspection)
{
    QStringList kinds;
    for (const auto &map : inspection.maps) {
        const QString kind = QString::fromStdString(map.kind);
        if (!kinds.contains(kind))
            kinds << kind;
    }
    QStringList current;
    for (int i = 0; i < m_kindCombo->count(); ++i)
        current << m_kindCombo->itemText(i);
    if (kinds == current)
        return;
    const QString previous = m_kindCombo->currentText();
    {
        const QSignalBlocker block(m_kindCombo);
        m_kindCombo->clear();
        m_kindCombo->addItems(kinds);
        // An opened project's kind first, then the one shown before, then the method's own.
        int wanted = kinds.indexOf(m_projectMapKind.isEmpty() ? previous : m_projectMapKind);
        if (wanted < 0)
            wanted = kinds.indexOf(QString::fromStdString(inspection.primaryKind));
        m_kindCombo->setCurrentIndex(std::max<int>(0, wanted));
        m_projectMapKind.clear();
    }
    m_kindCombo->setEnabled(kinds.size() > 1);
    // The combo's signal was blocked while it was refilled: every view of the kind follows here.
    const QString kind = m_kindCombo->currentText();
    m_canvas->setMapKind(kind);
    m_classMapsDock->setMapKind(kind);
    m_correction->setMapKind(kind);
    showRuleScope();
}

QString MainWindow::thresholdToolTip() const
{
    return tr("Pixels whose class maps all stay at or below this are background");
}

void MainWindow::showRuleScope()
{
    const auto &ins = m_canvas->inspection();
    const bool own = ins && ins->ownBackground(m_canvas->mapKind().toStdString());
    m_thresholdsDock->setOwnBackground(own);
    m_thresholdSlider->setEnabled(!own);
    m_thresholdSpin->setEnabled(!own);
    const QString tip = own ? tr("This map scores the background itself: its pseudo-mask is the argmax, no threshold")
                            : thresholdToolTip();
    m_thresholdSlider->setToolTip(tip);
    m_thresholdSpin->setToolTip(tip);
}

void MainWindow::setBgThreshold(double threshold)
{
    wsss::vision::PseudoLabelRule rule = m_rule;
    rule.bgThreshold = static_cast<float>(std::clamp(threshold, 0.0, 1.0));
    setRule(rule);
}

void MainWindow::showError(const QString &message)
{
    m_lastError = message;
    statusBar()->showMessage(tr("Error: %1").arg(message));
}

} // namespace wsss::ui
