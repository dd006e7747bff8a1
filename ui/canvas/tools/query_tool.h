#pragma once
// QueryTool: a click (or a drag, scrubbing) picks the query patch whose attention and affinity the
// docks show. Only its action: the behaviour is the canvas's own (CanvasWidget::selectQueryAt),
// which the manager gets by handing the canvas no tool.
#include "ui/canvas/abstract_tool.h"

namespace wsss::ui {

class QueryTool : public AbstractTool {
    Q_OBJECT
public:
    explicit QueryTool(ToolManager *manager);
    bool editsMask() const override { return false; }
};

} // namespace wsss::ui
