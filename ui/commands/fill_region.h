#pragma once
// FillRegion: sets a region of an image's mask to one label as one undo step: a flood fill ("Fill
// region"), a polygon, "Set to ignore", an accepted pseudo-mask region, an affinity fill — the
// caller names it. Only the changed rect is kept, with its labels before and after.
#include "ui/project/mask_edits.h"

#include <QUndoCommand>

#include <cstdint>

namespace wsss::ui {

class MaskDocument;

class FillRegion : public QUndoCommand {
public:
    FillRegion(MaskDocument *document, RegionMask region, std::uint8_t label, const QString &text,
               QUndoCommand *parent = nullptr);

    void undo() override;
    void redo() override;

    std::uint8_t label() const { return m_label; }
    const MaskPatch &patch() const { return m_patch; }

private:
    MaskDocument *m_document;
    std::uint8_t m_label;
    RegionMask m_region; // until the first redo() applies it
    MaskPatch m_patch;
    bool m_applied = false;
};

} // namespace wsss::ui
