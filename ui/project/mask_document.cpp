#include "ui/project/mask_document.h"

#include "ui/commands/fill_region.h"
#include "ui/commands/paint_mask.h"

#include <QUndoStack>

#include <algorithm>

namespace wsss::ui {

MaskDocument::MaskDocument(const QString &imageId, QObject *parent)
    : QObject(parent), m_imageId(imageId), m_undoStack(new QUndoStack(this))
{
}

MaskDocument::MaskDocument(const QString &imageId, LabelImage base, QObject *parent) : MaskDocument(imageId, parent)
{
    m_start = base;
    m_mask = std::move(base);
}

MaskDocument::~MaskDocument() = default;

bool MaskDocument::isCorrected() const
{
    return m_fromFile || m_mask.pixels != m_start.pixels;
}

void MaskDocument::setBase(LabelImage base, std::optional<LabelImage> corrected)
{
    if (hasMask() && isCorrected())
        return;
    const bool fromFile = corrected && !corrected->isNull();
    m_fromFile = m_fromFile || fromFile;
    LabelImage start = fromFile ? std::move(*corrected) : std::move(base);
    if (hasMask() && start == m_mask) {
        m_start = std::move(start);
        return;
    }
    // The undone (or net-zero) edits on the stack hold crops of the old pixels; replaying them
    // over new ones would mix the two.
    for (int i = 0; i < m_undoStack->count(); ++i) {
        const QUndoCommand *command = m_undoStack->command(i);
        if (dynamic_cast<const PaintMask *>(command) || dynamic_cast<const FillRegion *>(command)) {
            m_undoStack->clear();
            break;
        }
    }
    m_stroking = false;
    m_start = start;
    m_mask = std::move(start);
    Q_EMIT changed(m_mask.rect());
}

void MaskDocument::beginStroke(std::uint8_t label, int diameter, const QPointF &point)
{
    endStroke();
    m_stroking = true;
    m_stroke = ++m_lastStroke;
    m_strokeLabel = label;
    m_strokeDiameter = std::max(diameter, 1);
    dab(point, point);
}

void MaskDocument::continueStroke(const QPointF &point)
{
    if (m_stroking)
        dab(m_strokePoint, point);
}

void MaskDocument::endStroke()
{
    if (!m_stroking)
        return;
    m_stroking = false;
    const int top = m_undoStack->index() - 1;
    // The stack owns the command; trimming keeps what it undoes and redoes exactly as it was.
    if (auto *paint = top >= 0 ? dynamic_cast<const PaintMask *>(m_undoStack->command(top)) : nullptr;
        paint && paint->stroke() == m_stroke)
        const_cast<PaintMask *>(paint)->trim();
}

void MaskDocument::paintStroke(std::uint8_t label, int diameter, const QVector<QPointF> &points)
{
    if (points.isEmpty())
        return;
    beginStroke(label, diameter, points.front());
    for (int i = 1; i < points.size(); ++i)
        continueStroke(points[i]);
    endStroke();
}

void MaskDocument::dab(QPointF from, QPointF to)
{
    m_strokePoint = to; // `from` is often the old m_strokePoint: a copy, not a reference
    if (!hasMask())
        return;
    RegionMask region = strokeRegion(m_mask.size(), from, to, m_strokeDiameter);
    if (!regionChanges(m_mask, region, m_strokeLabel))
        return;
    // The dab merges into the stroke's command when that is on top; after an undo or another
    // edit in mid-stroke it starts a new undo step (and gets the edit hook again).
    const int top = m_undoStack->index() - 1;
    const auto *paint = top >= 0 ? dynamic_cast<const PaintMask *>(m_undoStack->command(top)) : nullptr;
    auto *command = new PaintMask(this, m_stroke, std::move(region), m_strokeLabel);
    if (paint && paint->stroke() == m_stroke)
        m_undoStack->push(command);
    else
        pushEdit(command);
}

bool MaskDocument::fillAt(const QPoint &seed, std::uint8_t label)
{
    if (!hasMask() || !m_mask.rect().contains(seed) || m_mask.at(seed.x(), seed.y()) == label)
        return false;
    return pushEdit(new FillRegion(this, floodRegion(m_mask, seed), label, tr("Fill region")));
}

bool MaskDocument::fillPolygon(const QPolygonF &polygon, std::uint8_t label)
{
    return applyRegion(polygonRegion(m_mask.size(), polygon), label, tr("Fill polygon"));
}

bool MaskDocument::applyRegion(const RegionMask &region, std::uint8_t label, const QString &name)
{
    if (!hasMask() || !regionChanges(m_mask, region, label))
        return false;
    return pushEdit(new FillRegion(this, region, label, name));
}

bool MaskDocument::pushEdit(QUndoCommand *command)
{
    if (m_editHook)
        m_editHook(command);
    m_undoStack->push(command);
    return true;
}

MaskPatch MaskDocument::apply(const RegionMask &region, std::uint8_t label)
{
    MaskPatch patch = ui::applyRegion(m_mask, region, label);
    if (!patch.isEmpty()) {
        ++m_revision;
        Q_EMIT changed(patch.rect);
    }
    return patch;
}

void MaskDocument::paste(const QRect &rect, const LabelImage &crop)
{
    if (rect.isEmpty())
        return;
    pasteLabels(m_mask, crop, rect.topLeft());
    ++m_revision;
    Q_EMIT changed(rect);
}

} // namespace wsss::ui
