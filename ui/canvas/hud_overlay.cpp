#include "ui/canvas/hud_overlay.h"

#include <imgui.h>
#include <backends/imgui_impl_opengl3.h>

#include <QMetaObject>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <QWheelEvent>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

namespace wsss::ui {

namespace {

constexpr int kMargin = 10;       // from the canvas's top-right corner, widget pixels
constexpr float kSliderWidth = 150.0f;

// Makes one overlay's ImGui context current for a scope; the previous one comes back after.
class ContextScope {
public:
    explicit ContextScope(ImGuiContext *context) : m_previous(ImGui::GetCurrentContext())
    {
        ImGui::SetCurrentContext(context);
    }
    ~ContextScope() { ImGui::SetCurrentContext(m_previous); }
    ContextScope(const ContextScope &) = delete;
    ContextScope &operator=(const ContextScope &) = delete;

private:
    ImGuiContext *m_previous;
};

} // namespace

HudOverlay::HudOverlay(QWidget *parent) : QOpenGLWidget(parent)
{
    setObjectName(QStringLiteral("Hud"));
    setFocusPolicy(Qt::NoFocus); // the canvas keeps the keyboard
    setMouseTracking(true);      // hover highlights on the sliders
    resize(320, 180);            // until the first frame measures the panel

    IMGUI_CHECKVERSION();
    ImGuiContext *previous = ImGui::GetCurrentContext();
    m_context = ImGui::CreateContext();
    ImGui::SetCurrentContext(m_context);
    ImGuiIO &io = ImGui::GetIO();
    io.IniFilename = nullptr; // nothing written next to the working directory
    io.LogFilename = nullptr;
    io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
    ImGui::StyleColorsDark();
    ImGuiStyle &style = ImGui::GetStyle();
    style.WindowRounding = 0.0f;
    style.WindowBorderSize = 0.0f;
    style.WindowPadding = ImVec2(8.0f, 6.0f);
    ImGui::SetCurrentContext(previous);
    m_clock.start();
}

HudOverlay::~HudOverlay()
{
    if (QOpenGLContext *gl = context()) // QOpenGLWidget's own teardown must not call back in here
        disconnect(gl, nullptr, this, nullptr);
    shutdownRenderer();
    ImGui::DestroyContext(m_context);
}

void HudOverlay::setState(const HudState &state)
{
    m_state = state;
    update();
}

void HudOverlay::placeInParent()
{
    if (QWidget *p = parentWidget())
        move(std::max(0, p->width() - width() - kMargin), kMargin);
}

void HudOverlay::resizeEvent(QResizeEvent *event)
{
    QOpenGLWidget::resizeEvent(event);
    placeInParent();
}

void HudOverlay::initializeGL()
{
    // The context goes when the widget moves to another window: free the renderer's objects first.
    connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, &HudOverlay::shutdownRenderer,
            Qt::DirectConnection);
    if (context()->isOpenGLES()) {
        qWarning("HUD: the packaged Dear ImGui renderer needs desktop OpenGL; the HUD stays empty");
        return;
    }
    const ContextScope scope(m_context);
    m_rendererReady = ImGui_ImplOpenGL3_Init(context()->format().majorVersion() >= 3 ? "#version 130" : "#version 120");
}

void HudOverlay::shutdownRenderer()
{
    if (!m_rendererReady)
        return;
    makeCurrent();
    {
        const ContextScope scope(m_context);
        ImGui_ImplOpenGL3_Shutdown();
    }
    doneCurrent();
    m_rendererReady = false;
}

void HudOverlay::paintGL()
{
    QElapsedTimer frame;
    frame.start();
    QOpenGLFunctions *gl = context()->functions();
    const ContextScope scope(m_context);
    const ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
    gl->glClearColor(bg.x, bg.y, bg.z, 1.0f);
    gl->glClear(GL_COLOR_BUFFER_BIT);
    if (!m_rendererReady)
        return;
    ImGui_ImplOpenGL3_NewFrame(); // builds the font texture on the first frame
    runFrame();
    ImGui::Render();
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    m_frameMs = frame.nsecsElapsed() * 1e-6;
    ++m_frames;
}

void HudOverlay::runFrame()
{
    ImGuiIO &io = ImGui::GetIO();
    io.DisplaySize = ImVec2(static_cast<float>(width()), static_cast<float>(height()));
    const float dpr = static_cast<float>(devicePixelRatioF());
    io.DisplayFramebufferScale = ImVec2(dpr, dpr);
    io.DeltaTime = std::clamp(static_cast<float>(m_clock.nsecsElapsed() * 1e-9), 1e-4f, 1.0f);
    m_clock.restart();
    ImGui::NewFrame();
    const wsss::vision::PseudoLabelRule before = m_state.rule;
    buildPanel();
    if (m_state.rule != before)
        Q_EMIT ruleEdited(m_state.rule);
}

