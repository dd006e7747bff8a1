#include "ui/commands/fill_region.h"

#include "ui/project/mask_document.h"

namespace wsss::ui {

FillRegion::FillRegion(MaskDocument *document, RegionMask region, std::uint8_t label, const QString &text,
                       QUndoCommand *parent)
    : QUndoCommand(text, parent), m_document(document), m_label(label), m_region(std::move(region))
{
}

void FillRegion::undo()
{
    QUndoCommand::undo(); // children first: they were applied after the pixels
    m_document->paste(m_patch.rect, m_patch.before);
}

void FillRegion::redo()
{
    if (m_applied) {
        m_document->paste(m_patch.rect, m_patch.after);
    } else {
        m_patch = m_document->apply(m_region, m_label);
        m_region = {};
        m_applied = true;
        // MaskDocument pushes only fills that change pixels; should one slip through, the stack
        // drops it (and its children never run).
        if (m_patch.isEmpty()) {
            setObsolete(true);
            return;
        }
    }
    QUndoCommand::redo();
}

} // namespace wsss::ui
