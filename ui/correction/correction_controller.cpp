#include "ui/correction/correction_controller.h"

#include "training/methods/inspection.h"
#include "ui/canvas/abstract_tool.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/tool_manager.h"
#include "ui/dialogs/export_dialog.h"
#include "ui/docks/dataset_dock.h"
#include "ui/engine/engine_bridge.h"
#include "ui/models/image_list_model.h"
#include "ui/project/mask_document.h"
#include "ui/project/project_document.h"
#include "vision/core/labels.h"

#include <QAction>
#include <QActionGroup>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMainWindow>
#include <QMenu>
#include <QPainter>
#include <QPixmap>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QToolBar>
#include <QUndoGroup>

#include <exception>

namespace wsss::ui {

namespace tr = wsss::training;

namespace {

QIcon swatch(int label)
{
    QPixmap pixmap(14, 14);
    if (label == vision::kIgnoreLabel) {
        pixmap.fill(Qt::white);
        QPainter p(&pixmap);
        p.fillRect(pixmap.rect(), QBrush(Qt::black, Qt::BDiagPattern));
    } else {
        const auto c = vision::vocPaletteColor(label);
        pixmap.fill(label == 0 ? QColor(0, 0, 0) : QColor(c[0], c[1], c[2]));
    }
    return QIcon(pixmap);
}

} // namespace

CorrectionController::CorrectionController(QMainWindow *window, CanvasWidget *canvas, DatasetDock *dataset,
                                           EngineBridge *bridge)
    : QObject(window), m_window(window), m_canvas(canvas), m_dataset(dataset), m_bridge(bridge),
      m_project(new ProjectDocument(this)), m_tools(new ToolManager(canvas, this))
{
    m_tools->setDocumentProvider([this] { return documentForEdit(); });
    // Affinity fill's snap is a refinement of the region's soft map on the worker. It shares the
    // refine queue with the canvas's PAR/CRF (latest wins), so a snap asked for while the canvas
    // refines may have to be asked again (move the threshold).
    m_tools->setRegionSnapper([this](std::shared_ptr<const tr::Inspection> region, const QString &kind,
                                     const vision::PseudoLabelRule &rule) { m_bridge->refine(std::move(region), kind, rule); });
    connect(m_bridge, &EngineBridge::refinementReady, m_tools, &ToolManager::regionSnapped);
    connect(m_tools, &ToolManager::editRefused, this, &CorrectionController::failed);
    createActions();
    createToolBar();

    connect(m_project, &ProjectDocument::reviewChanged, this,
            [this](const QString &id, tr::ReviewState state) { m_dataset->setReviewState(id.toStdString(), state); });
    connect(m_project, &ProjectDocument::maskChanged, this, [this](const QString &id, const QRect &) {
        if (id == m_imageId)
            bindCanvas(); // undoing every edit gives the live pseudo-mask back
    });
    connect(m_project, &ProjectDocument::saveFailed, this, &CorrectionController::failed);
    connect(m_project, &ProjectDocument::loadFailed, this, &CorrectionController::failed);
    connect(m_project, &ProjectDocument::saved, this, [this] {
        Q_EMIT message(tr("Saved %1").arg(QFileInfo(m_project->filePath()).fileName()));
    });

    connect(m_bridge, &EngineBridge::projectExported, this,
            [this](quint64 jobId, const QString &out, qint64 images, qint64 corrected, qint64 rejected) {
                if (jobId != m_exportJob)
                    return;
                Q_EMIT message(tr("Exported %1 images (%2 corrected by hand, %3 rejected left out) to %4")
                                   .arg(images).arg(corrected).arg(rejected).arg(out));
                m_exportJob = 0;
                Q_EMIT exportEnded(jobId, true, out);
            });
    auto exportFailed = [this](quint64 jobId, const QString &why) {
        if (jobId != m_exportJob)
            return;
        m_exportJob = 0;
        Q_EMIT failed(tr("Export to %1 failed, nothing was left there: %2").arg(m_exportOut, why));
        Q_EMIT exportEnded(jobId, false, m_exportOut);
    };
    connect(m_bridge, &EngineBridge::jobFailed, this, exportFailed);
    connect(m_bridge, &EngineBridge::jobCancelled, this,
            [exportFailed](quint64 jobId) { exportFailed(jobId, QObject::tr("cancelled")); });
}

// The canvas (a sibling in the window) may be gone already; it watches its tool and document.
CorrectionController::~CorrectionController() = default;

void CorrectionController::createActions()
{
    m_undo = m_project->undoGroup()->createUndoAction(this, tr("&Undo"));
    m_undo->setObjectName(QStringLiteral("undoAction"));
    m_undo->setShortcut(QKeySequence::Undo);
    m_redo = m_project->undoGroup()->createRedoAction(this, tr("&Redo"));
    m_redo->setObjectName(QStringLiteral("redoAction"));
    m_redo->setShortcuts({QKeySequence::Redo, QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z)});

