#pragma once
// QueryTool: a click (or a drag, scrubbing) picks the query patch whose attention and affinity the
// docks show. The canvas's own behaviour: the manager hands the canvas no tool for it.
#include "ui/canvas/abstract_tool.h"

namespace wsss::ui {

class QueryTool : public AbstractTool {
    Q_OBJECT
public:
    explicit QueryTool(ToolManager *manager);
    bool editsMask() const override { return false; }
    void mousePressed(CanvasWidget *canvas, const ToolEvent &event) override;
    void mouseMoved(CanvasWidget *canvas, const ToolEvent &event, bool buttonDown) override;
};

} // namespace wsss::ui
