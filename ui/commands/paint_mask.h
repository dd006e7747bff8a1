#pragma once
// PaintMask: one brush or eraser stroke on an image's mask, one undo step from mouse-down to
// mouse-up. MaskDocument pushes every dab as a PaintMask carrying the stroke's number; the stack
// merges each dab into the stroke's first command (same id(), same stroke), and a new stroke has a
// new number, so it never merges into the last one (Tiled's painttilelayer.h). Only the changed
// rect is kept, with its labels before and after.
#include "ui/project/mask_edits.h"

#include <QUndoCommand>

#include <cstdint>

namespace wsss::ui {

class MaskDocument;

class PaintMask : public QUndoCommand {
public:
    // `dab`: the pixels this dab covers (strokeRegion); `stroke`: the stroke's number.
    PaintMask(MaskDocument *document, int stroke, RegionMask dab, std::uint8_t label,
              QUndoCommand *parent = nullptr);

    // "Erase stroke" for background (0, the eraser), "Paint stroke" for any other label.
    static QString textFor(std::uint8_t label);

    int id() const override;
    // Takes in a later dab of the same stroke that has no child commands.
    bool mergeWith(const QUndoCommand *other) override;
    void undo() override;
    void redo() override;

    int stroke() const { return m_stroke; }
    std::uint8_t label() const { return m_label; }
    const MaskPatch &patch() const { return m_patch; }
    // At mouse-up: shrinks the patch to the pixels the stroke changed (merging leaves a margin).
    void trim();

private:
    MaskDocument *m_document;
    int m_stroke;
    std::uint8_t m_label;
    RegionMask m_dab; // until the first redo() applies it
    MaskPatch m_patch;
    bool m_applied = false;
};

} // namespace wsss::ui