    m_newProject = new QAction(tr("&New project…"), this);
    m_newProject->setObjectName(QStringLiteral("newProjectAction"));
    m_newProject->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N));
    m_newProject->setToolTip(tr("Start a project for the open dataset and checkpoint: corrected masks and review "
                                "states are kept beside the project file"));
    connect(m_newProject, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getSaveFileName(m_window, tr("New project"), QString(),
                                                          tr("WSSS projects (*.wsssproj)"));
        if (path.isEmpty())
            return;
        QString error;
        const Sources sources = m_sources ? m_sources() : Sources{};
        if (!newProject(path.endsWith(QStringLiteral(".wsssproj")) ? path : path + QStringLiteral(".wsssproj"),
                        sources.data, sources.split, sources.checkpoint, sources.rule, &error))
            Q_EMIT failed(error);
    });
    m_openProject = new QAction(tr("Open &project…"), this);
    m_openProject->setObjectName(QStringLiteral("openProjectAction"));
    m_openProject->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_O));
    connect(m_openProject, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getOpenFileName(m_window, tr("Open project"), QString(),
                                                          tr("WSSS projects (*.wsssproj);;All files (*)"));
        QString error;
        if (!path.isEmpty() && !openProject(path, &error))
            Q_EMIT failed(error);
    });
    m_saveProject = new QAction(tr("&Save project"), this);
    m_saveProject->setObjectName(QStringLiteral("saveProjectAction"));
    m_saveProject->setShortcut(QKeySequence::Save);
    connect(m_saveProject, &QAction::triggered, this, [this] {
        if (m_project->isOpen())
            m_project->save();
    });
    m_export = new QAction(tr("&Export pseudo-label dataset…"), this);
    m_export->setObjectName(QStringLiteral("exportProjectAction"));
    m_export->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    m_export->setToolTip(tr("Write the split's masks (corrected ones where they exist, else the rule's pseudo-masks) "
                            "as a VOC folder or COCO JSON"));
    connect(m_export, &QAction::triggered, this, &CorrectionController::exportDialog);

    m_acceptNext = new QAction(tr("&Accept and next"), this);
    m_acceptNext->setObjectName(QStringLiteral("acceptNextAction"));
    m_acceptNext->setShortcut(QKeySequence(Qt::Key_A));
    m_acceptNext->setToolTip(tr("Mark this image's mask accepted and show the next image (A)"));
    connect(m_acceptNext, &QAction::triggered, this, &CorrectionController::acceptAndNext);
    m_reject = new QAction(tr("Re&ject and next"), this);
    m_reject->setObjectName(QStringLiteral("rejectNextAction"));
    m_reject->setShortcut(QKeySequence(Qt::Key_X));
    m_reject->setToolTip(tr("Leave this image out of exports and show the next image (X)"));
    connect(m_reject, &QAction::triggered, this, [this] {
        setCurrentReview(tr::ReviewState::Rejected);
        m_dataset->nextImage();
    });
    m_unreviewed = new QAction(tr("Mark &unreviewed"), this);
    m_unreviewed->setObjectName(QStringLiteral("markUnreviewedAction"));
    connect(m_unreviewed, &QAction::triggered, this, [this] { setCurrentReview(tr::ReviewState::Unreviewed); });
    // Window-wide, also with the menu bar hidden.
    m_window->addActions({m_undo, m_redo, m_acceptNext, m_reject});
}

