#pragma once
// HudOverlay: the canvas's heads-up display — a Dear ImGui panel in a small QOpenGLWidget that
// the canvas hosts at its top-right corner. It shows the pixel and patch under the cursor, every
// map's value there, quick controls for the pseudo-label rule (the decision mode and a slider per
// float ruleFields() row that applies to it: the band's two in band mode) and the frame
// times. The canvas fills a HudState and the HUD only reads it; a slider move is
// reported as ruleEdited() and comes back through the one rule the main window owns. While the
// widget is hidden it receives no input at all, so every click reaches the canvas. The only
// file that includes imgui.h; each overlay has its own ImGui context, made current before use.
#include "ui/project/rule_fields.h"

#include <QElapsedTimer>
#include <QHash>
#include <QOpenGLWidget>
#include <QPoint>
#include <QRect>
#include <QString>

#include <vector>

struct ImGuiContext;

namespace wsss::ui {

// What the HUD shows; the canvas keeps it current.
struct HudState {
    bool hasImage = false;
    bool hasPixel = false;   // the cursor is over the image
    QPoint pixel;            // image pixel under the cursor
    int patchRow = -1, patchCol = -1, patchIndex = -1; // patchIndex = row · gridWidth + col
    struct MapValue {
        QString label; // "cam · person"
        float value = 0;
    };
    std::vector<MapValue> values; // every map of the inspection at that pixel
    wsss::vision::PseudoLabelRule rule;
    bool ownBackground = false; // the map scores the background: no threshold or band sliders
    double canvasFrameMs = 0; // the canvas's last paint
};

class HudOverlay : public QOpenGLWidget {
    Q_OBJECT
public:
    explicit HudOverlay(QWidget *parent = nullptr);
    ~HudOverlay() override;

    void setState(const HudState &state); // repaints on the next frame
    const HudState &state() const { return m_state; }
    // Where a rule slider (by RuleField::key) was drawn in the last frame, in this
    // widget's coordinates; empty before the first frame and while the slider does not apply.
    QRect sliderRect(const QString &key) const { return m_sliderRects.value(key); }
    double frameMs() const { return m_frameMs; } // the HUD's own last frame
    int frameCount() const { return m_frames; }
    // At the parent's top-right corner; the canvas calls it when it resizes.
    void placeInParent();

Q_SIGNALS:
    void ruleEdited(const wsss::vision::PseudoLabelRule &rule);

protected:
    void initializeGL() override;
    void paintGL() override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void leaveEvent(QEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    // One ImGui frame per input event, so a press and its release are never merged.
    void feedMouse(QPointF pos, Qt::MouseButtons buttons);
    void runFrame(); // one ImGui frame (NewFrame and the panel) on the current input
    void buildPanel();
    void shutdownRenderer();

    ImGuiContext *m_context = nullptr;
    bool m_rendererReady = false;
    HudState m_state;
    QHash<QString, QRect> m_sliderRects;
    QElapsedTimer m_clock; // ImGui's DeltaTime
    double m_frameMs = 0;
    int m_frames = 0;
};

} // namespace wsss::ui
