#pragma once
// MainWindow: the studio's window. The canvas in the middle, the dataset list and the thresholds
// on the left, the attention view on the right, the evaluation plots below, display controls in
// a toolbar, engine messages in the status bar. Selecting an image submits an inspect job; the
// result replaces what is shown only when it arrives, and inspectionShown() tells when it is on
// screen. The window owns the one wsss::vision::PseudoLabelRule (toolbar, dock and HUD edit it through
// setRule()); when the rule refines (PAR, CRF) the canvas's requests go to the engine's worker.
// "Apply to the whole dataset" writes the split's pseudo-masks under the rule through the engine,
// with progress and Cancel in the status bar. Layout, colour map, the rule and the last dataset
// and checkpoint persist in QSettings (the application's organisation and name, set in main()).
// A dataset or checkpoint that fails to open stays explained in a banner above the canvas (jobs
// queued behind a failed load report its cause, not "no model is loaded") and is forgotten, so
// the next start does not try it again.
#include "training/engine/events.h"
#include "training/methods/inspection.h"
#include "ui/canvas/color_map.h"
#include "ui/project/rule_fields.h"
#include "ui/project/studio_session.h"

#include <QMainWindow>
#include <QPointF>
#include <QSet>
#include <QString>
#include <QVector>

#include <memory>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QProgressBar;
class QSlider;
class QToolButton;

namespace wsss::training {
struct ModelInfo;
}

namespace wsss::ui {

class AttentionDock;
class CanvasWidget;
class AffinityDock;
class ClassMapsDock;
class CorrectionController;
class DatasetDock;
class EngineBridge;
class EvaluationDock;
class JobsDock;
class MessageBanner;
class RunsDock;
class ThresholdsDock;
class TrainingController;
class TrainingDock;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // Lists the split's images and selects the first; warnings go to the status bar. False (with
    // the reason in the banner, the status bar and lastError()) when the folder cannot be read.
    bool openDataset(const QString &root, const QString &split = QStringLiteral("train"));
    // Asynchronous: the model is loaded by the engine; failures arrive as EngineBridge::jobFailed
    // and stay in the banner.
    void openCheckpoint(const QString &path, const QString &device = QStringLiteral("auto"));
    // Opens a .wsssproj: its dataset, checkpoint, rule and image, its review states and corrected
    // masks (a moved dataset or checkpoint is asked for). False with the reason in the banner.
    bool openProject(const QString &path);
    // Makes an image of the open dataset current and inspects it; false if the id is unknown.
    bool selectImage(const QString &id);
    // Moves the query to the patch under an image pixel of the shown inspection.
    void setQueryPixel(QPointF imagePixel);
    // Shows the map of a class by name (as in the model's class list); false if unknown.
    bool setMapClass(const QString &name);
    // Shows one of the method's map kinds (the Map box: "cam", "aff", ...); false if it has none such.
    bool setMapKind(const QString &kind);
    bool saveScreenshot(const QString &png);

    // The pseudo-label rule: toolbar, thresholds dock and canvas follow it.
    void setRule(const wsss::vision::PseudoLabelRule &rule);
    const wsss::vision::PseudoLabelRule &rule() const { return m_rule; }
    void setBgThreshold(double threshold); // the rule with this background threshold
    void setColorMap(ColorMap map);
    ColorMap colorMap() const { return m_colorMap; }

    // Scores the open split (EvaluateJob) at the current background threshold; 0 when no
    // dataset or checkpoint is open (the reason in the status bar). One at a time.
    quint64 evaluateSplit();
    void cancelEvaluation();
    bool isEvaluating() const { return m_evaluateJob != 0; }

    // Writes the open split's pseudo-masks under the current rule and map kind to outDir
    // (training::InferDatasetJob); 0 when no dataset or checkpoint is open or one is running.
    quint64 applyRuleToDataset(const QString &outDir);
    void cancelApply();
    bool isApplying() const { return m_applyJob != 0; }

    // What was open when a studio last closed (from QSettings); empty strings when nothing. A
    // project last open is reopened as a whole.
    using Session = StudioSession;
    static Session lastSession();
    // Reopens lastSession(); a file that fails (gone, unreadable) is explained in the banner and
    // forgotten. False if there was nothing to open.
    bool restoreLastSession(const QString &device = QStringLiteral("auto"));