void CorrectionController::createToolBar()
{
    m_toolBar = new QToolBar(tr("Correct"), m_window);
    m_toolBar->setObjectName(QStringLiteral("CorrectToolBar"));
    for (AbstractTool *tool : m_tools->tools()) {
        m_toolBar->addAction(tool->action());
        m_window->addAction(tool->action()); // its shortcut, window-wide
    }
    m_toolBar->addSeparator();
    auto *paint = new QLabel(tr("Paint"), m_toolBar);
    paint->setContentsMargins(6, 0, 4, 0);
    m_toolBar->addWidget(paint);
    m_labelCombo = new QComboBox(m_toolBar);
    m_labelCombo->setObjectName(QStringLiteral("labelCombo"));
    m_labelCombo->setToolTip(tr("What brush, fill, polygon and affinity fill write: 0–9 pick background and the "
                                "first classes, I picks ignore (255)"));
    m_labelCombo->setMinimumContentsLength(12);
    m_toolBar->addWidget(m_labelCombo);
    connect(m_labelCombo, &QComboBox::activated, this, [this] { m_labelPicked = true; });
    connect(m_labelCombo, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (i >= 0)
            m_tools->setLabel(static_cast<std::uint8_t>(m_labelCombo->itemData(i).toInt()));
    });
    auto *size = new QLabel(tr("Size"), m_toolBar);
    size->setContentsMargins(6, 0, 4, 0);
    m_toolBar->addWidget(size);
    m_brushSpin = new QSpinBox(m_toolBar);
    m_brushSpin->setObjectName(QStringLiteral("brushSizeSpin"));
    m_brushSpin->setRange(1, ToolManager::kMaxBrush);
    m_brushSpin->setSuffix(tr(" px"));
    m_brushSpin->setValue(m_tools->brushDiameter());
    m_brushSpin->setToolTip(tr("Brush diameter in image pixels (Ctrl+wheel or [ ] on the canvas)"));
    m_toolBar->addWidget(m_brushSpin);
    connect(m_brushSpin, &QSpinBox::valueChanged, m_tools, &ToolManager::setBrushDiameter);
    connect(m_tools, &ToolManager::brushDiameterChanged, m_brushSpin, &QSpinBox::setValue);
    auto *snapLabel = new QLabel(tr("Snap"), m_toolBar);
    snapLabel->setContentsMargins(6, 0, 4, 0);
    m_toolBar->addWidget(snapLabel);
    auto *snap = new QComboBox(m_toolBar);
    snap->setObjectName(QStringLiteral("snapCombo"));
    snap->setToolTip(tr("Affinity fill: snap the patch-grid region to the image's edges with PAR or the dense CRF "
                        "before it is filled (computed in the background)"));
    snap->addItem(tr("grid"), int(ToolManager::Snap::None));
    snap->addItem(tr("PAR"), int(ToolManager::Snap::Par));
    snap->addItem(tr("CRF"), int(ToolManager::Snap::Crf));
    m_toolBar->addWidget(snap);
    connect(snap, &QComboBox::currentIndexChanged, this,
            [this, snap](int i) { m_tools->setSnap(static_cast<ToolManager::Snap>(snap->itemData(i).toInt())); });
    m_toolBar->addSeparator();
    m_toolBar->addAction(m_acceptNext);
    m_toolBar->addAction(m_reject);
    setClassNames({});

    // Number keys pick a label (0 = background, k = class k); I = ignore.
    for (int k = 0; k <= 9; ++k) {
        auto *pick = new QAction(this);
        pick->setShortcut(QKeySequence(Qt::Key_0 + k));
        connect(pick, &QAction::triggered, this, [this, k] { setLabel(k); });
        m_window->addAction(pick);
    }
    auto *ignore = new QAction(this);
    ignore->setShortcut(QKeySequence(Qt::Key_I));
    connect(ignore, &QAction::triggered, this, [this] { setLabel(vision::kIgnoreLabel); });
    m_window->addAction(ignore);
}

void CorrectionController::addFileActions(QMenu *file)
{
    file->addAction(m_newProject);
    file->addAction(m_openProject);
    file->addAction(m_saveProject);
    file->addAction(m_export);
}

void CorrectionController::addEditActions(QMenu *edit)
{
    edit->addAction(m_undo);
    edit->addAction(m_redo);
    edit->addSeparator();
    for (AbstractTool *tool : m_tools->tools())
        edit->addAction(tool->action());
}

void CorrectionController::addReviewActions(QMenu *review)
{
    review->addAction(m_acceptNext);
    review->addAction(m_reject);
    review->addAction(m_unreviewed);
}

