#pragma once
// CorrectionController: the studio as an annotation tool. Wires the project document (the open
// .wsssproj: review states, corrected masks, undo, autosave), the canvas's tools (brush, eraser,
// fill, polygon, accept region, affinity fill), the "Correct" toolbar with its label picker, the
// Edit and Review menus, and the export, so MainWindow only forwards what it shows. An edit needs
// an open project (corrections are saved beside it, never in the dataset); the first edit of an
// image starts its MaskDocument from the pseudo-mask on screen. A project whose dataset or
// checkpoint moved asks for the new place (the locator) instead of failing.
#include "training/project/studio_project.h"
#include "vision/labels/pseudo_label_rule.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <string>
#include <vector>

class QAction;
class QComboBox;
class QMainWindow;
class QMenu;
class QSpinBox;
class QToolBar;

namespace wsss::training {
struct Inspection;
}

namespace wsss::ui {

class CanvasWidget;
class DatasetDock;
class EngineBridge;
class MaskDocument;
class ProjectDocument;
class ToolManager;

class CorrectionController : public QObject {
    Q_OBJECT
public:
    CorrectionController(QMainWindow *window, CanvasWidget *canvas, DatasetDock *dataset, EngineBridge *bridge);
    ~CorrectionController() override;

    ProjectDocument *project() const { return m_project; }
    ToolManager *tools() const { return m_tools; }
    QToolBar *toolBar() const { return m_toolBar; }
    QAction *undoAction() const { return m_undo; }
    QAction *redoAction() const { return m_redo; }
    QAction *acceptAndNextAction() const { return m_acceptNext; }
    void addFileActions(QMenu *file);
    void addEditActions(QMenu *edit);
    void addReviewActions(QMenu *review);

    // Opens a project; its sources come back through projectOpened. A dataset or checkpoint that
    // moved is asked for through the locator (cancel: false). False with the reason in *error.
    bool openProject(const QString &path, QString *error);
    // Makes a project file for what is open now and opens it.
    bool newProject(const QString &path, const QString &data, const QString &split, const QString &checkpoint,
                    const wsss::vision::PseudoLabelRule &rule, QString *error);
    // What the window has open, for File → New project….
    struct Sources {
        QString data, split, checkpoint;
        wsss::vision::PseudoLabelRule rule;
    };
    void setSourcesProvider(std::function<Sources()> provider) { m_sources = std::move(provider); }
    // Asks where a moved file or folder is now: field "data" or "checkpoint", its old path; "" = cancel.
    using Locator = std::function<QString(const QString &field, const QString &oldPath)>;
    void setLocator(Locator locator) { m_locator = std::move(locator); }

    // What the window shows: the image's inspection (its corrected mask, if any, goes on the
    // canvas), the rule and map kind (saved with the project), the dataset's classes.
    void inspectionShown(std::shared_ptr<const wsss::training::Inspection> inspection);
    void setRule(const wsss::vision::PseudoLabelRule &rule);
    void setMapKind(const QString &kind);
    void setClassNames(const std::vector<std::string> &names);
    void datasetOpened(); // the dataset panel's rows are new: give them their review states

    // The label the edit tools write (0 background, 1..K, 255 ignore).
    void setLabel(int label);
    // Marks the current image and goes to the next one shown (A).
    void acceptAndNext();
    void setCurrentReview(wsss::training::ReviewState state);

    // Exports the open project (training::ExportProjectJob); 0 when no project is open.
    quint64 exportProject(const QString &outDir, const QString &format, bool force);
    void exportDialog();

Q_SIGNALS:
    // A project was opened: the window opens its dataset, checkpoint, rule and image.
    void projectOpened(const QString &data, const QString &split, const QString &checkpoint,
                       const wsss::vision::PseudoLabelRule &rule, const QString &mapKind, const QString &image);
    void message(const QString &text);      // for the status bar
    void failed(const QString &text);       // for the banner
    void exportEnded(quint64 jobId, bool succeeded, const QString &outDir);

private:
    void createToolBar();
    void createActions();
    MaskDocument *documentForEdit();
    void bindCanvas(); // the current image's corrected mask onto the canvas, or none

    QMainWindow *m_window;
    CanvasWidget *m_canvas;
    DatasetDock *m_dataset;
    EngineBridge *m_bridge;
    ProjectDocument *m_project;
    ToolManager *m_tools;
    QToolBar *m_toolBar = nullptr;
    QComboBox *m_labelCombo = nullptr;
    QSpinBox *m_brushSpin = nullptr;
    bool m_labelPicked = false; // the user chose a label (else the first class follows the dataset)
    QAction *m_undo = nullptr, *m_redo = nullptr;
    QAction *m_newProject = nullptr, *m_openProject = nullptr, *m_saveProject = nullptr, *m_export = nullptr;
    QAction *m_acceptNext = nullptr, *m_reject = nullptr, *m_unreviewed = nullptr;
    std::shared_ptr<const wsss::training::Inspection> m_inspection;
    QString m_imageId;
    std::vector<std::string> m_classNames;
    Locator m_locator;
    std::function<Sources()> m_sources;
    quint64 m_exportJob = 0;
    QString m_exportOut;
};

} // namespace wsss::ui
