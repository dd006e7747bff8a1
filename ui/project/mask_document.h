#pragma once
// MaskDocument: one image's mask as the studio corrects it by hand, with that image's own undo
// stack (Tiled's MapDocument around libtiled's Map). The canvas tools call the edit functions
// below; each pushes an undo command (ui/commands/) that changes the pixels and emits changed().
// Views only listen. Rule of use: never write into mask() — every edit goes through the stack.
//
// The mask starts from a base: the pseudo-mask the owner computed, or the corrected mask the
// project already holds for the image (then the document is corrected from the start). While the
// document is not corrected the owner may give it a newer base (the rule moved); once it is, the
// correction stands and a new base is ignored.
#include "ui/project/mask_edits.h"

#include <QList>
#include <QObject>
#include <QPolygonF>
#include <QRect>
#include <QString>

#include <cstdint>
#include <functional>
#include <optional>

class QUndoCommand;
class QUndoStack;

namespace wsss::ui {

class MaskDocument : public QObject {
    Q_OBJECT

public:
    // Called with the first command of each edit (a stroke's first dab, a fill) before it is
    // pushed; it may attach child commands (ProjectDocument adds "mark corrected").
    using EditHook = std::function<void(QUndoCommand *command)>;

    // Without pixels until setBase(); edits before that do nothing (its stack may still hold
    // review verdicts).
    explicit MaskDocument(const QString &imageId, QObject *parent = nullptr);
    MaskDocument(const QString &imageId, LabelImage base, QObject *parent = nullptr);
    ~MaskDocument() override;

    const QString &imageId() const { return m_imageId; }
    bool hasMask() const { return !m_mask.isNull(); }
    QSize size() const { return m_mask.size(); }
    // Full image resolution; class index per pixel, 255 = ignore.
    const LabelImage &mask() const { return m_mask; }
    // What the edits started from: the base, or the corrected mask read from the project.
    const LabelImage &start() const { return m_start; }
    bool loadedFromFile() const { return m_fromFile; }
    // Loaded from the project's corrected mask, or its pixels differ from the start. Undoing every
    // edit of a document that was not loaded makes it uncorrected again.
    bool isCorrected() const;
    // Counts pixel changes (edits, undo, redo); the owner compares it with the revision it saved.
    quint64 revision() const { return m_revision; }
    QUndoStack *undoStack() const { return m_undoStack; }

    // Gives the document its pixels: `corrected` (the project's corrected mask, the same size)
    // when there is one, else `base`. Ignored once the document is corrected. Replacing pixels
    // that mask edits were made on clears the undo stack (those commands would paste stale crops).
    // Emits changed() over the whole image when the pixels change.
    void setBase(LabelImage base, std::optional<LabelImage> corrected = std::nullopt);
    void setEditHook(EditHook hook) { m_editHook = std::move(hook); }

    // The brush: a round dab of `diameter` pixels at each point, joined without gaps (see
    // strokeRegion). Mouse-down to mouse-up is one undo step, "Paint stroke", or "Erase stroke"
    // for label 0 (the eraser paints background). Points are image pixels.
    void beginStroke(std::uint8_t label, int diameter, const QPointF &point);
    void continueStroke(const QPointF &point);
    void endStroke();
    bool isStroking() const { return m_stroking; }
    // A whole stroke at once (begin, continue through the points, end).
    void paintStroke(std::uint8_t label, int diameter, const QVector<QPointF> &points);

    // Each is one undo step, or none when no pixel would change; returns whether one was pushed.
    // The 4-connected region of the seed's label → `label` ("Fill region").
    bool fillAt(const QPoint &seed, std::uint8_t label);
    // Pixels whose centres are inside the polygon (even-odd) → `label` ("Fill polygon").
    bool fillPolygon(const QPolygonF &polygon, std::uint8_t label);
    // Any region → `label`, named by the caller: "Set to ignore" (label 255), "Accept region" (a
    // pseudo-mask class region), "Affinity fill".
    bool applyRegion(const RegionMask &region, std::uint8_t label, const QString &name);

    // For the commands only: set the region to `label` and return what changed; paste a crop
    // (undo pastes the patch's before, redo its after). Both emit changed().
    MaskPatch apply(const RegionMask &region, std::uint8_t label);
    void paste(const QRect &rect, const LabelImage &crop);

Q_SIGNALS:
    // Pixels inside `rect` (image pixels) may have new labels.
    void changed(const QRect &rect);

private:
    void dab(QPointF from, QPointF to);
    bool pushEdit(QUndoCommand *command);

    QString m_imageId;
    LabelImage m_mask;
    LabelImage m_start;
    bool m_fromFile = false;
    quint64 m_revision = 0;
    QUndoStack *m_undoStack;
    EditHook m_editHook;

    // The stroke in progress.
    bool m_stroking = false;
    int m_stroke = 0;     // its number; PaintMask merges only within one number
    int m_lastStroke = 0; // numbers are never reused
    std::uint8_t m_strokeLabel = 0;
    int m_strokeDiameter = 1;
    QPointF m_strokePoint; // the last dab's centre
};

} // namespace wsss::ui
