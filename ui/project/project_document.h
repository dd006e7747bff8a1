#pragma once
// ProjectDocument: the open `.wsssproj` in the studio — training::StudioProject and its file, one
// MaskDocument per image touched, and quiet saving. Every change (an edit, an undo, a verdict, the
// rule, the image shown) starts a single-shot timer; when it fires the project file and every
// changed corrected mask are written atomically, so a crash loses at most the last couple of
// seconds (Tiled's session.cpp). Rule of use: change project data through this class, never
// through project(), so the change is undoable where it should be and always saved.
//
// Masks: a corrected image's mask is <masks>/<id>.png, a palette PNG at image size with the class
// indices (255 = ignore). An image is corrected while its MaskDocument is: when every edit of an
// image that had no mask file is undone, its file is removed again and its review state is back to
// what it was before the first edit (that edit carried "mark corrected" as a child command).
// Nothing is ever written inside the dataset folder; a project or masks folder there is refused.
//
// Undo stacks: never call setClean() on them (Qt does not merge into a clean top command, so a
// stroke would split); this class tracks what is saved itself.
//
// Errors: a failed read or write is a signal whose message names the file. A failed save keeps
// everything in memory and dirty, and the next change (or save()) tries again.
#include "training/project/studio_project.h"
#include "ui/project/mask_edits.h"
#include "vision/core/labels.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QRect>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <array>

class QUndoGroup;

namespace wsss::ui {

class MaskDocument;

class ProjectDocument : public QObject {
    Q_OBJECT

public:
    // 2 s after the last change: long enough that a stroke's dabs share one save.
    static constexpr int kDefaultAutosaveMs = 2000;
    // Nonstop editing still saves once this many delays after its first unsaved change.
    static constexpr int kAutosaveMaxDelays = 5;

    explicit ProjectDocument(QObject *parent = nullptr);
    // Saves what is still unsaved (the pending autosave), as Tiled's session does on exit.
    ~ProjectDocument() override;

    // Reads a project (closing the open one first). False: errorString() says why (also emitted
    // as loadFailed). Removes temporaries that a killed studio left in the masks folder.
    bool open(const QString &path);
    // Starts a project file at `path` and writes it now (masks "" = defaultMasksFolder(path)).
    bool create(const QString &path, const training::StudioProject &project);
    // Saves what is unsaved, then forgets the project and its masks and undo history.
    void close();
    bool isOpen() const { return !m_path.isEmpty(); }
    QString filePath() const { return m_path; }
    const training::StudioProject &project() const { return m_project; }
    QString errorString() const { return m_error; }

    // Writes the project file and every unsaved corrected mask now. False: saveFailed was emitted
    // and everything stays dirty.
    bool save();
    // Writes only what is unsaved (nothing when nothing is): the autosave run now, e.g. on close.
    bool saveNow();
    // Moves the project to `path`. A masks folder at its default place (<stem>.masks) moves with
    // it: the mask files are copied into the new default folder; any other masks folder is kept.
    bool saveAs(const QString &path);
    bool isDirty() const;

    // Autosave delay in ms; negative = no autosave (save() and saveNow() only).
    void setAutosaveInterval(int ms);
    int autosaveInterval() const { return m_autosaveMs; }
    // The classes whose colours go into written masks' palettes (default: PASCAL VOC's). Only
    // the colours depend on it; the indices are the labels.
    void setLabelMap(const vision::LabelMap &labels);

    // Undo/Redo of the studio: its active stack is the current image's document's.
    QUndoGroup *undoGroup() const { return m_undoGroup; }
    QString currentImage() const { return QString::fromStdString(m_project.image); }
    // Shows another image: its document (created without pixels if new) becomes the active stack.
    // The previous image's document is released (deleteLater) when it has no undo history and
    // nothing unsaved, so browsing a large dataset does not keep every mask in memory; keep no
    // pointer to a document across image changes.
    void setCurrentImage(const QString &id);

    // The document of an image, created on demand without pixels (it can hold review verdicts).
    MaskDocument *maskDocument(const QString &id);
    // The same with its pixels: the first call reads the image's corrected mask when the project
    // has one (a mask of another size is reported and ignored), else starts from `baseMask`, the
    // pseudo-mask; later calls pass a newer base to a document that is not corrected.
    MaskDocument *maskDocument(const QString &id, const LabelImage &baseMask);
    // The existing document or nullptr.
    MaskDocument *findMaskDocument(const QString &id) const;

    training::ReviewState review(const QString &id) const;
    // Pushes SetReviewState on the image's stack (nothing when the state is already that).
    void setReview(const QString &id, training::ReviewState state);
    // For SetReviewState only: sets the state without an undo step.
    void applyReview(const QString &id, training::ReviewState state);

    const vision::PseudoLabelRule &rule() const { return m_project.rule; }
    // Not undoable (a slider); saved with the project.
    void setRule(const vision::PseudoLabelRule &rule);
    // Where the images and pseudo-masks come from (absolute paths; a moved dataset or checkpoint
    // found again). Not undoable; saved with the project.
    void setSources(const QString &data, const QString &split, const QString &checkpoint);
    void setMapKind(const QString &kind); // "" = the method's primary map

Q_SIGNALS:
    void reviewChanged(const QString &id, wsss::training::ReviewState state);
    void ruleChanged();
    void currentImageChanged(const QString &id);
    // An image's mask changed inside `rect` (edit, undo, redo, new base).
    void maskChanged(const QString &id, const QRect &rect);
    void saved();
    // A save failed; the message names the file(s). The edits stay in memory and dirty.
    void saveFailed(const QString &message);
    // A project or corrected mask could not be read; the message names the file.
    void loadFailed(const QString &message);

private:
    struct Entry {
        MaskDocument *document = nullptr;
        quint64 savedRevision = 0;
        bool fileWritten = false; // this session wrote its mask file, so it may remove it again
    };

    void reset();
    void scheduleAutosave();
    bool write(bool projectFile);
    bool saveMask(const QString &id, Entry &entry, QStringList &errors);
    // A path inside the dataset folder, which the studio must never write to.
    bool insideDataset(const std::filesystem::path &path) const;
    void releaseIfIdle(const QString &id);

    QString m_path;
    training::StudioProject m_project;
    bool m_projectDirty = false;
    QString m_error;
    QHash<QString, Entry> m_entries;
    QUndoGroup *m_undoGroup;
    QTimer m_autosave;
    QElapsedTimer m_pendingSince; // since the change that started m_autosave
    int m_autosaveMs = kDefaultAutosaveMs;
    std::array<vision::Rgb, 256> m_palette;
};

} // namespace wsss::ui