void HudOverlay::buildPanel()
{
    // The panel fills the widget, and the widget follows the panel's content: its extent is
    // measured item by item (ImGui's own auto-fit is clamped to the display, which is this widget).
    const ImGuiIO &io = ImGui::GetIO();
    ImGui::SetNextWindowPos(ImVec2(0.0f, 0.0f));
    ImGui::SetNextWindowSize(io.DisplaySize);
    ImGui::SetNextWindowBgAlpha(1.0f);
    const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove
                                   | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoFocusOnAppearing
                                   | ImGuiWindowFlags_NoNav;
    ImGui::Begin("HUD", nullptr, flags);
    ImVec2 extent(0.0f, 0.0f);
    auto measure = [&extent] {
        const ImVec2 max = ImGui::GetItemRectMax();
        extent.x = std::max(extent.x, max.x);
        extent.y = std::max(extent.y, max.y);
    };

    const HudState &s = m_state;
    if (!s.hasImage) {
        ImGui::TextDisabled("No image");
        measure();
    } else if (!s.hasPixel) {
        ImGui::TextDisabled("Cursor off the image");
        measure();
    } else {
        ImGui::Text("pixel  (%d, %d)", s.pixel.x(), s.pixel.y());
        measure();
        ImGui::Text("patch  %d  (row %d, col %d)", s.patchIndex, s.patchRow, s.patchCol);
        measure();
        for (const auto &v : s.values) { // the default font is monospaced: columns by padding
            ImGui::Text("%-22s %.3f", v.label.toUtf8().constData(), static_cast<double>(v.value));
            measure();
        }
    }

    ImGui::Separator();
    if (m_state.ownBackground) {
        // The map's own background decides (the argmax): nothing to slide.
        ImGui::TextDisabled("background: the map's own (argmax)");
        measure();
    } else {
        // The decision: one threshold, or the band (its two sliders replace the threshold's).
        int band = m_state.rule.background == wsss::vision::BackgroundRule::Band ? 1 : 0;
        bool modeChanged = ImGui::RadioButton("threshold", &band, 0);
        measure();
        ImGui::SameLine();
        modeChanged |= ImGui::RadioButton("band", &band, 1);
        measure();
        if (modeChanged)
            m_state.rule.background = band ? wsss::vision::BackgroundRule::Band : wsss::vision::BackgroundRule::Threshold;
    }
    for (const RuleField &field : ruleFields()) {
        if (!field.member || !field.appliesTo(m_state.rule) || m_state.ownBackground) {
            m_sliderRects.remove(field.key);
            continue;
        }
        float value = m_state.rule.*field.member;
        const std::string label = field.label.toStdString();
        const std::string format = "%." + std::to_string(field.decimals) + "f";
        ImGui::SetNextItemWidth(kSliderWidth);
        const bool changed = ImGui::SliderFloat(label.c_str(), &value, static_cast<float>(field.minimum),
                                                static_cast<float>(field.maximum), format.c_str(),
                                                ImGuiSliderFlags_AlwaysClamp | ImGuiSliderFlags_NoInput);
        measure();
        // The item rect covers the label too; the slider's own frame is its first kSliderWidth.
        const ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
        m_sliderRects.insert(field.key, QRect(QPoint(qRound(min.x), qRound(min.y)),
                                              QSize(qRound(kSliderWidth), qRound(max.y - min.y))));
        if (changed) {
            const double step = field.step > 0 ? field.step : 0.01;
            m_state.rule = field.with(m_state.rule, std::round(value / step) * step);
        }
    }
    if (m_state.rule.refines()) { // set in the thresholds dock; computed by the worker
        const bool par = m_state.rule.parIterations > 0;
        ImGui::TextDisabled("refined by %s%s%s", par ? "PAR" : "", par && m_state.rule.crf ? " + " : "",
                            m_state.rule.crf ? "CRF" : "");
        measure();
    }

    ImGui::Separator();
    ImGui::Text("frame  canvas %.1f ms  HUD %.1f ms", s.canvasFrameMs, m_frameMs);
    measure();
    ImGui::TextDisabled("H or F1 hides this panel");
    measure();
    ImGui::End();

    const ImVec2 pad = ImGui::GetStyle().WindowPadding;
    const QSize wanted(static_cast<int>(std::ceil(extent.x + pad.x)), static_cast<int>(std::ceil(extent.y + pad.y)));
    if (!wanted.isEmpty() && wanted != size())
        QMetaObject::invokeMethod(this, [this, wanted] { resize(wanted); }, Qt::QueuedConnection);
}

void HudOverlay::feedMouse(QPointF pos, Qt::MouseButtons buttons)
{
    {
        const ContextScope scope(m_context);
        ImGuiIO &io = ImGui::GetIO();
        io.MousePos = ImVec2(static_cast<float>(pos.x()), static_cast<float>(pos.y()));
        io.MouseDown[0] = buttons.testFlag(Qt::LeftButton);
        io.MouseDown[1] = buttons.testFlag(Qt::RightButton);
        io.MouseDown[2] = buttons.testFlag(Qt::MiddleButton);
        // The input takes effect now, in a frame without drawing: a press and its release
        // arriving before the next paint are two frames, so a click is never lost. (ImGui needs
        // one drawn frame first, for its fonts.)
        if (m_frames > 0) {
            runFrame();
            ImGui::EndFrame();
        }
    }
    update();
}

void HudOverlay::mousePressEvent(QMouseEvent *event)
{
    feedMouse(event->position(), event->buttons());
    event->accept();
}

void HudOverlay::mouseReleaseEvent(QMouseEvent *event)
{
    feedMouse(event->position(), event->buttons());
    event->accept();
}

void HudOverlay::mouseMoveEvent(QMouseEvent *event)
{
    feedMouse(event->position(), event->buttons());
    event->accept();
}

void HudOverlay::wheelEvent(QWheelEvent *event)
{
    event->ignore(); // the panel never scrolls: the canvas under it zooms
}

void HudOverlay::leaveEvent(QEvent *)
{
    const ContextScope scope(m_context);
    ImGui::GetIO().MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
    update();
}

} // namespace wsss::ui