    CanvasWidget *canvas() const { return m_canvas; }
    AttentionDock *attentionDock() const { return m_attentionDock; }
    AffinityDock *affinityDock() const { return m_affinityDock; }
    ClassMapsDock *classMapsDock() const { return m_classMapsDock; }
    DatasetDock *datasetDock() const { return m_datasetDock; }
    ThresholdsDock *thresholdsDock() const { return m_thresholdsDock; }
    EvaluationDock *evaluationDock() const { return m_evaluationDock; }
    TrainingDock *trainingDock() const { return m_trainingDock; }
    RunsDock *runsDock() const { return m_runsDock; }
    JobsDock *jobsDock() const { return m_jobsDock; }
    TrainingController *training() const { return m_training; }
    CorrectionController *correction() const { return m_correction; }
    MessageBanner *messageBanner() const { return m_banner; }
    EngineBridge *bridge() const { return m_bridge; }
    QString currentImageId() const { return m_requestedId; }
    QString lastError() const { return m_lastError; }

Q_SIGNALS:
    // After the inspection of image `id` has been drawn (canvas and attention view).
    void inspectionShown(const QString &id);
    // An evaluation ended (finished, failed or cancelled); the dock holds the result if any.
    void evaluationEnded(quint64 jobId, bool succeeded);
    // Apply to the whole dataset ended: finished, or cancelled or failed with the `written`
    // masks kept in the output folder.
    void applyEnded(quint64 jobId, bool finished, qint64 written);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createMenus();
    void createControls();
    void createStatusBar();
    void restoreSettings();
    void saveSettings() const;

    void openCheckpointDialog();
    void openDatasetDialog();
    void applyRuleDialog();
    void endApply(quint64 jobId, bool finished, const QString &outcome); // outcome: %1 written, %2 total, %3 folder
    void requestInspection(const QString &id, const QString &imagePath, const QVector<int> &labels);
    void showInspection(std::shared_ptr<const wsss::training::Inspection> inspection);
    void onModelLoaded(const wsss::training::ModelInfo &info);
    void onJobFailed(quint64 jobId, const QString &message);
    void populateClasses(const std::vector<std::string> &names);
    void populateKinds(const wsss::training::Inspection &inspection);
    // Whether the threshold controls decide the mask shown (not where the map has its own background).
    void showRuleScope();
    QString thresholdToolTip() const; // the toolbar threshold's, where the rule's threshold decides
    void showRule();                       // the rule into toolbar and dock, without echoes
    void endEvaluation(quint64 jobId, bool succeeded);
    void showError(const QString &message);
    void datasetFailed(const QString &root, const QString &message);
    void checkpointFailed(const QString &message);
    static void forgetSessionPath(const QString &key, const QString &path);

    EngineBridge *m_bridge = nullptr;
    CanvasWidget *m_canvas = nullptr;
    DatasetDock *m_datasetDock = nullptr;
    AttentionDock *m_attentionDock = nullptr;
    AffinityDock *m_affinityDock = nullptr;
    ClassMapsDock *m_classMapsDock = nullptr;
    ThresholdsDock *m_thresholdsDock = nullptr;
    EvaluationDock *m_evaluationDock = nullptr;
    TrainingDock *m_trainingDock = nullptr;
    RunsDock *m_runsDock = nullptr;
    JobsDock *m_jobsDock = nullptr;
    TrainingController *m_training = nullptr;
    CorrectionController *m_correction = nullptr;
    QString m_projectMapKind; // the opened project's map kind, chosen once the model lists its kinds
    MessageBanner *m_banner = nullptr;

    QComboBox *m_classCombo = nullptr;
    QComboBox *m_kindCombo = nullptr;
    QComboBox *m_colorMapCombo = nullptr;
    QSlider *m_opacitySlider = nullptr;
    QSlider *m_thresholdSlider = nullptr;
    QDoubleSpinBox *m_thresholdSpin = nullptr;
    QCheckBox *m_showMask = nullptr;
    QCheckBox *m_showGrid = nullptr;
    QLabel *m_modelLabel = nullptr;
    QLabel *m_hoverLabel = nullptr;
    QProgressBar *m_progress = nullptr;
    QToolButton *m_cancelButton = nullptr;

    wsss::vision::PseudoLabelRule m_rule;
    ColorMap m_colorMap = ColorMap::Jet;
    quint64 m_evaluateJob = 0;
    quint64 m_applyJob = 0;
    quint64 m_refineJob = 0; // the canvas's latest refinement
    QString m_applyOut;
    qint64 m_applyWritten = 0, m_applyTotal = 0; // as the job last reported
    QString m_datasetRoot, m_datasetSplit, m_checkpointPath;

    bool m_modelRequested = false;
    bool m_thresholdFromModel = true; // take the next inspection's default threshold
    quint64 m_loadJob = 0;
    quint64 m_inspectJob = 0;   // the latest inspection asked of the engine
    quint64 m_failedLoad = 0;   // the latest load that failed; jobs queued behind it fail with it
    QString m_loadError;        // and why
    QSet<quint64> m_dialogJobs;       // jobs the user started from a dialog: failures pop up
    QString m_requestedId;
    QString m_requestedPath;
    QVector<int> m_requestedLabels;
    QString m_lastError;
    QString m_jobMessage; // the last "job started" line, cleared when the engine goes idle
    std::vector<std::string> m_classNames;
};

} // namespace wsss::ui
