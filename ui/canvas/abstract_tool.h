#pragma once
// AbstractTool: what the canvas's left button does (Tiled's AbstractTool). The canvas forwards
// mouse, Ctrl+wheel and key events in image coordinates; the tool keeps its transient state
// (a stroke in progress, polygon vertices, an affinity preview) and changes the image's mask only
// through MaskDocument, whose undo commands make each gesture one undo step. One tool is active
// at a time (ToolManager's QActionGroup).
#include <QKeySequence>
#include <QObject>
#include <QPointF>
#include <QString>

class QAction;
class QKeyEvent;
class QPainter;

namespace wsss::ui {

class CanvasWidget;
class ToolManager;

struct ToolEvent {
    QPointF image;  // image pixel coordinates (continuous: pixel (x, y) spans [x, x+1))
    QPointF widget; // canvas widget coordinates
    Qt::KeyboardModifiers modifiers;
    bool doubleClick = false;
};

class AbstractTool : public QObject {
    Q_OBJECT
public:
    AbstractTool(ToolManager *manager, const QString &name, const QString &key, const QKeySequence &shortcut,
                 const QString &toolTip);

    QAction *action() const { return m_action; } // checkable, in the manager's group
    const QString &key() const { return m_key;  } // object names: <key>ToolAction
    ToolManager *manager() const { return m_manager; }
    // Whether the tool changes the mask (the canvas then shows the mask, and the tool needs a
    // MaskDocument for the image).
    virtual bool editsMask() const { return true; }

    virtual void activated(CanvasWidget *) {}
    virtual void deactivated(CanvasWidget *) {} // drop a gesture in progress
    virtual void mousePressed(CanvasWidget *, const ToolEvent &) {}
    virtual void mouseMoved(CanvasWidget *, const ToolEvent &, bool /*buttonDown*/) {}
    virtual void mouseReleased(CanvasWidget *, const ToolEvent &) {}
    // Ctrl+wheel (steps: notches, + up); false leaves the wheel to the canvas's zoom.
    virtual bool wheel(CanvasWidget *, const ToolEvent &, int /*steps*/) { return false; }
    // A key while the canvas has focus; true when the tool used it.
    virtual bool keyPressed(CanvasWidget *, QKeyEvent *) { return false; }
    // Drawn over the image in widget coordinates (a brush outline, a polygon, a preview).
    virtual void paintOverlay(CanvasWidget *, QPainter &) const {}

private:
    ToolManager *m_manager;
    QString m_key;
    QAction *m_action;
};

} // namespace wsss::ui