void CorrectionController::setClassNames(const std::vector<std::string> &names)
{
    m_classNames = names;
    // Until the user picks a label, the first class is the one to paint.
    const int previous = m_labelPicked ? m_labelCombo->currentData().toInt() : 1;
    const QSignalBlocker block(m_labelCombo);
    m_labelCombo->clear();
    m_labelCombo->addItem(swatch(0), tr("0 background"), 0);
    for (size_t k = 1; k < names.size(); ++k)
        m_labelCombo->addItem(swatch(int(k)),
                              k <= 9 ? QStringLiteral("%1 %2").arg(k).arg(QString::fromStdString(names[k]))
                                     : QString::fromStdString(names[k]),
                              int(k));
    m_labelCombo->addItem(swatch(vision::kIgnoreLabel), tr("I ignore (255)"), int(vision::kIgnoreLabel));
    const int row = m_labelCombo->findData(previous);
    m_labelCombo->setCurrentIndex(row >= 0 ? row : std::min(1, m_labelCombo->count() - 1));
    m_tools->setLabel(static_cast<std::uint8_t>(m_labelCombo->currentData().toInt()));
}

void CorrectionController::setLabel(int label)
{
    const int row = m_labelCombo->findData(label);
    if (row < 0)
        return;
    m_labelPicked = true;
    m_labelCombo->setCurrentIndex(row);
}

bool CorrectionController::openProject(const QString &path, QString *error)
{
    tr::StudioProject project;
    try {
        project = tr::readStudioProject(path.toStdString());
    } catch (const std::exception &e) {
        *error = QString::fromUtf8(e.what());
        return false;
    }
    // A moved dataset or checkpoint is found again, not a dead end.
    bool moved = false;
    for (const auto &field : tr::missingProjectPaths(project)) {
        const bool data = field == "data";
        const QString old = QString::fromStdString((data ? project.data : project.checkpoint).string());
        QString now;
        if (m_locator)
            now = m_locator(QString::fromStdString(field), old);
        else if (data)
            now = QFileDialog::getExistingDirectory(m_window, tr("The project's dataset %1 has moved: where is it now?").arg(old));
        else
            now = QFileDialog::getOpenFileName(m_window, tr("The project's checkpoint %1 has moved: where is it now?").arg(old),
                                               QString(), tr("WSSS checkpoints (*.wsss);;All files (*)"));
        if (now.isEmpty()) {
            *error = tr("Project %1: its %2 %3 is not there any more").arg(path, data ? tr("dataset") : tr("checkpoint"), old);
            return false;
        }
        (data ? project.data : project.checkpoint) = QFileInfo(now).absoluteFilePath().toStdString();
        moved = true;
    }
    if (!m_project->open(path)) {
        *error = m_project->errorString();
        return false;
    }
    if (moved) {
        m_project->setSources(QString::fromStdString(project.data.string()), QString::fromStdString(project.split),
                              QString::fromStdString(project.checkpoint.string()));
        m_project->save();
    }
    const auto &p = m_project->project();
    Q_EMIT message(tr("Opened project %1").arg(QFileInfo(path).fileName()));
    Q_EMIT projectOpened(QString::fromStdString(p.data.string()), QString::fromStdString(p.split),
                         QString::fromStdString(p.checkpoint.string()), p.rule, QString::fromStdString(p.mapKind),
                         QString::fromStdString(p.image));
    return true;
}

bool CorrectionController::newProject(const QString &path, const QString &data, const QString &split,
                                      const QString &checkpoint, const vision::PseudoLabelRule &rule, QString *error)
{
    if (data.isEmpty()) {
        *error = tr("New project: open a dataset first");
        return false;
    }
    tr::StudioProject project;
    project.data = QFileInfo(data).absoluteFilePath().toStdString();
    project.split = split.toStdString();
    if (!checkpoint.isEmpty())
        project.checkpoint = QFileInfo(checkpoint).absoluteFilePath().toStdString();
    project.rule = rule;
    project.image = m_imageId.toStdString();
    if (!m_project->create(path, project)) {
        *error = m_project->errorString();
        return false;
    }
    datasetOpened();
    if (m_inspection)
        m_project->setCurrentImage(m_imageId);
    bindCanvas();
    Q_EMIT message(tr("Project %1: corrected masks go to %2")
                       .arg(QFileInfo(path).fileName(), QString::fromStdString(m_project->project().masks.string())));
    return true;
}

