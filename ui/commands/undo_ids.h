#pragma once
// The ids that QUndoCommand::id() returns for the commands that merge (Qt merges a pushed command
// into the top one only when both return the same id other than -1). One enum, so no two command
// families share an id by accident.

namespace wsss::ui {

enum class UndoId {
    PaintMask = 1, // the dabs of one brush stroke (ui/commands/paint_mask.h)
};

constexpr int undoId(UndoId id) { return static_cast<int>(id); }

} // namespace wsss::ui
