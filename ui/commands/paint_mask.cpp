#include "ui/commands/paint_mask.h"

#include "ui/commands/undo_ids.h"
#include "ui/project/mask_document.h"

#include <QCoreApplication>

#include <algorithm>

namespace wsss::ui {

PaintMask::PaintMask(MaskDocument *document, int stroke, RegionMask dab, std::uint8_t label, QUndoCommand *parent)
    : QUndoCommand(textFor(label), parent), m_document(document), m_stroke(stroke), m_label(label),
      m_dab(std::move(dab))
{
}

QString PaintMask::textFor(std::uint8_t label)
{
    return label == 0 ? QCoreApplication::translate("PaintMask", "Erase stroke")
                      : QCoreApplication::translate("PaintMask", "Paint stroke");
}

int PaintMask::id() const
{
    return undoId(UndoId::PaintMask);
}

bool PaintMask::mergeWith(const QUndoCommand *other)
{
    const auto *dab = dynamic_cast<const PaintMask *>(other);
    if (!dab || dab->m_document != m_document || dab->m_stroke != m_stroke || dab->m_label != m_label ||
        dab->childCount() > 0 || !dab->m_applied)
        return false;
    // Grow by half the stroke's extent when the rect must grow, so a long stroke re-copies its
    // crops O(log n) times instead of on every dab.
    const QRect joined = m_patch.rect | dab->m_patch.rect;
    mergePatches(m_patch, dab->m_patch, m_document->mask(), std::max({16, joined.width() / 2, joined.height() / 2}));
    return true;
}

void PaintMask::trim()
{
    trimPatch(m_patch);
}

void PaintMask::undo()
{
    QUndoCommand::undo(); // children first: they were applied after the pixels
    m_document->paste(m_patch.rect, m_patch.before);
}

void PaintMask::redo()
{
    if (m_applied) {
        m_document->paste(m_patch.rect, m_patch.after);
    } else {
        m_patch = m_document->apply(m_dab, m_label);
        m_dab = {};
        m_applied = true;
    }
    QUndoCommand::redo();
}

} // namespace wsss::ui