void CorrectionController::inspectionShown(std::shared_ptr<const tr::Inspection> inspection)
{
    m_inspection = std::move(inspection);
    m_imageId = m_inspection ? QString::fromStdString(m_inspection->imageId) : QString();
    m_canvas->setMaskDocument(nullptr); // the previous image's; set again below when this one has one
    if (m_project->isOpen() && !m_imageId.isEmpty())
        m_project->setCurrentImage(m_imageId);
    bindCanvas();
}

void CorrectionController::bindCanvas()
{
    MaskDocument *shown = nullptr;
    if (m_project->isOpen() && m_inspection && !m_imageId.isEmpty()) {
        MaskDocument *document = m_project->findMaskDocument(m_imageId);
        // Runs after every brush dab: the disk is asked only when no document holds the pixels.
        std::error_code ec;
        if ((!document || !document->hasMask()) &&
            std::filesystem::is_regular_file(m_project->project().correctedMaskPath(m_imageId.toStdString()), ec)) {
            const auto &labels = m_canvas->maskLabels();
            const int w = m_inspection->imageWidth, h = m_inspection->imageHeight;
            if (labels.size() == size_t(w) * h)
                document = m_project->maskDocument(m_imageId, LabelImage(w, h, labels));
        }
        if (document && document->hasMask() && document->isCorrected())
            shown = document;
    }
    m_canvas->setMaskDocument(shown);
}

MaskDocument *CorrectionController::documentForEdit()
{
    if (!m_project->isOpen()) {
        Q_EMIT failed(tr("Corrections are kept in a project, beside its file: File → New project… first "
                         "(the dataset itself is never written)"));
        return nullptr;
    }
    if (!m_inspection || m_imageId.isEmpty())
        return nullptr;
    if (MaskDocument *document = m_canvas->maskDocument())
        return document;
    // The first edit starts from the pseudo-mask on screen.
    const auto &labels = m_canvas->maskLabels();
    const int w = m_inspection->imageWidth, h = m_inspection->imageHeight;
    if (labels.size() != size_t(w) * h)
        return nullptr;
    MaskDocument *document = m_project->maskDocument(m_imageId, LabelImage(w, h, labels));
    m_canvas->setMaskDocument(document);
    return document;
}

void CorrectionController::setRule(const vision::PseudoLabelRule &rule)
{
    if (m_project->isOpen())
        m_project->setRule(rule);
}

void CorrectionController::setMapKind(const QString &kind)
{
    if (m_project->isOpen())
        m_project->setMapKind(kind);
}

void CorrectionController::datasetOpened()
{
    if (m_project->isOpen())
        m_dataset->setReviewStates(m_project->project().reviews);
}

void CorrectionController::setCurrentReview(tr::ReviewState state)
{
    if (!m_project->isOpen()) {
        Q_EMIT failed(tr("Review states are kept in a project: File → New project… first"));
        return;
    }
    if (!m_imageId.isEmpty())
        m_project->setReview(m_imageId, state);
}

void CorrectionController::acceptAndNext()
{
    setCurrentReview(tr::ReviewState::Accepted);
    if (m_project->isOpen())
        m_dataset->nextImage();
}

quint64 CorrectionController::exportProject(const QString &outDir, const QString &format, bool force)
{
    if (!m_project->isOpen()) {
        Q_EMIT failed(tr("Export: open or create a project first"));
        return 0;
    }
    if (m_exportJob != 0) {
        Q_EMIT failed(tr("Export: one is already running (to %1)").arg(m_exportOut));
        return 0;
    }
    m_project->saveNow(); // the export reads the corrected masks from disk
    m_exportOut = outDir;
    m_exportJob = m_bridge->exportProject(m_project->project(), m_project->filePath(), outDir, format, force);
    return m_exportJob;
}

void CorrectionController::exportDialog()
{
    if (!m_project->isOpen()) {
        Q_EMIT failed(tr("Export: open or create a project first (File → New project…)"));
        return;
    }
    int corrected = 0, rejected = 0;
    for (const auto &[id, state] : m_project->project().reviews) {
        corrected += state == tr::ReviewState::Corrected;
        rejected += state == tr::ReviewState::Rejected;
    }
    ExportDialog dialog(m_window);
    dialog.setSummary(m_dataset->model()->rowCount(), corrected, rejected);
    if (dialog.exec() == QDialog::Accepted)
        exportProject(dialog.outDir(), dialog.format(), dialog.force());
}

} // namespace wsss::ui
