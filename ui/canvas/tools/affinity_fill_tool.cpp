#include "ui/canvas/tools/affinity_fill_tool.h"

#include "training/methods/inspection.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/tool_manager.h"
#include "ui/project/mask_document.h"
#include "vision/core/labels.h"

#include <QKeyEvent>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace wsss::ui {

namespace {
constexpr float kThresholdStep = 0.05f;
}

RegionMask affinityRegion(const training::Inspection &ins, int patch, float threshold, QString *source)
{
    const int gw = ins.gridWidth, gh = ins.gridHeight, patches = gw * gh;
    if (patch < 0 || patch >= patches || ins.imageWidth <= 0 || ins.imageHeight <= 0)
        return {};
    std::vector<float> row; // one value per patch
    for (const auto &a : ins.affinities)
        if (a.tokens == patches) {
            row = a.row(patch);
            if (source)
                *source = QString::fromStdString(a.kind);
            break;
        }
    if (row.empty() && !ins.attention.empty()) {
        const auto full = ins.attention.back().row(ins.prefixTokens + patch);
        if (full.size() == size_t(ins.prefixTokens + patches)) {
            row.assign(full.begin() + ins.prefixTokens, full.end());
            if (source)
                *source = QStringLiteral("attention, last block");
        }
    }
    if (row.size() != size_t(patches))
        return {};
    const float top = *std::max_element(row.begin(), row.end());
    if (!(top > 0))
        return {};
    row[size_t(patch)] = top; // the clicked patch belongs to its own region (attention may peak elsewhere)
    RegionMask region;
    region.bounds = QRect(0, 0, ins.imageWidth, ins.imageHeight);
    region.inside.assign(size_t(ins.imageWidth) * ins.imageHeight, 0);
    // A patch covers the image pixels the network saw it as (the input was resized to the grid).
    for (int y = 0; y < ins.imageHeight; ++y) {
        const int r = std::min(gh - 1, y * gh / ins.imageHeight);
        for (int x = 0; x < ins.imageWidth; ++x) {
            const int c = std::min(gw - 1, x * gw / ins.imageWidth);
            if (row[size_t(r) * gw + c] >= threshold * top)
                region.inside[size_t(y) * ins.imageWidth + x] = 1;
        }
    }
    return region;
}

AffinityFillTool::AffinityFillTool(ToolManager *manager)
    : AbstractTool(manager, tr("Affinity fill"), QStringLiteral("affinityFill"), QKeySequence(Qt::Key_W),
                   tr("Click a patch to preview what the model's affinity joins to it; Ctrl+wheel or [ ] sets the "
                      "threshold; click again or Enter to fill"))
{
    connect(manager, &ToolManager::affinityThresholdChanged, this, [this] {
        if (m_patch >= 0)
            recompute(this->manager()->canvas());
    });
}

void AffinityFillTool::deactivated(CanvasWidget *)
{
    m_patch = -1;
    m_region = {};
}

void AffinityFillTool::recompute(CanvasWidget *canvas)
{
    m_region = {};
    if (const auto &ins = canvas->inspection(); ins && m_patch >= 0)
        m_region = affinityRegion(*ins, m_patch, manager()->affinityThreshold(), &m_source);
    canvas->refreshToolOverlay();
}

void AffinityFillTool::mousePressed(CanvasWidget *canvas, const ToolEvent &event)
{
    const auto &ins = canvas->inspection();
    if (!ins)
        return;
    const int token = ins->patchTokenAt(event.image.x(), event.image.y());
    const int patch = token - ins->prefixTokens;
    if (token < 0 || patch < 0)
        return;
    if (patch == m_patch && !m_region.isEmpty()) {
        apply();
        return;
    }
    m_patch = patch;
    recompute(canvas);
    if (m_region.isEmpty())
        Q_EMIT manager()->editRefused(tr("Affinity fill: this model's inspection has no affinity or attention"));
}

bool AffinityFillTool::wheel(CanvasWidget *, const ToolEvent &, int steps)
{
    manager()->setAffinityThreshold(manager()->affinityThreshold() + kThresholdStep * steps);
    return true;
}

bool AffinityFillTool::keyPressed(CanvasWidget *canvas, QKeyEvent *event)
{
    switch (event->key()) {
    case Qt::Key_Return:
    case Qt::Key_Enter: apply(); return true;
    case Qt::Key_Escape:
        deactivated(canvas);
        return true;
    case Qt::Key_BracketRight: manager()->setAffinityThreshold(manager()->affinityThreshold() + kThresholdStep); return true;
    case Qt::Key_BracketLeft: manager()->setAffinityThreshold(manager()->affinityThreshold() - kThresholdStep); return true;
    default: return false;
    }
}

void AffinityFillTool::apply()
{
    if (m_region.isEmpty())
        return;
    if (MaskDocument *document = manager()->documentForEdit(); document && document->hasMask())
        document->applyRegion(m_region, manager()->label(), tr("Affinity fill"));
    m_patch = -1;
    m_region = {};
}

void AffinityFillTool::paintOverlay(CanvasWidget *canvas, QPainter &painter) const
{
    if (m_region.isEmpty())
        return;
    const auto c = vision::vocPaletteColor(manager()->label());
    QImage preview(m_region.bounds.size(), QImage::Format_ARGB32_Premultiplied);
    const QRgb on = qPremultiply(qRgba(c[0], c[1], c[2], 150)), off = qRgba(0, 0, 0, 0);
    for (int y = 0; y < preview.height(); ++y) {
        auto *line = reinterpret_cast<QRgb *>(preview.scanLine(y));
        for (int x = 0; x < preview.width(); ++x)
            line[x] = m_region.inside[size_t(y) * preview.width() + x] ? on : off;
    }
    painter.save();
    painter.translate(canvas->imageToWidget(QPointF(m_region.bounds.topLeft())));
    painter.scale(canvas->zoom(), canvas->zoom());
    painter.drawImage(QPointF(0, 0), preview);
    painter.restore();
    painter.setPen(Qt::white);
    painter.drawText(canvas->imageToWidget(QPointF(m_region.bounds.left(), m_region.bounds.bottom())) + QPointF(4, 16),
                     tr("%1 ≥ %2 × max — click again or Enter to fill").arg(m_source).arg(manager()->affinityThreshold(), 0, 'f', 2));
}

} // namespace wsss::ui
