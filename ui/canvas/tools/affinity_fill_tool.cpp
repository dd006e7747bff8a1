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
// The region as a soft map for the snap: PAR and the CRF may move its border both ways (a 0/1 map
// gives the CRF an infinite cost outside, so it could only shrink).
constexpr float kInside = 0.8f, kOutside = 0.2f;
constexpr int kSnapParIterations = 10; // AFA's PAR count
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
    connect(manager, &ToolManager::snapChanged, this, [this] {
        if (m_patch >= 0)
            recompute(this->manager()->canvas());
    });
}

void AffinityFillTool::deactivated(CanvasWidget *)
{
    m_patch = -1;
    m_region = {};
    m_snapPending = false;
}

void AffinityFillTool::recompute(CanvasWidget *canvas)
{
    m_region = {};
    m_snapPending = false;
    if (const auto &ins = canvas->inspection(); ins && m_patch >= 0)
        m_region = affinityRegion(*ins, m_patch, manager()->affinityThreshold(), &m_source);
    if (!m_region.isEmpty() && manager()->snap() != ToolManager::Snap::None && manager()->regionSnapper())
        requestSnap(canvas);
    canvas->refreshToolOverlay();
}

void AffinityFillTool::requestSnap(CanvasWidget *canvas)
{
    const auto &ins = *canvas->inspection();
    // The region as the one map of an inspection of the same image: the engine refines it as it
    // refines class maps (class 1 stands for the region).
    auto region = std::make_shared<training::Inspection>();
    region->imageId = ins.imageId;
    region->imageWidth = ins.imageWidth;
    region->imageHeight = ins.imageHeight;
    region->rgb = ins.rgb;
    region->classNames = {"background", "region"};
    region->imageLabels = {1};
    m_snapKind = QStringLiteral("affinity fill #%1").arg(++m_snapRequest);
    std::vector<float> soft(size_t(ins.imageWidth) * ins.imageHeight);
    for (int y = 0; y < ins.imageHeight; ++y)
        for (int x = 0; x < ins.imageWidth; ++x)
            soft[size_t(y) * ins.imageWidth + x] = m_region.contains(x, y) ? kInside : kOutside;
    region->maps.push_back({m_snapKind.toStdString(), 1, std::move(soft)});
    vision::PseudoLabelRule rule;
    rule.bgThreshold = 0.5f; // the CRF's background score: between kOutside and kInside
    if (manager()->snap() == ToolManager::Snap::Par)
        rule.parIterations = kSnapParIterations;
    else
        rule.crf = true;
    m_snapPending = true;
    manager()->regionSnapper()(region, m_snapKind, rule);
}

void AffinityFillTool::snapArrived(const training::RefinedMaps &refined)
{
    if (!m_snapPending || QString::fromStdString(refined.kind) != m_snapKind || m_region.isEmpty())
        return;
    const int w = refined.imageWidth, h = refined.imageHeight;
    const size_t n = size_t(w) * h;
    RegionMask snapped;
    snapped.bounds = QRect(0, 0, w, h);
    snapped.inside.assign(n, 0);
    if (refined.crfLabels.size() == n) {
        for (size_t i = 0; i < n; ++i)
            snapped.inside[i] = refined.crfLabels[i] == 1;
    } else if (!refined.maps.empty() && refined.maps.front().values.size() == n) {
        const auto &v = refined.maps.front().values;
        for (size_t i = 0; i < n; ++i)
            snapped.inside[i] = v[i] > 0.5f * (kInside + kOutside);
    } else {
        return;
    }
    m_snapPending = false;
    RegionMask result = RegionMask::fromMask(LabelImage(w, h, snapped.inside));
    if (result.isEmpty()) // the snap dissolved it: keep the grid region rather than nothing
        return;
    m_region = std::move(result);
    m_source += manager()->snap() == ToolManager::Snap::Crf ? tr(", snapped by the CRF") : tr(", snapped by PAR");
    manager()->canvas()->refreshToolOverlay();
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
    m_snapPending = false;
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
                     tr("%1 ≥ %2 × max%3 — click again or Enter to fill")
                         .arg(m_source)
                         .arg(manager()->affinityThreshold(), 0, 'f', 2)
                         .arg(m_snapPending ? tr(" (snapping…)") : QString()));
}

} // namespace wsss::ui
